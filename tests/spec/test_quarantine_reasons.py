"""Row-level checks chosen where SPEC §2 is silent (docs/input.md): one exact reason each.

Each test plants one bad row next to a patient who screens normally, and checks that exactly
that row is quarantined with its documented reason code, and that the good patient's outcome
does not move.
"""

from __future__ import annotations

import polars as pl
import pytest

PANEL = """
    patient | date       | test | value | specimen
    good    | 2020-01-10 | IgM  | 25    | s1
    good    | 2020-01-10 | IgG  | 1000  | s1
    good    | 2020-01-10 | IgA  | 200   | s1
"""


def quarantined(result, table: str) -> list[tuple[int, str]]:
    frame = result.result.quarantine.filter(pl.col("table_name") == table)
    return list(frame.select("source_row", "reason").iter_rows())


def test_a_result_dated_before_birth_is_quarantined(screen):
    result = screen(
        labs=PANEL + "    late | 1979-12-31 | IgM  | 25    | s9\n",
        patients="""
        patient | birth_date | sex
        good    | 1980-01-01 | F
        late    | 1980-01-01 | M
    """,
    )
    assert quarantined(result, "labs") == [(4, "date_before_birth")]
    assert result.status == {"good": "single_low"}


def test_a_negative_value_is_quarantined_as_negative_not_unparseable(screen):
    result = screen(labs=PANEL + "    good | 2020-02-10 | IgM  | -3    | s2\n")
    assert quarantined(result, "labs") == [(4, "negative_value")]
    assert result.status == {"good": "single_low"}


def test_a_lab_row_without_a_test_code_is_quarantined(screen):
    result = screen(labs=PANEL + "    good | 2020-02-10 |      | 5     | s2\n")
    assert quarantined(result, "labs") == [(4, "missing_test_code")]
    assert result.status == {"good": "single_low"}


def test_a_medication_without_name_or_code_is_quarantined(screen):
    result = screen(
        labs=PANEL,
        medications="""
        patient | name      | code | start      | end
        good    |           |      | 2019-12-01 | 2020-01-05
        good    | clozapine |      | 2019-12-01 | 2020-01-05
    """,
    )
    assert quarantined(result, "medications") == [(1, "missing_drug")]
    assert result.status == {"good": "excluded_drug"}


def test_an_unreadable_end_date_is_quarantined_not_read_as_open_ended(screen):
    result = screen(
        labs=PANEL,
        medications="""
        patient | name      | start      | end
        good    | clozapine | 2019-12-01 | 2020-13-45
    """,
    )
    assert quarantined(result, "medications") == [(1, "invalid_end_date")]
    assert result.status == {"good": "single_low"}


def test_a_diagnosis_without_a_code_is_quarantined(screen):
    result = screen(
        labs=PANEL,
        diagnoses="""
        patient | code | system | date
        good    |      | ICD10  | 2019-12-01
    """,
    )
    assert quarantined(result, "diagnoses") == [(1, "missing_code")]
    assert result.status == {"good": "single_low"}


# --- implausible values (criteria.toml [validation] implausible_above_mg_dl = 15000) -----------


@pytest.mark.parametrize(
    ("value", "unit", "reason"),
    [
        ("15000", "mg/dL", None),  # at the bound: plausible
        ("15000.1", "mg/dL", "implausible_value"),
        ("150", "g/L", None),  # 15000 mg/dL
        ("150.01", "g/L", "implausible_value"),  # 15001 mg/dL
        ("<20000", "mg/dL", None),  # below a bound does not prove the value too high
        ("<=20000", "mg/dL", None),
        (">15000", "mg/dL", None),  # proves only > 15000: not above the bound by the number
        (">20000", "mg/dL", "implausible_value"),
    ],
)
def test_a_value_above_the_plausible_bound_is_quarantined(screen, value, unit, reason):
    result = screen(
        labs=f"""
        patient | date       | test | value    | unit    | specimen
        good    | 2020-01-10 | IgM  | 25       | mg/dL   | s1
        good    | 2020-01-10 | IgG  | 1000     | mg/dL   | s1
        good    | 2020-01-10 | IgA  | 200      | mg/dL   | s1
        good    | 2020-03-10 | IgG  | {value}  | {unit}  | s2
    """
    )
    expected = [(4, reason)] if reason else []
    assert quarantined(result, "labs") == expected
    assert result.status == {"good": "single_low"}


def test_the_plausible_bound_is_a_rules_setting(screen, site_rules):
    rules = site_rules(
        "criteria.toml",
        lambda t: t.replace("implausible_above_mg_dl = 15000", "implausible_above_mg_dl = 900"),
    )
    result = screen(labs=PANEL, rules_dir=rules)
    # IgG 1000 mg/dL is now above the bound: quarantined, so the panel is not isolated.
    assert quarantined(result, "labs") == [(2, "implausible_value")]
    assert result.status == {"good": "not_isolated"}
