"""SPEC §3 Units: conversion and every comparison with a limit are exact in decimal.

A value is compared as the decimal number written times the decimal factor: 0.29 g/L is exactly
29 mg/dL, so it is not below a lower limit of 29. Binary floating point would make it
28.999999999999996 (low) and 17.19 g/L 1719.0000000000002 (above an upper limit of 1719).

The first tests are the cases a held-back extract caught; then every limit of the shipped table
is met exactly, and missed by one micro-unit on either side, in every unit, with the table's
limits and with the lab's own.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
import pytest

from pipeline.rules import load_rules

RULES = load_rules()
COLLECTED = date(2020, 6, 15)
MICRO = Decimal("0.000001")
FACTORS = {"g/L": "100", "mg/L": "0.1", "g/dL": "1000", "mg/mL": "100", "IU/mL": "0.847"}
NAMES = {"igm": "IgM", "igg": "IgG", "iga": "IgA"}


def flags(result, patient: str, analyte: str) -> dict:
    """The one ig_results row of a patient's analyte, as a dict."""
    rows = result.result.ig_results.filter(
        (pl.col("patient_id") == patient) & (pl.col("analyte") == analyte)
    ).to_dicts()
    assert len(rows) == 1, f"{patient} has {len(rows)} {analyte} rows"
    return rows[0]


def judged(result, analyte: str) -> dict[str, tuple[bool, bool, bool]]:
    """Per patient: (is_low, is_within_limits, is_above_upper) of their `analyte` result."""
    frame = result.result.ig_results.filter(pl.col("analyte") == analyte)
    return {
        r["patient_id"]: (r["is_low"], r["is_within_limits"], r["is_above_upper"])
        for r in frame.to_dicts()
    }


def text(number: Decimal) -> str:
    """A decimal as plain text, without exponent or trailing zeros."""
    written = format(number.normalize(), "f")
    return written


