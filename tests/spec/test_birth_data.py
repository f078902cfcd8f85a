"""SPEC §2 birth data: a patient listed more than once is screened when the listings agree.

A birth_year equal to the year of the same patient's birth_date is consistent, not a conflict:
the full birth date is used. Two different full dates, or two different years, conflict and
quarantine every row of the patient (docs/input.md).
"""

import pytest

PANEL = """
    patient | date       | test | value
    p1      | 2020-01-10 | IgM  | 25
    p1      | 2020-01-10 | IgG  | 1000
    p1      | 2020-01-10 | IgA  | 200
    ok      | 2020-01-10 | IgM  | 100
"""


@pytest.mark.parametrize(
    ("rows", "status"),
    [
        # birth_date on one row, birth_year on another: the same year is consistent.
        ([("1970-05-05", ""), ("", "1970")], "single_low"),
        ([("", "1970"), ("1970-05-05", "")], "single_low"),
        # both on one row, agreeing
        ([("1970-05-05", "1970")], "single_low"),
        # the same full date twice, and the same year twice (not exact duplicates: sex differs)
        ([("1970-05-05", ""), ("1970-05-05", "")], "single_low"),
        ([("", "1970"), ("", "1970")], "single_low"),
    ],
)
def test_consistent_birth_data_is_not_a_conflict(screen, rows, status):
    patients = "patient | birth_date | birth_year | sex\nok | 1980-01-01 | | M\n" + "".join(
        f"p1 | {d} | {y} | {sex}\n" for (d, y), sex in zip(rows, "FUFU", strict=False)
    )
    result = screen(labs=PANEL, patients=patients)
    assert result.status == {"p1": status, "ok": "igm_not_low"}
    assert result.quarantined("patients") == []


@pytest.mark.parametrize(
    "rows",
    [
        [("1970-05-05", ""), ("", "1971")],  # another year
        [("1970-05-05", ""), ("1970-05-06", "")],  # another day
        [("", "1970"), ("", "1971")],
        [("1970-05-05", "1971")],  # one row that disagrees with itself
    ],
)
def test_conflicting_birth_data_quarantines_every_row_of_the_patient(screen, rows):
    patients = "patient | birth_date | birth_year | sex\nok | 1980-01-01 | | M\n" + "".join(
        f"p1 | {d} | {y} | F\n" for d, y in rows
    )
    result = screen(labs=PANEL, patients=patients)
    assert result.status == {"ok": "igm_not_low"}
    result.assert_quarantined(
        table="patients",
        patient="p1",
        rows=list(range(2, len(rows) + 2)),
        reason="conflicting_birth_data",
    )
    result.assert_quarantined(
        table="labs", patient="p1", rows=[1, 2, 3], reason="conflicting_birth_data"
    )


def test_the_full_date_is_used_when_the_year_agrees(screen):
    # Born 1980-11-20 (birth_year 1980 on another row): on 2020-01-10 the patient is 39 y 1 m.
    # With only the year (1 July 1980) they would be 39 y 6 m; age_at_index tells which was used.
    result = screen(
        labs=PANEL,
        patients="""
        patient | birth_date | birth_year | sex
        p1      |            | 1980       | F
        p1      | 1980-11-20 |            | F
        ok      | 1980-01-01 |            | M
    """,
    )
    assert result.status == {"p1": "single_low", "ok": "igm_not_low"}
    ig = result.result.ig_results.filter(
        (result.result.ig_results["analyte"] == "igm")
        & (result.result.ig_results["patient_id"] == "p1")
    )
    assert ig["age_months"].to_list() == [469]
