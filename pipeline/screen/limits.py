"""Age at each result, lab-first reference limits, conversion to mg/dL and per-result flags.

A result is judged against the lab's own `ref_low`/`ref_high` when both are present, numeric and
ordered (lower < upper), converted with the row's unit; otherwise against the shipped age-band
table (`rules/reference_intervals.csv`) for both limits. A censored value (`<x`, `>x`) is low,
within limits, at or above the lower limit or complete only when its bound proves it; otherwise
it is undecided and counts for none of them.

Every comparison with a limit is exact (SPEC §3 Units): values, factors and limits are decimals
(`pipeline.result.EXACT`), a value in mg/dL is the exact product value × factor (`MG_DL`, twice
the scale, so nothing is rounded), and the rules' thresholds are exact decimal literals. `0.29 g/L`
is exactly 29 mg/dL, never 28.999999999999996.
"""

from __future__ import annotations

import polars as pl

from pipeline.read.parse import exact_literal, to_mg_dl
from pipeline.result import IG_RESULTS_SCHEMA, MG_DL
from pipeline.rules import Rules

BELOW = ("<", "<=")
ABOVE = (">", ">=")


def completed_months(birth: pl.Expr, on: pl.Expr) -> pl.Expr:
    """Completed months of age on a date (a month is complete on the same day-of-month)."""
    months = (on.dt.year() - birth.dt.year()) * 12 + (on.dt.month() - birth.dt.month())
    return (months - (on.dt.day() < birth.dt.day()).cast(pl.Int32)).cast(pl.Int32)


def with_limits(labs: pl.LazyFrame, rules: Rules) -> pl.LazyFrame:
    """Add age_months, value_mg_dl and the limits (mg/dL) with their source."""
    bands = (
        rules.reference_intervals.lazy()
        .select(
            "analyte",
            pl.col("age_from_months").cast(pl.Int32).alias("age_months"),
            pl.col("lower_mg_dl").cast(MG_DL).alias("_table_lower"),
            pl.col("upper_mg_dl").cast(MG_DL).alias("_table_upper"),
        )
        .sort("age_months")
    )
    lab_limits = (
        pl.col("ref_low").is_not_null()
        & pl.col("ref_high").is_not_null()
        & (pl.col("ref_low") < pl.col("ref_high"))
    )
    return (
        labs.with_columns(
            age_months=completed_months(pl.col("birth_date"), pl.col("collected_date"))
        )
        .sort("age_months")
        .join_asof(
            bands, on="age_months", by="analyte", strategy="backward", check_sortedness=False
        )
        .with_columns(
            value_mg_dl=to_mg_dl(pl.col("number"), pl.col("factor")),
            lower_mg_dl=pl.when(lab_limits)
            .then(to_mg_dl(pl.col("ref_low"), pl.col("factor")))
            .otherwise("_table_lower"),
            upper_mg_dl=pl.when(lab_limits)
            .then(to_mg_dl(pl.col("ref_high"), pl.col("factor")))
            .otherwise("_table_upper"),
            limits_source=pl.when(lab_limits).then(pl.lit("lab")).otherwise(pl.lit("table")),
        )
    )


def with_flags(labs: pl.LazyFrame, rules: Rules) -> pl.LazyFrame:
    """Add the proven-only judgements of each result against its limits."""
    v, lower, upper = pl.col("value_mg_dl"), pl.col("lower_mg_dl"), pl.col("upper_mg_dl")
    # A plain value has no censor; '=' stands for it so that every comparison is true or false
    # (a null censor would make `censor == "<"` null, and a flag null instead of false).
    censor = pl.col("censor").fill_null("=")
    plain = censor == "="
    threshold = exact_literal(rules.complete_below_mg_dl)
    is_low = (
        (plain & (v < lower)) | ((censor == "<") & (v <= lower)) | ((censor == "<=") & (v < lower))
    )
    at_or_above = (plain | censor.is_in(ABOVE)) & (v >= lower)
    above_upper = (
        (plain & (v > upper)) | ((censor == ">") & (v >= upper)) | ((censor == ">=") & (v > upper))
    )
    within = plain & (v >= lower) & (v <= upper)
    complete_value = (
        (plain & (v < threshold))
        | ((censor == "<") & (v <= threshold))
        | ((censor == "<=") & (v < threshold))
    )
    return labs.with_columns(
        is_counted=pl.col("age_months") >= rules.min_age_years * 12,
        is_low=is_low,
        is_at_or_above_lower=at_or_above,
        is_within_limits=within,
        is_above_upper=above_upper,
        is_complete=is_low & complete_value,
    ).with_columns(
        is_undecided=(censor != "=")
        & ~(
            pl.col("is_low")
            | pl.col("is_at_or_above_lower")
            | pl.col("is_within_limits")
            | pl.col("is_above_upper")
        )
    )


def with_day_values(labs: pl.LazyFrame) -> pl.LazyFrame:
    """Mark each patient's one value per analyte per day: the lowest in mg/dL.

    A censored-below row wins a tie (its true value is lower still); the row keeps its limits.
    """
    below_first = pl.when(pl.col("censor").is_in(BELOW)).then(0).otherwise(1)
    return (
        labs.with_columns(_below_first=below_first)
        .sort(
            [
                "patient_id",
                "analyte",
                "collected_date",
                "value_mg_dl",
                "_below_first",
                "_file",
                "_row",
            ]
        )
        .with_columns(
            is_day_value=pl.struct("patient_id", "analyte", "collected_date").is_first_distinct()
        )
        .drop("_below_first")
    )


def ig_results(labs: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """Every used immunoglobulin row, in mg/dL, with its limits and flags."""
    frame = with_day_values(with_flags(with_limits(labs.lazy(), rules), rules))
    return (
        frame.select(
            *[
                pl.col(c).alias(c)
                for c in IG_RESULTS_SCHEMA
                if c not in ("source_file", "source_row")
            ],
            pl.col("_file").alias("source_file"),
            pl.col("_row").alias("source_row"),
        )
        .collect()
        .cast(IG_RESULTS_SCHEMA)
    )
