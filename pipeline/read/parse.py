"""Parse the string columns of an extract: dates, numbers, censored values, codes.

Every parser is a polars expression that yields null for anything it cannot read, so that the
caller decides whether a null means "absent" or "quarantine this row". No parser raises on bad
data and none echoes a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

_DATE_TEXT = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
_NUMBER = r"-?(?:\d+(?:\.\d*)?|\.\d+)"
_VALUE = rf"^(<=|>=|<|>)?\s*({_NUMBER})$"


def lookup(expr: pl.Expr, table: Mapping[str, str], default: str | None = None) -> pl.Expr:
    """Map a few exact string values to others (`default` for the rest).

    A chain of comparisons rather than `replace_strict`, which the streaming engine cannot run:
    on the labs it made polars load the whole table into memory.
    """
    chain: Any = pl
    for key, value in table.items():
        chain = chain.when(expr == key).then(pl.lit(value, pl.String))
    if chain is pl:
        return pl.lit(default, pl.String)
    return chain.otherwise(pl.lit(default, pl.String))


def blank_to_null(expr: pl.Expr) -> pl.Expr:
    """Trim spaces; an empty string is a missing value."""
    trimmed = expr.str.strip_chars()
    return pl.when(trimmed.str.len_bytes() > 0).then(trimmed)


def parse_date(expr: pl.Expr) -> pl.Expr:
    """An ISO date or datetime (the date part is kept); impossible dates give null."""
    text = expr.str.strip_chars()
    return (
        pl.when(text.str.contains(_DATE_TEXT))
        .then(text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False))
        .otherwise(None)
    )


def parse_number(expr: pl.Expr) -> pl.Expr:
    """A plain decimal number with a point as separator."""
    text = expr.str.strip_chars()
    return pl.when(text.str.contains(rf"^{_NUMBER}$")).then(text.cast(pl.Float64, strict=False))


def parse_censor(expr: pl.Expr) -> pl.Expr:
    """The censoring sign of a value (`<`, `<=`, `>`, `>=`) or null for a plain number."""
    return expr.str.strip_chars().str.extract(_VALUE, 1)


def parse_value(expr: pl.Expr) -> pl.Expr:
    """The number of a value, or the bound of a censored value; null when unparseable."""
    return expr.str.strip_chars().str.extract(_VALUE, 2).cast(pl.Float64, strict=False)


def parse_int(expr: pl.Expr) -> pl.Expr:
    text = expr.str.strip_chars()
    return pl.when(text.str.contains(r"^\d{1,4}$")).then(text.cast(pl.Int32, strict=False))
