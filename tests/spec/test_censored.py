"""SPEC §3 Censored values: `<x` / `>x` are low, in range, at or above a limit, or complete only
when the bound proves it; otherwise undecided, counting for none of them."""

import polars as pl
import pytest


def test_below_a_bound_under_the_lower_limit_is_low(screen):
    # Adult IgM lower limit 37: "<10" proves the value is below it.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | <10
        p1      | 2020-01-10 | IgG  | 1000
        p1      | 2020-01-10 | IgA  | 200
    """
    )
    assert result.status == {"p1": "single_low"}
    assert result.severity == {"p1": "partial"}


def test_below_a_bound_over_the_lower_limit_is_neither_low_nor_normal(screen):
    # "<50" could be 20 or 45: it proves nothing against a lower limit of 37.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | <50
        p1      | 2020-01-10 | IgG  | 1000
        p1      | 2020-01-10 | IgA  | 200
    """
    )
    assert result.status == {"p1": "igm_not_low"}
    assert result.severity == {"p1": None}


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("<36", "single_low"),
        ("<37", "single_low"),  # value < 37 = lower limit: proven low
        ("<38", "igm_not_low"),  # could be 37.5: undecided
        ("<=36", "single_low"),
        ("<=36.9", "single_low"),
        ("<=37", "igm_not_low"),  # could be exactly 37, which is not low
        ("< 10", "single_low"),
        ("<= 10", "single_low"),
    ],
)
def test_a_censored_igm_is_low_only_when_its_bound_proves_it(screen, value, status):
    result = screen(
        labs=f"""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | {value}
        p1      | 2020-01-10 | IgG  | 1000
        p1      | 2020-01-10 | IgA  | 200
    """
    )
    assert result.status == {"p1": status}


def test_undecided_censored_igm_after_the_index_neither_normalises_nor_repeats(screen):
    # p1: "<50" 30 days after the index does not normalise; the low at +100 d makes it persistent.
    # p2: "<50" 100 days after the index is not a repeat low.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-01-10 | IgG  | 1000
        p1      | 2020-01-10 | IgA  | 200
        p1      | 2020-02-09 | IgM  | <50
        p1      | 2020-04-19 | IgM  | 25
        p2      | 2020-01-10 | IgM  | 25
        p2      | 2020-01-10 | IgG  | 1000
        p2      | 2020-01-10 | IgA  | 200
        p2      | 2020-04-19 | IgM  | <50
    """
    )
    assert result.status == {"p1": "persistent", "p2": "single_low"}


@pytest.mark.parametrize(
    ("value", "status"),
    [
        (">37", "normalized"),  # proves >= lower limit 37
        (">=37", "normalized"),
        (">40", "normalized"),
        (">36", "single_low"),  # could be 36.5: undecided, does not normalise
        (">=36.9", "single_low"),
        ("> 300", "normalized"),
    ],
)
def test_above_a_bound_at_or_over_the_lower_limit_normalises(screen, value, status):
    result = screen(
        labs=f"""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-01-10 | IgG  | 1000
        p1      | 2020-01-10 | IgA  | 200
        p1      | 2020-02-09 | IgM  | {value}
    """
    )
    assert result.status == {"p1": status}


def test_above_a_bound_over_the_upper_limit_is_above_it(screen):
    # Adult IgM upper limit 286.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | >300
        p2      | 2020-01-10 | IgM  | >250
        p3      | 2020-01-10 | IgM  | >=286
        p4      | 2020-01-10 | IgM  | <50
    """
    )
    assert result.status == dict.fromkeys(("p1", "p2", "p3", "p4"), "igm_not_low")
    flags = {
        r["patient_id"]: r
        for r in result.result.ig_results.filter(pl.col("analyte") == "igm").to_dicts()
    }
    assert flags["p1"]["is_above_upper"] is True
    assert flags["p2"]["is_above_upper"] is False  # >250 may be 260, within
    assert flags["p3"]["is_above_upper"] is False  # >=286 may be 286: upper limit is inclusive
    assert flags["p2"]["is_at_or_above_lower"] is True
    assert flags["p4"]["is_undecided"] is True
    assert flags["p4"]["is_low"] is False
    assert flags["p4"]["is_at_or_above_lower"] is False


@pytest.mark.parametrize(
    ("value", "severity"),
    [
        ("<5", "complete"),  # x <= 5
        ("< 5", "complete"),
        ("<4", "complete"),
        ("<5.1", "partial"),  # x > 5: could be 5.05
        ("<10", "partial"),
        ("<=4.9", "complete"),
        ("4.9", "complete"),
        ("5", "partial"),  # complete means < 5 mg/dL
        ("0", "complete"),
    ],
)
def test_a_low_igm_is_complete_below_5_mg_dl(screen, value, severity):
    result = screen(
        labs=f"""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | {value}
        p1      | 2020-01-10 | IgG  | 1000
        p1      | 2020-01-10 | IgA  | 200
    """
    )
    assert result.status == {"p1": "single_low"}
    assert result.severity == {"p1": severity}


def test_less_or_equal_5_does_not_prove_complete(screen):
    # "<=5" may be exactly 5 mg/dL, which is not < 5: low (partial) but not proven complete.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | <=5
        p1      | 2020-01-10 | IgG  | 1000
        p1      | 2020-01-10 | IgA  | 200
    """
    )
    assert result.status == {"p1": "single_low"}
    assert result.severity == {"p1": "partial"}


def test_censored_bounds_are_converted_with_the_unit(screen):
    # "<0.05 g/L" is "<5 mg/dL": complete. "<0.1 g/L" is "<10 mg/dL": low, partial.
    result = screen(
        labs="""
        patient | date       | test | value | unit
        p1      | 2020-01-10 | IgM  | <0.05 | g/L
        p1      | 2020-01-10 | IgG  | 10    | g/L
        p1      | 2020-01-10 | IgA  | 2     | g/L
        p2      | 2020-01-10 | IgM  | <0.1  | g/L
        p2      | 2020-01-10 | IgG  | 10    | g/L
        p2      | 2020-01-10 | IgA  | 2     | g/L
    """
    )
    assert result.status == {"p1": "single_low", "p2": "single_low"}
    assert result.severity == {"p1": "complete", "p2": "partial"}


@pytest.mark.parametrize("igg", ["<1000", ">800", ">=767", "<=1590", ">1600"])
def test_a_censored_igg_is_never_proven_within_limits(screen, igg):
    # Within limits needs lower <= value <= upper (767-1590): one bound cannot prove both.
    result = screen(
        labs=f"""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-01-10 | IgG  | {igg}
        p1      | 2020-01-10 | IgA  | 200
    """
    )
    assert result.status == {"p1": "not_isolated"}
