"""Parse the string columns of an extract: dates, numbers, censored values, codes.

Every parser is a polars expression that yields null for anything it cannot read, so that the
caller decides whether a null means "absent" or "quarantine this row". No parser raises on bad
data and none echoes a value.

Numbers are exact decimals, never binary floating point (SPEC §3 Units): a value is held as
written in micro-units (`Decimal(38, 6)`), so `0.29` is exactly 0.29 and, times the factor 100,
exactly 29. A number that micro-units cannot hold exactly (a non-zero digit past the sixth
decimal, or more than `MAX_INTEGER_DIGITS` digits before the point) is unparseable rather than
rounded: rounding could move a result across a limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl

from pipeline.result import DECIMAL_PLACES, EXACT, MG_DL

# 15 digits before the point and 12 after fit in the 38 digits of a product: beyond 10^15
# nothing is a plausible concentration in any unit, so nothing real is lost.
MAX_INTEGER_DIGITS = 15

_TIME = r"([01]\d|2[0-3]):[0-5]\d(:([0-5]\d|60)(\.\d+)?)?"
_ZONE = r"(Z|[+-]([01]\d|2[0-3]):?[0-5]\d)"
_DATE_TEXT = rf"^\d{{4}}-\d{{2}}-\d{{2}}([T ]{_TIME}{_ZONE}?)?$"
_NUMBER = r"-?(?:\d+(?:\.\d*)?|\.\d+)"
_VALUE = rf"^(<=|>=|<|>)?\s*({_NUMBER})$"
_TOO_PRECISE = rf"\.\d{{{DECIMAL_PLACES}}}\d*[1-9]"
_TOO_LARGE = rf"^-?0*[1-9]\d{{{MAX_INTEGER_DIGITS}}}"


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
    """An ISO date or datetime (the date part is kept); impossible dates give null.

    A date that does not exist (`2020-02-30`) or a time that does not (`25:61`) is impossible;
    so is a malformed time zone. Whether a real date is plausible (after 1900-01-01, not after
    the run date) is `date_in_range`'s question, so that it can have a reason code of its own.
    """
    text = expr.str.strip_chars()
    return (
        pl.when(text.str.contains(_DATE_TEXT))
        .then(text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False))
        .otherwise(None)
    )


def date_in_range(expr: pl.Expr, earliest: date, latest: date | None) -> pl.Expr:
    """True for a date in [earliest, latest] (both included; no upper bound without `latest`),
    null for a null date."""
    if latest is None:
        return expr >= pl.lit(earliest, pl.Date)
    return expr.is_between(pl.lit(earliest, pl.Date), pl.lit(latest, pl.Date), closed="both")


def exact_decimal(text: pl.Expr) -> pl.Expr:
    """A number's text as an exact `Decimal(38, 6)`; null when micro-units cannot hold it."""
    fits = ~text.str.contains(_TOO_PRECISE) & ~text.str.contains(_TOO_LARGE)
    return pl.when(fits).then(text.cast(EXACT, strict=False))


def exact_literal(number: float | int | Decimal) -> pl.Expr:
    """A rules number as an exact decimal literal: `5.0` from criteria.toml is exactly 5.

    A float read from TOML is turned back into the shortest text that reads as it (`repr`), which
    is the literal the file wrote; the literal then has the scale of a product, like the values
    it is compared with.
    """
    value = Decimal(repr(number)) if isinstance(number, float) else Decimal(number)
    return pl.lit(value).cast(MG_DL)


def parse_number(expr: pl.Expr) -> pl.Expr:
    """A plain decimal number with a point as separator, as an exact decimal."""
    text = expr.str.strip_chars()
    return pl.when(text.str.contains(rf"^{_NUMBER}$")).then(exact_decimal(text))


def parse_censor(expr: pl.Expr) -> pl.Expr:
    """The censoring sign of a value (`<`, `<=`, `>`, `>=`) or null for a plain number."""
    return expr.str.strip_chars().str.extract(_VALUE, 1)


def parse_value(expr: pl.Expr) -> pl.Expr:
    """The number of a value, or the bound of a censored value, as an exact decimal; null when
    unparseable."""
    return exact_decimal(expr.str.strip_chars().str.extract(_VALUE, 2))


def to_mg_dl(number: pl.Expr, factor: pl.Expr) -> pl.Expr:
    """number × factor, exactly: both in micro-units, the product at twice their scale."""
    return number.cast(MG_DL) * factor.cast(EXACT)


def parse_int(expr: pl.Expr) -> pl.Expr:
    text = expr.str.strip_chars()
    return pl.when(text.str.contains(r"^\d{1,4}$")).then(text.cast(pl.Int32, strict=False))
