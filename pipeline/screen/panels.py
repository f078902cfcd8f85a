"""Isolated low IgM panels and the index date.

A counted low IgM day value is judged with one IgG and one IgA day value of the same patient:
the one from the same specimen if any, otherwise the nearest in time within ± the panel window
(a tie goes to the earlier). Only that chosen result is judged, and both must be within their
limits. The index date is the date of the patient's first isolated low IgM panel.
"""

from __future__ import annotations

import polars as pl

from pipeline.result import PANELS_SCHEMA
from pipeline.rules import Rules


def day_values(ig: pl.DataFrame, analyte: str) -> pl.LazyFrame:
    return ig.lazy().filter(pl.col("is_day_value") & (pl.col("analyte") == analyte))


def chosen_partner(
    low_igm: pl.LazyFrame, ig: pl.DataFrame, analyte: str, window_days: int
) -> pl.LazyFrame:
    """For each low IgM, the one partner result of `analyte` it is judged with."""
    partners = day_values(ig, analyte).select(
        "patient_id",
        pl.col("collected_date").alias("_p_date"),
        pl.col("specimen_id").alias("_p_specimen"),
        pl.col("is_within_limits").alias(f"{analyte}_within"),
    )
    offset = (pl.col("_p_date") - pl.col("collected_date")).dt.total_days()
    same_specimen = pl.col("specimen_id").is_not_null() & (
        pl.col("specimen_id") == pl.col("_p_specimen")
    )
    return (
        low_igm.join(partners, on="patient_id", how="inner")
        .with_columns(_same=same_specimen, _offset=offset)
        .filter(pl.col("_same") | (pl.col("_offset").abs() <= window_days))
        .sort(
            [
                "patient_id",
                "collected_date",
                pl.col("_same").not_(),
                pl.col("_offset").abs(),
                "_offset",
            ]
        )
        .unique(["patient_id", "collected_date"], keep="first", maintain_order=True)
        .select(
            "patient_id",
            "collected_date",
            f"{analyte}_within",
            # Why this partner (kept for cohort.panels and `sigmd explain`).
            pl.col("_p_date").alias(f"{analyte}_date"),
            pl.when("_same")
            .then(pl.lit("same_specimen"))
            .otherwise(pl.lit("nearest"))
            .alias(f"{analyte}_match"),
            pl.col("_offset").cast(pl.Int32).alias(f"{analyte}_days_from_igm"),
        )
    )


def isolated_panels(ig: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """One row per counted low IgM day value: whether its panel is isolated."""
    low_igm = day_values(ig, "igm").filter(pl.col("is_counted") & pl.col("is_low"))
    low_igm = low_igm.select("patient_id", "collected_date", "specimen_id")
    window = rules.panel_window_days
    return (
        low_igm.join(
            chosen_partner(low_igm, ig, "igg", window),
            on=["patient_id", "collected_date"],
            how="left",
        )
        .join(
            chosen_partner(low_igm, ig, "iga", window),
            on=["patient_id", "collected_date"],
            how="left",
        )
        .with_columns(
            is_isolated=pl.col("igg_within").fill_null(False)
            & pl.col("iga_within").fill_null(False)
        )
        .collect()
    )


def panel_table(panels: pl.DataFrame) -> pl.DataFrame:
    """cohort.panels: each counted low IgM with the IgG and IgA chosen for it, and why."""
    renamed = panels.rename(
        {
            "collected_date": "igm_date",
            "specimen_id": "igm_specimen_id",
            "igg_within": "igg_is_within_limits",
            "iga_within": "iga_is_within_limits",
        }
    )
    return renamed.select(list(PANELS_SCHEMA)).sort("patient_id", "igm_date").cast(PANELS_SCHEMA)


def index_dates(panels: pl.DataFrame) -> pl.DataFrame:
    """patient_id, index_date: the first isolated low IgM panel of each patient."""
    return (
        panels.filter(pl.col("is_isolated"))
        .group_by("patient_id")
        .agg(pl.col("collected_date").min().alias("index_date"))
    )
