"""Exact decimals in the rules folder: factors and limits load as decimals, never floats, and a
number that cannot be held exactly, or a date setting that is no date, refuses the folder."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from pipeline.errors import RulesError
from pipeline.read.parse import exact_literal
from pipeline.result import EXACT, MG_DL
from pipeline.rules import DEFAULT_RULES_DIR, load_rules


@pytest.fixture
def site_rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_factors_and_limits_are_exact_decimals():
    rules = load_rules()
    assert rules.units.schema["factor_to_mg_dl"] == EXACT
    assert rules.reference_intervals.schema["lower_mg_dl"] == EXACT
    iu = rules.units.filter((pl.col("analyte") == "igm") & (pl.col("unit_key") == "iu/ml"))
    assert iu["factor_to_mg_dl"].item() == Decimal("0.847")
    assert rules.earliest_date == date(1900, 1, 1)


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("units.csv", "*,mg/L,0.1,", "*,mg/L,0.1000001,", "at most 6 decimals"),
        ("units.csv", "*,mg/L,0.1,", "*,mg/L,1e-1,", "expected type"),
        ("reference_intervals.csv", "igm,216,,37,286", "igm,216,,36.9999999,286", "at most 6"),
        ("criteria.toml", "earliest_date = 1900-01-01", 'earliest_date = "1900"', "a date"),
        (
            "criteria.toml",
            "earliest_date = 1900-01-01",
            "earliest_date = 1900-01-01T00:00:00",
            "a date",
        ),
    ],
)
def test_a_number_that_cannot_be_held_exactly_refuses_the_rules(
    site_rules, file, old, new, message
):
    edit(site_rules / file, old, new)
    with pytest.raises(RulesError, match=message):
        load_rules(site_rules)


def test_a_site_factor_with_six_decimals_is_kept_exactly(site_rules):
    edit(site_rules / "units.csv", "igm,IU/mL,0.847,", "igm,IU/mL,0.847123,")
    rules = load_rules(site_rules)
    iu = rules.units.filter((pl.col("analyte") == "igm") & (pl.col("unit_key") == "iu/ml"))
    assert iu["factor_to_mg_dl"].item() == Decimal("0.847123")


@pytest.mark.parametrize(
    ("number", "exact"),
    [(5.0, "5"), (15000.0, "15000"), (0.1, "0.1"), (0.29, "0.29"), (5, "5"), (17.19, "17.19")],
)
def test_a_rules_number_becomes_the_decimal_it_was_written_as(number, exact):
    value = pl.select(exact_literal(number).alias("x"))
    assert value.schema["x"] == MG_DL
    assert value.item() == Decimal(exact)


def test_not_name_rows_load_lower_cased_as_names_do(site_rules):
    path = site_rules / "codelists" / "drugs.csv"
    path.write_text(
        path.read_text()
        + "immunoglobulin_replacement,immunoglobulin,not_name,Measles Immune Globulin,test\n"
    )
    drugs = load_rules(site_rules).drugs
    assert "measles immune globulin" in drugs.filter(pl.col("match") == "not_name")["value"]
