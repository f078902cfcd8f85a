"""SPEC §3 Exclusions by diagnosis: a code matches only the ranges of its own code system, only
when it is at least as long as the range's endpoints, and "any time before" ends at the index.

ICD-9 V codes (supplementary classification) and ICD-10 V codes (external causes: transport
accidents) share their spelling: V08 is HIV infection status in ICD-9 and a pedestrian injured by
a non-motor vehicle in ICD-10. Every patient here has the same isolated low IgM panel, index date
2021-03-01.
"""

import pytest

from .test_exclusions_diagnoses import screen_diagnosis


@pytest.mark.parametrize(
    ("code", "system", "status"),
    [
        ("V08", "ICD9", "excluded_other"),  # asymptomatic HIV infection status
        ("V08", "ICD10", "single_low"),  # pedestrian injured in collision with other vehicle
        ("V42", "ICD9", "excluded_other"),  # organ or tissue replaced by transplant
        ("V42.0", "ICD10", "single_low"),  # car occupant injured by a two-wheeled motor vehicle
        ("V42", "ICD-10-CM", "single_low"),
        ("042", "ICD9", "excluded_other"),  # HIV disease
        ("042", "ICD10", "single_low"),  # not an ICD-10 code
        ("B20", "ICD10", "excluded_other"),
        ("B20", "ICD9", "single_low"),  # not an ICD-9 code
        ("Z21", "ICD9", "single_low"),
        ("Z94.0", "ICD9", "single_low"),
        ("D83.9", "ICD9", "single_low"),
        ("279.3", "ICD10", "single_low"),
    ],
)
def test_a_code_matches_only_the_ranges_of_its_own_code_system(screen, code, system, status):
    result = screen_diagnosis(screen, code, system, "2015-01-01")
    assert result.status == {"p1": status}
    assert result.quarantined("diagnoses") == []


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("K90.89", "excluded_other"),  # the listed code itself
        ("K90.891", "excluded_other"),  # longer: its first 5 characters are K9089
        ("K90.8", "single_low"),  # shorter than the endpoint K90.89: other malabsorption, no match
        ("K90", "single_low"),
        ("K90.4", "excluded_other"),  # a range of its own
        ("K90.49", "excluded_other"),
    ],
)
def test_a_code_shorter_than_the_range_endpoint_does_not_match(screen, code, status):
    result = screen_diagnosis(screen, code, "ICD10", "2021-01-01")
    assert result.status == {"p1": status}


@pytest.mark.parametrize(
    ("code", "system"),
    [
        ("Z94.0", "ICD10"),  # kidney transplant status
        ("Z94.81", "ICD10"),
        ("V42.0", "ICD9"),
        ("D80.0", "ICD10"),  # other immunodeficiency
        ("D83.9", "ICD10"),
        ("D84.821", "ICD10"),
        ("279.01", "ICD9"),
        ("279.3", "ICD9"),
    ],
)
@pytest.mark.parametrize(
    ("date", "status"),
    [
        ("1995-06-01", "excluded_other"),  # any time before the index
        ("2021-03-01", "excluded_other"),  # on the index date: the window includes both ends
        ("2021-03-02", "single_low"),  # after the index: not a cause of the low IgM found
        ("2022-01-01", "single_low"),
    ],
)
def test_transplant_and_other_immunodeficiency_after_the_index_do_not_exclude(
    screen, code, system, date, status
):
    result = screen_diagnosis(screen, code, system, date)
    assert result.status == {"p1": status}
    assert result.reasons == {"p1": [f"other:{code}"] if status == "excluded_other" else []}
