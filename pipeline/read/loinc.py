"""Recognise LOINC codes by their form: the number, a hyphen and its mod-10 check digit.

A site mapping file and the OMOP adapter both meet strings that should be, or might be, LOINC
codes. A LOINC code is 1 to 7 digits, `-`, and a check digit computed from the digits with the
mod-10 (Luhn) algorithm published by LOINC; so a mistyped code such as `2472-0` (for IgM's
`2472-9`) is caught, and a local code that merely looks like one almost always is not taken for
one.
"""

from __future__ import annotations

import polars as pl

LOINC_FORM = r"^\d{1,7}-\d$"
_MAX_DIGITS = 7


def loinc_check_digit(code: pl.Expr) -> pl.Expr:
    """The check digit a LOINC code's number part calls for (null when there is no number).

    Luhn: from the rightmost digit leftwards, every other digit (starting with the rightmost) is
    doubled, and 9 taken off a doubled digit above 9; the check digit brings the sum to a
    multiple of 10.
    """
    number = code.str.strip_chars().str.extract(r"^(\d{1,7})-", 1)
    reversed_digits = number.str.reverse()
    total: pl.Expr = pl.lit(0)
    for position in range(_MAX_DIGITS):
        digit = reversed_digits.str.slice(position, 1).cast(pl.Int32, strict=False).fill_null(0)
        if position % 2 == 0:
            doubled = digit * 2
            digit = pl.when(doubled > 9).then(doubled - 9).otherwise(doubled)
        total = total + digit
    return pl.when(number.is_not_null()).then((10 - total % 10) % 10)


def is_loinc(code: pl.Expr) -> pl.Expr:
    """True for a well-formed LOINC code with the right check digit; False otherwise (never null)."""
    text = code.str.strip_chars()
    given = text.str.extract(r"-(\d)$", 1).cast(pl.Int32, strict=False)
    return (
        (text.str.contains(LOINC_FORM) & (given == loinc_check_digit(text)))
        .fill_null(False)
        .alias("is_loinc")
    )
