"""Property-based tests of the value and date parsers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from pipeline.read.parse import parse_censor, parse_date, parse_value, to_mg_dl
from pipeline.rules import load_rules

FACTORS = load_rules().units["factor_to_mg_dl"].unique().to_list()

SIGNS = st.sampled_from(["", "<", "<=", ">", ">="])
SPACES = st.sampled_from(["", " ", "  "])


def parse(values: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"v": values}, schema={"v": pl.String}).select(
        censor=parse_censor(pl.col("v")), number=parse_value(pl.col("v"))
    )


@given(
    sign=SIGNS,
    gap=SPACES,
    pad=SPACES,
    number=st.decimals(min_value=0, max_value=100000, places=3, allow_nan=False),
)
def test_a_written_value_round_trips(sign, gap, pad, number):
    text = f"{pad}{sign}{gap if sign else ''}{number}{pad}"
    row = parse([text]).row(0, named=True)
    assert row["censor"] == (sign or None)
    assert row["number"] == number  # the exact decimal written, not the nearest float


@given(
    number=st.decimals(min_value=0, max_value=10**9, places=6, allow_nan=False),
    factor=st.sampled_from(FACTORS),
)
def test_conversion_to_mg_dl_is_the_exact_decimal_product(number, factor):
    frame = pl.DataFrame({"v": [str(number)], "f": [factor]}).select(
        to_mg_dl(parse_value(pl.col("v")), pl.col("f"))
    )
    assert frame.item() == number * factor


@given(
    number=st.decimals(min_value=0, max_value=1000, places=6, allow_nan=False),
    tail=st.integers(1, 9),
)
def test_a_value_more_precise_than_micro_units_is_unparseable_not_rounded(number, tail):
    text = f"{number:.6f}{tail}"
    assert parse([text])["number"].to_list() == [None]
    assert parse([f"{number:.6f}000"])["number"].to_list() == [Decimal(f"{number:.6f}")]


@given(st.text(alphabet=st.characters(blacklist_categories=("Nd", "Cs")), min_size=1))
def test_text_without_digits_never_parses(text):
    assert parse([text])["number"].to_list() == [None]


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
    st.sampled_from(["", "T08:15:00", " 23:59"]),
)
def test_iso_dates_and_datetimes_parse_to_their_date(day, time):
    frame = pl.DataFrame({"d": [day.isoformat() + time]}).select(parse_date(pl.col("d")))
    assert frame.item() == day


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
    st.sampled_from(["T24:00", " 25:61:00", "T23:60", " 12:00:61", "T08:15:00+25:00", "T8:15"]),
)
def test_a_datetime_whose_time_does_not_exist_is_rejected(day, time):
    frame = pl.DataFrame({"d": [day.isoformat() + time]}).select(parse_date(pl.col("d")))
    assert frame.item() is None


@given(st.integers(1, 12), st.integers(32, 99))
def test_impossible_days_are_rejected(month, day):
    frame = pl.DataFrame({"d": [f"2020-{month:02d}-{day}"]}).select(parse_date(pl.col("d")))
    assert frame.item() is None
