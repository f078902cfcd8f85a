"""Secondary causes of low IgM found around each patient's index date.

Drug exposures last [start_date, end_date], or [start_date, start_date + default days] without an
end date, and count when they overlap their cause's window. Drugs match by ATC prefix, RxNorm
ingredient, or generic/brand name as whole words; exposures by a local route (inhaled, nasal,
topical, eye, ...) never count. Diagnosis codes match dotted or undotted ranges by their first
characters. Every window includes both ends. Only patients with an index date are searched.
"""

from __future__ import annotations

import re

import polars as pl

from pipeline.result import EXCLUSIONS_SCHEMA
from pipeline.rules import Rules, undotted_code

COLUMNS = list(EXCLUSIONS_SCHEMA)


def _words_pattern(words: list[str]) -> str:
    """A case-insensitive whole-word alternation; spaces in a phrase match any whitespace."""
    alternatives = sorted(
        {re.escape(w).replace(r"\ ", r"\s+") for w in words}, key=len, reverse=True
    )
    return r"(?i)\b(" + "|".join(alternatives) + r")\b"


def words_of(name: pl.Expr) -> pl.Expr:
    """Letters and digits make words; '_' does not (MIMIC-IV writes names like "SulfaSALAzine_")."""
    return name.str.replace_all("_", " ", literal=True)


def in_window(
    event: pl.Expr, index: pl.Expr, before: int | None, after: int, end: pl.Expr | None = None
) -> pl.Expr:
    """Whether an event (or exposure [event, end]) overlaps [index - before, index + after]."""
    end = event if end is None else end
    condition = event <= index + pl.duration(days=after)
    if before is not None:
        condition = condition & (end >= index - pl.duration(days=before))
    return condition


def local_route(rules: Rules) -> pl.Expr:
    """An exposure by a local route: the whole route is a local one, or no route and a local name."""
    route = pl.col("route").str.to_lowercase().str.strip_chars()
    name_is_local = (
        pl.col("drug_name")
        .str.contains(_words_pattern(list(rules.local_name_words)))
        .fill_null(False)
    )
    return (
        pl.when(route.is_not_null())
        .then(route.is_in(list(rules.local_routes)))
        .otherwise(name_is_local)
    )


def carved_out(codes: pl.DataFrame) -> pl.Expr:
    """True for a name match whose drug name also holds a `not_name` word of the same cause and
    ingredient: e.g. "Hepatitis B Immune Globulin" names a hyperimmune globulin, which matches
    `immune globulin` but does not replace IgG. Codes (ATC, RxNorm) are not carved out."""
    reason = pl.concat_str(pl.lit("drug:"), pl.coalesce("ingredient", "cause"))
    carve_outs = (
        codes.filter(pl.col("match") == "not_name")
        .group_by("cause", reason.alias("reason"), maintain_order=True)
        .agg(pl.col("value"))
    )
    blocked: pl.Expr = pl.lit(False)
    name = words_of(pl.col("drug_name"))
    for cause, why, words in carve_outs.iter_rows():
        in_group = (pl.col("cause") == cause) & (pl.col("reason") == why)
        blocked = blocked | (in_group & name.str.contains(_words_pattern(words)).fill_null(False))
    return blocked


def drug_matches(meds: pl.LazyFrame, rules: Rules) -> pl.LazyFrame:
    """Every (exposure, cause, reason) matched by name, ATC prefix or RxNorm ingredient."""
    codes = rules.drugs
    reason = pl.concat_str(pl.lit("drug:"), pl.coalesce("ingredient", "cause"))
    names = codes.filter(pl.col("match") == "name").select(
        pl.col("value").str.replace_all(r"\s+", " ").alias("_name"), "cause", reason.alias("reason")
    )
    by_name = (
        meds.with_columns(
            _name=words_of(pl.col("drug_name")).str.extract_all(
                _words_pattern(names["_name"].to_list())
            )
        )
        .explode("_name")
        .with_columns(pl.col("_name").str.to_lowercase().str.replace_all(r"\s+", " "))
        .join(names.lazy(), on="_name", how="inner")
        .with_columns(code=pl.col("drug_name"))
        .filter(~carved_out(codes))
    )
    system = pl.col("drug_system").str.to_uppercase().str.strip_chars()
    code = pl.col("drug_code").str.to_uppercase().str.strip_chars()
    atc = codes.filter(pl.col("match") == "atc").select(
        pl.col("value").alias("_prefix"), "cause", reason.alias("reason")
    )
    by_atc = (
        meds.filter(system.is_in(list(rules.code_systems["atc"])))
        .join(atc.lazy(), how="cross")
        .filter(code.str.starts_with(pl.col("_prefix")))
        .with_columns(code=pl.col("drug_code"))
    )
    rxnorm = codes.filter(pl.col("match") == "rxnorm").select(
        pl.col("value").alias("_code"), "cause", reason.alias("reason")
    )
    by_rxnorm = (
        meds.filter(system.is_in(list(rules.code_systems["rxnorm"])))
        .with_columns(_code=code)
        .join(rxnorm.lazy(), on="_code", how="inner")
        .with_columns(code=pl.col("drug_code"))
    )
    keep = ["patient_id", "index_date", "start", "end", "cause", "reason", "code", "_file", "_row"]
    # Codes first: a row matched for the same reason by its code and by its name is shown by its
    # code, whatever the order of the rows (keep="first" in this order, never "any").
    matches = pl.concat([f.select(keep) for f in (by_rxnorm, by_atc, by_name)])
    # A class-level code adds nothing when an ingredient of the same cause matched the same row.
    class_only = pl.col("reason") == pl.concat_str(pl.lit("drug:"), pl.col("cause"))
    has_ingredient = (~class_only).any().over(["_file", "_row", "cause"])
    # A row matched by name and by code keeps the first match (name, then ATC, then RxNorm):
    # `unique` without an order kept any of them, so the code shown changed between runs.
    return matches.filter(~(class_only & has_ingredient)).unique(
        ["_file", "_row", "cause", "reason"], keep="first", maintain_order=True
    )


