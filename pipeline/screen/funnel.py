"""The status funnel: the first step each patient fails, severity, and attrition.

Steps in order (SPEC §3): an IgM result at age >= min age, a low IgM result, an isolated low
IgM panel, no drug cause, no malignancy, no other secondary cause, no normalisation on or after
the index date, a repeat low IgM at least the persistence interval after the index date.
"""

from __future__ import annotations

import polars as pl

from pipeline.read.normalize import first_reason
from pipeline.result import ATTRITION_SCHEMA, PERSISTENCE_SCHEMA, SCREENING_SCHEMA
from pipeline.rules import Rules
from pipeline.screen.limits import completed_months

# The funnel steps in SPEC §3's words ("patients who ..."), the status of a patient who fails
# each. Step 9 names the persistence interval the rules apply (`{days}`, default 90).
STEPS = (
    (1, "have an IgM result that passed validation", None),
    (2, "have an IgM result at age ≥ min age", "under_min_age"),
    (3, "have a low IgM result", "igm_not_low"),
    (4, "have an isolated low IgM panel", "not_isolated"),
    (5, "have no drug cause", "excluded_drug"),
    (6, "have no malignancy", "excluded_malignancy"),
    (7, "have no other secondary cause", "excluded_other"),
    (8, "did not normalise", "normalized"),
    (9, "have a repeat low ≥ {days} d after index", "single_low"),
)


def patient_facts(
    ig: pl.DataFrame, index: pl.DataFrame, causes: pl.DataFrame, rules: Rules
) -> pl.LazyFrame:
    """One row per patient with an IgM result: the facts each funnel step looks at."""
    igm = (
        ig.lazy()
        .filter((pl.col("analyte") == "igm") & pl.col("is_day_value"))
        .join(index.lazy(), on="patient_id", how="left")
    )
    counted_low = pl.col("is_counted") & pl.col("is_low")
    after_index = pl.col("collected_date") >= pl.col("index_date")
    repeat_from = pl.col("index_date") + pl.duration(days=rules.repeat_low_min_days)
    facts = igm.group_by("patient_id").agg(
        pl.col("index_date").first(),
        pl.col("is_counted").any().alias("has_counted"),
        counted_low.any().alias("has_low"),
        counted_low.sum().cast(pl.Int32).alias("n_low_igm"),
        pl.col("value_mg_dl").min().alias("min_igm_mg_dl"),
        pl.col("collected_date")
        .filter(after_index & pl.col("is_at_or_above_lower"))
        .min()
        .alias("normalised_date"),
        repeat_from.first().alias("repeat_low_from_date"),
        pl.col("collected_date")
        .filter(counted_low & (pl.col("collected_date") >= repeat_from))
        .min()
        .alias("repeat_low_date"),
        (counted_low & pl.col("is_complete") & after_index).any().alias("complete_after_index"),
        (counted_low & pl.col("is_complete")).any().alias("complete_any"),
    )
    by_category = (
        causes.lazy()
        .group_by("patient_id")
        .agg(
            (pl.col("category") == "drug").any().alias("has_drug"),
            (pl.col("category") == "malignancy").any().alias("has_malignancy"),
            (pl.col("category") == "other").any().alias("has_other"),
            pl.col("reason").unique().sort().alias("exclusion_reasons"),
        )
    )
    return facts.join(by_category, on="patient_id", how="left").with_columns(
        pl.col("normalised_date").is_not_null().alias("normalised"),
        pl.col("repeat_low_date").is_not_null().alias("repeat_low"),
        pl.col("has_drug", "has_malignancy", "has_other").fill_null(False),
        pl.col("exclusion_reasons").fill_null([]),
    )


def status_expr() -> pl.Expr:
    """The status of the first funnel step a patient fails, or persistent."""
    fails = [
        (~pl.col("has_counted"), "under_min_age"),
        (~pl.col("has_low"), "igm_not_low"),
        (pl.col("index_date").is_null(), "not_isolated"),
        (pl.col("has_drug"), "excluded_drug"),
        (pl.col("has_malignancy"), "excluded_malignancy"),
        (pl.col("has_other"), "excluded_other"),
        (pl.col("normalised"), "normalized"),
        (~pl.col("repeat_low"), "single_low"),
    ]
    assert [status for _, status in fails] == [status for _, _, status in STEPS[1:]]
    return first_reason(fails).fill_null(pl.lit("persistent"))


def severity_expr() -> pl.Expr:
    """complete/partial for every patient past step 3; judged from the index on when there is one."""
    complete = (
        pl.when(pl.col("index_date").is_not_null())
        .then("complete_after_index")
        .otherwise("complete_any")
    )
    return (
        pl.when(pl.col("status").is_in(["under_min_age", "igm_not_low"]))
        .then(pl.lit(None, pl.String))
        .when(complete)
        .then(pl.lit("complete"))
        .otherwise(pl.lit("partial"))
    )


def screening(
    ig: pl.DataFrame,
    index: pl.DataFrame,
    causes: pl.DataFrame,
    patients: pl.DataFrame,
    *,
    rules: Rules,
    run_id: str,
) -> pl.DataFrame:
    """cohort.screening: one row per patient with a validated IgM result."""
    frame = (
        patient_facts(ig, index, causes, rules)
        .with_columns(status=status_expr())
        .with_columns(severity=severity_expr())
        .join(
            patients.lazy().select("patient_id", "birth_date", "sex"), on="patient_id", how="left"
        )
        .with_columns(
            age_at_index=(completed_months(pl.col("birth_date"), pl.col("index_date")) // 12),
            run_id=pl.lit(run_id),
        )
        .select(list(SCREENING_SCHEMA))
        .sort("patient_id")
    )
    return frame.collect().cast(SCREENING_SCHEMA)


def persistence(
    ig: pl.DataFrame, index: pl.DataFrame, causes: pl.DataFrame, rules: Rules
) -> pl.DataFrame:
    """cohort.persistence: for every patient with an index date, the dates behind steps 8-9."""
    return (
        patient_facts(ig, index, causes, rules)
        .filter(pl.col("index_date").is_not_null())
        .select(list(PERSISTENCE_SCHEMA))
        .sort("patient_id")
        .collect()
        .cast(PERSISTENCE_SCHEMA)
    )


def attrition(screened: pl.DataFrame, n_patients_listed: int, rules: Rules) -> pl.DataFrame:
    """Patients remaining and removed at each funnel step, the steps named as SPEC §3 names them."""
    counts = dict(screened.group_by("status").len().iter_rows())
    remaining = screened.height
    rows: list[tuple[int, str, str | None, int, int]] = [
        (1, STEPS[0][1], None, remaining, max(n_patients_listed - remaining, 0))
    ]
    for step, name, status in STEPS[1:]:
        removed = int(counts.get(status, 0))
        remaining -= removed
        rows.append((step, name.format(days=rules.repeat_low_min_days), status, remaining, removed))
    return pl.DataFrame(rows, schema=ATTRITION_SCHEMA, orient="row")