def born(months: int) -> str:
    """The birth date that makes a patient exactly `months` old on COLLECTED."""
    total = COLLECTED.year * 12 + COLLECTED.month - 1 - months
    return date(total // 12, total % 12 + 1, COLLECTED.day).isoformat()


# --- the cases of the held-back extract ---------------------------------------------------------


def test_iga_of_0_29_g_per_l_at_age_5_is_exactly_the_lower_limit_and_the_panel_is_isolated(
    screen,
):
    result = screen(
        labs="""
        patient | date       | test | value | unit
        p1      | 2020-06-15 | IgM  | 0.30  | g/L
        p1      | 2020-06-15 | IgG  | 10    | g/L
        p1      | 2020-06-15 | IgA  | 0.29  | g/L
        p2      | 2020-06-15 | IgM  | 0.30  | g/L
        p2      | 2020-06-15 | IgG  | 10    | g/L
        p2      | 2020-06-15 | IgA  | 0.28  | g/L
    """,
        patients="""
        patient | birth_date | sex
        p1      | 2015-03-01 | F
        p2      | 2015-03-01 | F
    """,
    )
    # Age 5 (4 - <7 y): IgM 37-224, IgG 386-1470, IgA 29-256.
    assert result.status == {"p1": "single_low", "p2": "not_isolated"}
    assert flags(result, "p1", "iga")["value_mg_dl"] == Decimal("29")


def test_igg_of_17_19_g_per_l_at_age_11_is_exactly_the_upper_limit(screen):
    result = screen(
        labs="""
        patient | date       | test | value | unit
        p1      | 2020-06-15 | IgM  | 0.30  | g/L
        p1      | 2020-06-15 | IgG  | 17.19 | g/L
        p1      | 2020-06-15 | IgA  | 1     | g/L
        p2      | 2020-06-15 | IgM  | 0.30  | g/L
        p2      | 2020-06-15 | IgG  | 17.20 | g/L
        p2      | 2020-06-15 | IgA  | 1     | g/L
    """,
        patients="""
        patient | birth_date | sex
        p1      | 2009-03-01 | F
        p2      | 2009-03-01 | F
    """,
    )
    # Age 11 (10 - <13 y): IgM 41-255, IgG 503-1719, IgA 42-295.
    assert result.status == {"p1": "single_low", "p2": "not_isolated"}
    assert flags(result, "p1", "igg")["value_mg_dl"] == Decimal("1719")


def test_igm_of_2_24_g_per_l_at_age_5_is_at_its_upper_limit_not_above_it(screen):
    result = screen(
        labs="""
        patient | date       | test | value | unit
        p1      | 2020-06-15 | IgM  | 2.24  | g/L
        p2      | 2020-06-15 | IgM  | 2.25  | g/L
    """,
        patients="""
        patient | birth_date | sex
        p1      | 2015-03-01 | F
        p2      | 2015-03-01 | F
    """,
    )
    assert judged(result, "igm") == {"p1": (False, True, False), "p2": (False, False, True)}
    assert flags(result, "p1", "igm")["value_mg_dl"] == Decimal("224")


def test_a_value_in_mg_per_ml_exactly_at_the_lower_limit_is_not_low(screen):
    # 0.37 mg/mL × 100 is exactly 37 mg/dL: the adult IgM lower limit, so not low.
    result = screen(
        labs="""
        patient | date       | test | value    | unit
        p1      | 2020-06-15 | IgM  | 0.37     | mg/mL
        p2      | 2020-06-15 | IgM  | 0.369999 | mg/mL
    """
    )
    assert result.status == {"p1": "igm_not_low", "p2": "not_isolated"}
    assert judged(result, "igm") == {"p1": (False, True, False), "p2": (True, False, False)}


def test_iu_per_ml_is_converted_exactly_on_either_side_of_a_limit(screen):
    # 43.683 IU/mL × 0.847 = 36.999501 mg/dL (< 37, low); 43.684 × 0.847 = 37.000348 (not low).
    result = screen(
        labs="""
        patient | date       | test | value  | unit
        p1      | 2020-06-15 | IgM  | 43.683 | IU/mL
        p2      | 2020-06-15 | IgM  | 43.684 | IU/mL
    """
    )
    assert judged(result, "igm") == {"p1": (True, False, False), "p2": (False, True, False)}
    assert flags(result, "p1", "igm")["value_mg_dl"] == Decimal("36.999501")
    assert flags(result, "p2", "igm")["value_mg_dl"] == Decimal("37.000348")


def test_the_complete_threshold_is_exact(screen):
    # 0.05 g/L is exactly 5 mg/dL: low but not below 5, so partial; 0.049999 g/L is complete.
    result = screen(
        labs="""
        patient | date       | test | value    | unit
        p1      | 2020-06-15 | IgM  | 0.05     | g/L
        p1      | 2020-06-15 | IgG  | 10       | g/L
        p1      | 2020-06-15 | IgA  | 2        | g/L
        p2      | 2020-06-15 | IgM  | 0.049999 | g/L
        p2      | 2020-06-15 | IgG  | 10       | g/L
        p2      | 2020-06-15 | IgA  | 2        | g/L
    """
    )
    assert result.severity == {"p1": "partial", "p2": "complete"}


def test_a_value_more_precise_than_micro_units_is_quarantined_not_rounded(screen):
    # 0.2899999 g/L cannot be held in micro-units without rounding it to 0.29 (exactly the
    # limit): the row is unparseable, never silently judged as another value.
    result = screen(
        labs="""
        patient | date       | test | value     | unit
        p1      | 2020-06-15 | IgM  | 0.2899999 | g/L
        p1      | 2020-06-15 | IgM  | 0.25      | g/L
    """
    )
    result.assert_quarantined(table="labs", patient="p1", rows=[1], reason="unparseable_value")
    assert flags(result, "p1", "igm")["value_mg_dl"] == Decimal("25")


# --- every limit of the table, in every unit ------------------------------------------------


def table_cases(unit: str) -> list[tuple[str, str, str, str, tuple[bool, bool, bool]]]:
    """(patient, analyte, birth date, value, expected flags) at and beside every table limit.

    IU/mL cannot write a whole number of mg/dL exactly (0.847 = 7 × 11² / 1000), so there the
    two micro-unit values around the limit stand for "at" and "beyond".
    """
    factor = Decimal(FACTORS[unit])
    cases = []
    for band in RULES.reference_intervals.iter_rows(named=True):
        analyte = band["analyte"]
        if unit == "IU/mL" and analyte != "igm":
            continue
        months = band["age_from_months"]
        for side, limit in (("lower", band["lower_mg_dl"]), ("upper", band["upper_mg_dl"])):
            exact = limit / factor
            if unit == "IU/mL":
                below = exact.quantize(MICRO, rounding="ROUND_FLOOR")
                at, beyond = (below + MICRO, below) if side == "lower" else (below, below + MICRO)
            else:
                at, beyond = exact, exact - MICRO if side == "lower" else exact + MICRO
            outside = (True, False, False) if side == "lower" else (False, False, True)
            pid = f"{analyte}-{months}-{side}"
            cases.append((f"{pid}-at", analyte, born(months), text(at), (False, True, False)))
            cases.append((f"{pid}-beyond", analyte, born(months), text(beyond), outside))
    return cases


@pytest.mark.parametrize("unit", list(FACTORS))
def test_every_table_limit_is_met_exactly_and_missed_by_one_micro_unit(screen, unit):
    cases = table_cases(unit)
    labs = "patient | date | test | value | unit\n" + "".join(
        f"{pid} | {COLLECTED} | {NAMES[a]} | {value} | {unit}\n" for pid, a, _, value, _ in cases
    )
    patients = "patient | birth_date | sex\n" + "".join(
        f"{pid} | {birth} | F\n" for pid, _, birth, _, _ in cases
    )
    result = screen(labs=labs, patients=patients)
    got = {**judged(result, "igm"), **judged(result, "igg"), **judged(result, "iga")}
    assert got == {pid: expected for pid, _, _, _, expected in cases}
    # Every published value is the exact decimal product of the number written and the factor.
    for row in result.result.ig_results.to_dicts():
        assert row["value_mg_dl"] == Decimal(row["value_text"]) * Decimal(FACTORS[unit])


@pytest.mark.parametrize("unit", list(FACTORS))
def test_the_labs_own_limits_are_met_exactly_in_every_unit(screen, unit):
    # The adult table limits, written in the row's unit as the lab would (ref_low/ref_high are in
    # the row's unit), with values exactly at them and one micro-unit outside.
    factor = Decimal(FACTORS[unit])
    rows, expected = [], {}
    for band in RULES.reference_intervals.filter(pl.col("age_from_months") == 216).iter_rows(
        named=True
    ):
        analyte = band["analyte"]
        if unit == "IU/mL" and analyte != "igm":
            continue
        low = (band["lower_mg_dl"] / factor).quantize(MICRO, rounding="ROUND_FLOOR")
        high = (band["upper_mg_dl"] / factor).quantize(MICRO, rounding="ROUND_FLOOR")
        for pid, value, flags_ in (
            (f"{analyte}-at-low", low, (False, True, False)),
            (f"{analyte}-under-low", low - MICRO, (True, False, False)),
            (f"{analyte}-at-high", high, (False, True, False)),
            (f"{analyte}-over-high", high + MICRO, (False, False, True)),
        ):
            rows.append(
                f"{pid} | {COLLECTED} | {NAMES[analyte]} | {text(value)} | {unit} "
                f"| {text(low)} | {text(high)}\n"
            )
            expected[pid] = flags_
    result = screen(
        labs="patient | date | test | value | unit | ref_low | ref_high\n" + "".join(rows)
    )
    got = {**judged(result, "igm"), **judged(result, "igg"), **judged(result, "iga")}
    assert got == expected
    assert set(result.result.ig_results["limits_source"]) == {"lab"}
    for row in result.result.ig_results.to_dicts():
        assert row["value_mg_dl"] == Decimal(row["value_text"]) * factor