def drug_causes(meds: pl.DataFrame, index: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    exposures = (
        meds.lazy()
        .join(index.lazy(), on="patient_id", how="inner")
        .filter(~local_route(rules))
        .with_columns(
            end=pl.coalesce(
                "end", pl.col("start") + pl.duration(days=rules.exposure_days_without_end)
            )
        )
    )
    matches = drug_matches(exposures, rules).with_columns(category=pl.lit("drug"))
    return as_exclusions(within_windows(matches, rules, "start", "end"), "start", "end")


def diagnosis_causes(diagnoses: pl.DataFrame, index: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    ranges = rules.diagnoses.with_columns(
        pl.col("range_start").str.len_chars().alias("_n_start"),
        pl.col("range_end").str.len_chars().alias("_n_end"),
    )
    code = pl.col("_code")
    in_range = (
        (code.str.len_chars() >= pl.max_horizontal("_n_start", "_n_end"))
        & (code.str.slice(0, pl.col("_n_start")) >= pl.col("range_start"))
        & (code.str.slice(0, pl.col("_n_end")) <= pl.col("range_end"))
    )
    matched = (
        diagnoses.lazy()
        .join(index.lazy(), on="patient_id", how="inner")
        .with_columns(_code=undotted_code(pl.col("code")))
        .join(ranges.lazy().rename({"code_system": "system"}), on="system", how="inner")
        .filter(in_range)
    )
    excluded = matched.filter(pl.col("rule") == "exclude").select("_file", "_row", "cause")
    categories = {cause: w.category for cause, w in rules.windows.items()}
    category = pl.col("cause").replace_strict(categories, default=None, return_dtype=pl.String)
    found = (
        matched.filter(pl.col("rule") == "include")
        .join(excluded, on=["_file", "_row", "cause"], how="anti")
        .unique(["_file", "_row", "cause"])
        .with_columns(category=category)
        .with_columns(reason=pl.concat_str("category", pl.lit(":"), "code"))
    )
    return as_exclusions(within_windows(found, rules, "date"), "date")


def within_windows(
    found: pl.LazyFrame, rules: Rules, event: str, end: str | None = None
) -> pl.LazyFrame:
    """Keep the causes whose event (or exposure [event, end]) overlaps their cause's window."""
    windows = [
        (pl.col("cause") == cause)
        & in_window(
            pl.col(event),
            pl.col("index_date"),
            w.days_before,
            w.days_after,
            None if end is None else pl.col(end),
        )
        for cause, w in rules.windows.items()
    ]
    return found.filter(pl.any_horizontal(windows) if windows else pl.lit(False))


def as_exclusions(found: pl.LazyFrame, event: str, end: str | None = None) -> pl.DataFrame:
    """Project matched causes onto the columns of cohort.exclusions."""
    return found.select(
        "patient_id",
        "category",
        "cause",
        "reason",
        "code",
        pl.col(event).alias("event_date"),
        (pl.col(end) if end else pl.lit(None, pl.Date)).alias("exposure_end_date"),
        (pl.col(event) - pl.col("index_date"))
        .dt.total_days()
        .cast(pl.Int32)
        .alias("days_from_index"),
        pl.col("_file").alias("source_file"),
        pl.col("_row").alias("source_row"),
    ).collect()


def find_causes(
    meds: pl.DataFrame | None, diagnoses: pl.DataFrame | None, index: pl.DataFrame, rules: Rules
) -> pl.DataFrame:
    """Every secondary cause found for patients with an index date (EXCLUSIONS_SCHEMA)."""
    found = [pl.DataFrame(schema=EXCLUSIONS_SCHEMA)]
    if meds is not None and meds.height:
        found.append(drug_causes(meds, index, rules).cast(EXCLUSIONS_SCHEMA))
    if diagnoses is not None and diagnoses.height:
        found.append(diagnosis_causes(diagnoses, index, rules).cast(EXCLUSIONS_SCHEMA))
    return pl.concat(found).sort(
        ["patient_id", "category", "event_date", "reason", "source_file", "source_row"]
    )
