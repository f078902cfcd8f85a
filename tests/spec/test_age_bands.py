"""SPEC §3 Age and Reference limits: every age-band edge, in completed months.

A result belongs to the band of the patient's age in completed months on its own date: the day
before the monthly birthday that completes month E is still in the band before E; the birthday
itself is in the band from E. Each result is judged in its own band, partners included.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import polars as pl
import pytest

from pipeline.rules import load_rules

BANDS = load_rules().reference_intervals
EDGES = sorted(set(BANDS["age_from_months"]) - {0})  # 5, 9, 15, 24, 48, 84, 120, 156, 192, 216
BIRTH = date(2002, 1, 15)
NAMES = {"igm": "IgM", "igg": "IgG", "iga": "IgA"}


def months_after(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 + months
    return date(total // 12, total % 12 + 1, day.day)


def band_limits(analyte: str, months: int) -> tuple[Decimal, Decimal]:
    band = BANDS.filter(
        (pl.col("analyte") == analyte)
        & (pl.col("age_from_months") <= months)
        & (pl.col("age_to_months").is_null() | (pl.col("age_to_months") > months))
    ).row(0, named=True)
    return band["lower_mg_dl"], band["upper_mg_dl"]


def test_the_edges_are_the_shipped_bands():
    assert EDGES == [5, 9, 15, 24, 48, 84, 120, 156, 192, 216]


@pytest.mark.parametrize("edge", EDGES)
def test_the_day_before_an_edge_is_judged_in_the_band_before_it(screen, edge):
    birthday = months_after(BIRTH, edge)
    eve = birthday - timedelta(days=1)
    labs = "patient | date | test | value\n" + "".join(
        f"{pid} | {day} | {NAMES[a]} | 100\n"
        for pid, day in (("eve", eve), ("birthday", birthday))
        for a in NAMES
    )
    patients = f"""
        patient  | birth_date | sex
        eve      | {BIRTH}    | F
        birthday | {BIRTH}    | F
    """
    result = screen(labs=labs, patients=patients)
    rows = result.result.ig_results.sort("patient_id", "analyte").to_dicts()
    got = {
        (r["patient_id"], r["analyte"]): (r["age_months"], r["lower_mg_dl"], r["upper_mg_dl"])
        for r in rows
    }
    expected = {}
    for pid, months in (("eve", edge - 1), ("birthday", edge)):
        for analyte in NAMES:
            expected[(pid, analyte)] = (months, *band_limits(analyte, months))
    assert got == expected
    assert {r["limits_source"] for r in rows} == {"table"}


# --- 13 - <16 y: IgM 45-244, IgG 509-1580, IgA 52-319 -----------------------------------------


@pytest.mark.parametrize(
    ("igm", "igg", "iga", "status"),
    [
        ("45", "1000", "100", "igm_not_low"),  # at the IgM lower limit: not low
        ("44", "1000", "100", "single_low"),
        ("44", "509", "52", "single_low"),  # IgG and IgA at their lower limits: within
        ("44", "1580", "319", "single_low"),  # ... and at their upper limits
        ("44", "508", "100", "not_isolated"),
        ("44", "1581", "100", "not_isolated"),
        ("44", "1000", "51", "not_isolated"),
        ("44", "1000", "320", "not_isolated"),
    ],
)
def test_the_13_to_16_year_band(screen, igm, igg, iga, status):
    # Born 2005-06-01: 14 years old on 2020-01-10.
    result = screen(
        labs=f"""
        patient | date       | test | value
        teen    | 2020-01-10 | IgM  | {igm}
        teen    | 2020-01-10 | IgG  | {igg}
        teen    | 2020-01-10 | IgA  | {iga}
    """,
        patients="""
        patient | birth_date | sex
        teen    | 2005-06-01 | M
    """,
    )
    assert result.status == {"teen": status}


def test_a_partner_is_judged_in_its_own_band_not_the_igms(screen):
    # Born 2004-02-01. IgM on 2020-01-20 at 15 y 11 m (13 - <16 y: IgM 45-244, IgG 509-1580);
    # IgG on 2020-02-10 at 16 y 0 m (16 - <18 y: IgG 487-1327). IgG 1400 is within the IgM's band
    # but above its own; IgG 500 is below the IgM's band but within its own.
    result = screen(
        labs="""
        patient | date       | test | value
        high    | 2020-01-20 | IgM  | 40
        high    | 2020-02-10 | IgG  | 1400
        high    | 2020-01-20 | IgA  | 100
        low     | 2020-01-20 | IgM  | 40
        low     | 2020-02-10 | IgG  | 500
        low     | 2020-01-20 | IgA  | 100
    """,
        patients="""
        patient | birth_date | sex
        high    | 2004-02-01 | F
        low     | 2004-02-01 | F
    """,
    )
    assert result.status == {"high": "not_isolated", "low": "single_low"}
    igg = result.result.ig_results.filter(pl.col("analyte") == "igg").sort("patient_id")
    assert igg.select("patient_id", "age_months", "lower_mg_dl", "upper_mg_dl").rows() == [
        ("high", 192, Decimal(487), Decimal(1327)),
        ("low", 192, Decimal(487), Decimal(1327)),
    ]
