"""SPEC §2 dates: a date that does not exist, lies after the run date or before 1900-01-01
quarantines its row, with a reason code of its own (docs/input.md): `invalid_*` for a date or
time that does not exist, `*_out_of_range` for a real date outside [1900-01-01, run date].

Each test plants the bad rows next to a patient who screens normally, whose outcome must not
move. The run date is fixed at 2024-06-30.
"""

from datetime import date

import polars as pl
import pytest

RUN = date(2024, 6, 30)
PANEL = """
    patient | date       | test | value
    good    | 2020-01-10 | IgM  | 25
    good    | 2020-01-10 | IgG  | 1000
    good    | 2020-01-10 | IgA  | 200
"""


def reasons(result, table: str) -> list[tuple[int, str]]:
    frame = result.result.quarantine.filter(pl.col("table_name") == table)
    return sorted(frame.select("source_row", "reason").iter_rows())


@pytest.mark.parametrize(
    ("collected", "reason"),
    [
        ("2020-02-30", "invalid_date"),  # no such day
        ("2020-01-10 25:61:00", "invalid_date"),  # no such time
        ("2020-01-10T24:00", "invalid_date"),
        ("2020-01-10T08:00:00+25:00", "invalid_date"),  # no such zone offset
        ("9999-12-31", "date_out_of_range"),  # a real date, after the run date
        ("2024-07-01", "date_out_of_range"),  # the day after the run date
        ("1899-12-31", "date_out_of_range"),  # the day before 1900-01-01
        ("0001-01-01", "date_out_of_range"),
        ("2024-06-30", None),  # the run date itself
        ("2024-06-30T23:59:59", None),
        ("2020-03-10T08:15:00+01:00", None),
    ],
)
def test_a_lab_date_that_does_not_exist_or_is_out_of_range_is_quarantined(
    screen, collected, reason
):
    result = screen(labs=PANEL + f"    good | {collected} | IgM  | 100\n", run_date=RUN)
    assert reasons(result, "labs") == ([(4, reason)] if reason else [])
    expected = "single_low" if reason else "normalized"  # IgM 100 after the index normalises
    assert result.status == {"good": expected}


def test_1900_01_01_itself_is_in_range(screen):
    result = screen(
        labs=PANEL + "    old | 1900-01-01 | IgM | 25\n",
        patients="""
        patient | birth_date | sex
        good    | 1980-01-01 | F
        old     | 1900-01-01 | F
    """,
        run_date=RUN,
    )
    assert reasons(result, "labs") == []
    assert reasons(result, "patients") == []
    assert result.status == {"good": "single_low", "old": "under_min_age"}


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        ("2019-12-01", "2020-02-30", "invalid_end_date"),
        ("2019-12-01 07:75", "", "invalid_start_date"),
        ("1899-06-01", "2020-01-05", "start_date_out_of_range"),
        ("2019-12-01", "2024-07-01", "end_date_out_of_range"),  # planned past the run date
        ("2099-01-01", "", "start_date_out_of_range"),
    ],
)
def test_a_medication_date_that_does_not_exist_or_is_out_of_range_is_quarantined(
    screen, start, end, reason
):
    result = screen(
        labs=PANEL,
        medications=f"""
        patient | name      | start   | end
        good    | clozapine | {start} | {end}
    """,
        run_date=RUN,
    )
    assert reasons(result, "medications") == [(1, reason)]
    assert result.status == {"good": "single_low"}  # the quarantined exposure does not count


@pytest.mark.parametrize(
    ("diagnosed", "reason"),
    [
        ("2019-02-29", "invalid_date"),  # 2019 is no leap year
        ("2019-06-01 12:60", "invalid_date"),
        ("1850-01-01", "date_out_of_range"),
        ("2025-01-01", "date_out_of_range"),
    ],
)
def test_a_diagnosis_date_that_does_not_exist_or_is_out_of_range_is_quarantined(
    screen, diagnosed, reason
):
    result = screen(
        labs=PANEL,
        diagnoses=f"""
        patient | code   | system | date
        good    | C91.10 | ICD10  | {diagnosed}
    """,
        run_date=RUN,
    )
    assert reasons(result, "diagnoses") == [(1, reason)]
    assert result.status == {"good": "single_low"}


@pytest.mark.parametrize(
    ("birth_date", "birth_year"),
    [("2030-05-05", ""), ("1850-05-05", ""), ("", "2031"), ("", "1899")],
)
def test_a_birth_date_out_of_range_quarantines_the_patient_row_with_its_own_reason(
    screen, birth_date, birth_year
):
    result = screen(
        labs=PANEL + "    odd | 2020-01-10 | IgM | 25\n",
        patients=f"""
        patient | birth_date   | birth_year   | sex
        good    | 1980-01-01   |              | F
        odd     | {birth_date} | {birth_year} | F
    """,
        run_date=RUN,
    )
    assert reasons(result, "patients") == [(2, "birth_date_out_of_range")]
    # Without usable birth data the patient cannot be aged: their lab rows are quarantined too.
    assert reasons(result, "labs") == [(4, "patient_without_birth_data")]
    assert result.status == {"good": "single_low"}


def test_an_out_of_range_birth_row_next_to_a_good_one_leaves_the_patient_screenable(screen):
    result = screen(
        labs=PANEL,
        patients="""
        patient | birth_date | sex
        good    | 9999-12-31 | F
        good    | 1980-01-01 | F
    """,
        run_date=RUN,
    )
    assert reasons(result, "patients") == [(1, "birth_date_out_of_range")]
    assert result.status == {"good": "single_low"}


def test_the_run_date_defaults_to_the_day_of_the_run(screen):
    result = screen(labs=PANEL + "    good | 2999-01-01 | IgM  | 100\n")
    assert reasons(result, "labs") == [(4, "date_out_of_range")]
