"""SPEC §3 Exclusions by diagnosis: ICD-10/ICD-9 code ranges (dotted or undotted, prefix ranges)
in windows around the index date that include both ends; reasons `<category>:<code as given>`.

Every patient here has the same isolated low IgM panel, index date 2021-03-01.
"""

import pytest

INDEX_PANEL = """
    patient | date       | test | value
    p1      | 2021-03-01 | IgM  | 25
    p1      | 2021-03-01 | IgG  | 1000
    p1      | 2021-03-01 | IgA  | 200
"""


def screen_diagnosis(screen, code, system, date):
    return screen(
        labs=INDEX_PANEL,
        diagnoses=f"""
        patient | code   | system   | date
        p1      | {code} | {system} | {date}
    """,
    )


@pytest.mark.parametrize(
    ("code", "date", "status"),
    [
        ("C91.10", "2001-06-01", "excluded_malignancy"),  # any time before the index
        ("C91.10", "2021-03-01", "excluded_malignancy"),
        ("C91.10", "2022-03-01", "excluded_malignancy"),  # index + 365 d
        ("C91.10", "2022-03-02", "single_low"),  # index + 366 d
        ("C81.00", "2001-06-01", "excluded_malignancy"),  # first haematological code
        ("C96.9", "2001-06-01", "excluded_malignancy"),  # last
        ("C90.00", "2022-03-01", "excluded_malignancy"),  # myeloma
        ("D45", "2001-06-01", "excluded_malignancy"),  # polycythaemia vera
        ("D46.9", "2001-06-01", "excluded_malignancy"),  # MDS
        ("D47.2", "2001-06-01", "excluded_malignancy"),  # MGUS
        ("D48.0", "2001-06-01", "single_low"),  # not a haematological neoplasm
        ("D44.0", "2001-06-01", "single_low"),
    ],
)
def test_haematological_malignancy_any_time_before_until_365_days_after(screen, code, date, status):
    result = screen_diagnosis(screen, code, "ICD10", date)
    assert result.status == {"p1": status}


@pytest.mark.parametrize(
    ("code", "date", "status"),
    [
        ("C50.9", "2020-02-29", "single_low"),  # index - 366 d
        ("C50.9", "2020-03-01", "excluded_malignancy"),  # index - 365 d
        ("C50.9", "2022-03-01", "excluded_malignancy"),  # index + 365 d
        ("C50.9", "2022-03-02", "single_low"),  # index + 366 d
        ("C00.0", "2021-01-01", "excluded_malignancy"),
        ("C80.1", "2021-01-01", "excluded_malignancy"),
        ("C80.1", "2019-01-01", "single_low"),  # an old solid cancer is not haematological
        ("C7A.010", "2021-01-01", "excluded_malignancy"),  # neuroendocrine
        ("C7B.00", "2021-01-01", "excluded_malignancy"),
        ("D05.10", "2021-01-01", "single_low"),  # carcinoma in situ is not malignant neoplasm
    ],
)
def test_other_malignancy_within_365_days_either_side(screen, code, date, status):
    result = screen_diagnosis(screen, code, "ICD10", date)
    assert result.status == {"p1": status}


@pytest.mark.parametrize(
    ("code", "date", "status"),
    [
        ("200.00", "2001-06-01", "excluded_malignancy"),  # haematological: any time before
        ("208.90", "2001-06-01", "excluded_malignancy"),
        ("238.4", "2001-06-01", "excluded_malignancy"),
        ("238.71", "2001-06-01", "excluded_malignancy"),  # 238.71 lies in 238.4-238.7
        ("238.79", "2001-06-01", "excluded_malignancy"),
        ("238.3", "2001-06-01", "single_low"),
        ("238.8", "2001-06-01", "single_low"),
        ("273.1", "2001-06-01", "excluded_malignancy"),  # MGUS
        ("273.3", "2001-06-01", "excluded_malignancy"),  # macroglobulinaemia
        ("273.2", "2001-06-01", "single_low"),
        ("199.1", "2001-06-01", "single_low"),  # other malignancy: only ±365 d
        ("199.1", "2021-01-01", "excluded_malignancy"),
        ("140.0", "2021-01-01", "excluded_malignancy"),
        ("139.8", "2021-01-01", "single_low"),
    ],
)
def test_icd9_malignancy_ranges(screen, code, date, status):
    result = screen_diagnosis(screen, code, "ICD9", date)
    assert result.status == {"p1": status}


@pytest.mark.parametrize(
    ("code", "system"),
    [
        ("C91.10", "ICD10"),
        ("C9110", "ICD10"),
        ("c91.10", "ICD10"),
        ("238.71", "ICD9"),
        ("23871", "ICD9"),
        ("D472", "ICD10"),
        ("C7A010", "ICD10"),
    ],
)
def test_codes_match_dotted_or_undotted_and_keep_their_spelling_in_the_reason(screen, code, system):
    result = screen_diagnosis(screen, code, system, "2021-01-01")
    assert result.status == {"p1": "excluded_malignancy"}
    assert result.reasons == {"p1": [f"malignancy:{code}"]}


@pytest.mark.parametrize(
    ("code", "system", "status"),
    [
        ("D80.3", "ICD10", "excluded_other"),  # selective IgG subclass deficiency
        ("D80.4", "ICD10", "single_low"),  # selective IgM deficiency: what we screen for
        ("D804", "ICD10", "single_low"),
        ("D80.0", "ICD10", "excluded_other"),
        ("D83.9", "ICD10", "excluded_other"),  # CVID
        ("D84.821", "ICD10", "excluded_other"),  # immunodeficiency due to drugs
        ("D86.0", "ICD10", "single_low"),  # sarcoidosis
        ("279.01", "ICD9", "excluded_other"),
        ("279.03", "ICD9", "single_low"),  # other selective Ig deficiencies (incl. SIgMD)
        ("27903", "ICD9", "single_low"),
        ("279.3", "ICD9", "excluded_other"),
        ("279.4", "ICD9", "single_low"),  # autoimmune disease NEC
        ("Z94.0", "ICD10", "excluded_other"),  # transplant status
        ("V42.0", "ICD9", "excluded_other"),
    ],
)
def test_other_immunodeficiency_and_transplant_any_time_before(screen, code, system, status):
    result = screen_diagnosis(screen, code, system, "2015-01-01")
    assert result.status == {"p1": status}


@pytest.mark.parametrize(
    ("code", "system"), [("B20", "ICD10"), ("Z21", "ICD10"), ("042", "ICD9"), ("V08", "ICD9")]
)
@pytest.mark.parametrize(
    ("date", "status"),
    [
        ("2005-01-01", "excluded_other"),
        ("2021-03-01", "excluded_other"),  # on the index date
        ("2021-03-02", "single_low"),  # after the index: not a cause of the low IgM found
    ],
)
def test_hiv_before_the_index_counts_after_it_does_not(screen, code, system, date, status):
    result = screen_diagnosis(screen, code, system, date)
    assert result.status == {"p1": status}
    expected = [f"other:{code}"] if status == "excluded_other" else []
    assert result.reasons == {"p1": expected}


@pytest.mark.parametrize(
    ("code", "system"),
    [
        ("N04.9", "ICD10"),
        ("581.9", "ICD9"),
        ("K90.89", "ICD10"),
        ("K90.4", "ICD10"),
        ("579.8", "ICD9"),
    ],
)
@pytest.mark.parametrize(
    ("date", "status"),
    [
        ("2020-09-01", "single_low"),  # index - 181 d
        ("2020-09-02", "excluded_other"),  # index - 180 d
        ("2021-08-28", "excluded_other"),  # index + 180 d
        ("2021-08-29", "single_low"),  # index + 181 d
    ],
)
def test_protein_loss_within_180_days_either_side(screen, code, system, date, status):
    result = screen_diagnosis(screen, code, system, date)
    assert result.status == {"p1": status}


def test_coeliac_disease_is_not_a_protein_losing_enteropathy(screen):
    result = screen_diagnosis(screen, "K90.0", "ICD10", "2021-01-01")
    assert result.status == {"p1": "single_low"}


@pytest.mark.parametrize(
    ("code", "system"),
    [
        ("C91.10", "ICD10"),
        ("C91.10", "ICD-10"),
        ("C91.10", "ICD10CM"),
        ("C91.10", "ICD-10-CM"),
        ("C91.10", "icd-10-cm"),
        ("204.10", "ICD9"),
        ("204.10", "ICD-9"),
        ("204.10", "ICD9CM"),
        ("204.10", "ICD-9-CM"),
        ("204.10", "Icd9cm"),
    ],
)
def test_accepted_code_system_spellings(screen, code, system):
    result = screen_diagnosis(screen, code, system, "2021-01-01")
    assert result.status == {"p1": "excluded_malignancy"}
    assert result.quarantined("diagnoses") == []


@pytest.mark.parametrize("system", ["SNOMED", "ICD-11", "ICD", "READ", ""])
def test_other_code_system_spellings_send_the_row_to_quarantine(screen, system):
    result = screen(
        labs=INDEX_PANEL,
        diagnoses=f"""
        patient | code   | system   | date
        p1      | C91.10 | ICD10    | 2021-01-01
        p1      | C50.9  | {system} | 2021-01-01
    """,
    )
    assert result.status == {"p1": "excluded_malignancy"}
    assert result.reasons == {"p1": ["malignancy:C91.10"]}
    assert result.quarantined("diagnoses") == [("p1", 2)]
    if system:
        result.assert_quarantined(table="diagnoses", rows=[2], reason="unknown_code_system")


def test_an_icd10_code_given_as_icd9_is_not_read_as_icd10(screen):
    # "C91.10" is not an ICD-9 code: no ICD-9 range contains it.
    result = screen_diagnosis(screen, "C91.10", "ICD9", "2021-01-01")
    assert result.status == {"p1": "single_low"}


def test_every_diagnosis_cause_is_listed(screen):
    result = screen(
        labs=INDEX_PANEL,
        diagnoses="""
        patient | code   | system | date
        p1      | B20    | ICD10  | 2015-01-01
        p1      | C91.10 | ICD10  | 2021-06-01
        p1      | N04.9  | ICD10  | 2021-04-01
        p1      | C50.9  | ICD10  | 2023-01-01
    """,
    )
    # C50.9 is 671 days after the index: outside its window, not a cause.
    assert result.status == {"p1": "excluded_malignancy"}
    assert result.reasons == {"p1": ["malignancy:C91.10", "other:B20", "other:N04.9"]}
