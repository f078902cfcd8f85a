"""The result of screening one extract, as handed from the engine to publishing.

`ScreenResult` is the contract between the screening engine and everything downstream
(publishing, validation, the CLI summary, the Airflow tasks). Its frames are collected polars
DataFrames with the schemas below; `publish.py` writes them to the cohort database unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

# Exact decimals, never binary floating point (SPEC §3 Units): values, factors and limits are
# held as written in micro-units; a value converted to mg/dL (value × factor) at twice that scale,
# so the product is exact and no rounding can move a result across a limit.
DECIMAL_PLACES = 6
EXACT = pl.Decimal(38, DECIMAL_PLACES)
MG_DL = pl.Decimal(38, 2 * DECIMAL_PLACES)

STATUSES = (
    "under_min_age",
    "igm_not_low",
    "not_isolated",
    "excluded_drug",
    "excluded_malignancy",
    "excluded_other",
    "normalized",
    "single_low",
    "persistent",
)

SCREENING_SCHEMA = pl.Schema(
    {
        "patient_id": pl.String(),
        "status": pl.String(),
        "severity": pl.String(),
        "index_date": pl.Date(),
        "age_at_index": pl.Int32(),
        "sex": pl.String(),
        "n_low_igm": pl.Int32(),
        "min_igm_mg_dl": pl.Float64(),
        "exclusion_reasons": pl.List(pl.String()),
        "run_id": pl.String(),
    }
)

IG_RESULTS_SCHEMA = pl.Schema(
    {
        "patient_id": pl.String(),
        "analyte": pl.String(),  # igm | igg | iga
        "collected_date": pl.Date(),
        "age_months": pl.Int32(),
        "value_text": pl.String(),  # the value as received
        "censor": pl.String(),  # null, '<', '<=', '>', '>='
        "value_mg_dl": MG_DL,  # the number (or the censoring bound) × factor, exactly
        "unit_received": pl.String(),
        "lower_mg_dl": MG_DL,
        "upper_mg_dl": MG_DL,
        "limits_source": pl.String(),  # lab | table
        "specimen_id": pl.String(),
        "is_day_value": pl.Boolean(),  # the row chosen as the day's value for its analyte
        "is_counted": pl.Boolean(),  # age >= min age (IgM only counts then)
        "is_low": pl.Boolean(),  # proven < lower limit
        "is_at_or_above_lower": pl.Boolean(),  # proven >= lower limit
        "is_within_limits": pl.Boolean(),  # proven lower <= value <= upper
        "is_above_upper": pl.Boolean(),  # proven > upper limit
        "is_complete": pl.Boolean(),  # low and < complete threshold
        "is_undecided": pl.Boolean(),  # censored and proves none of the above
        "source_file": pl.String(),
        "source_row": pl.Int64(),
    }
)

EXCLUSIONS_SCHEMA = pl.Schema(
    {
        "patient_id": pl.String(),
        "category": pl.String(),  # drug | malignancy | other
        "cause": pl.String(),  # as in exclusion_windows.csv
        "reason": pl.String(),  # as in screening.exclusion_reasons, e.g. drug:clozapine
        "code": pl.String(),  # the drug name/code or diagnosis code as in the extract
        "event_date": pl.Date(),  # exposure start or diagnosis date
        "days_from_index": pl.Int32(),
        "source_file": pl.String(),
        "source_row": pl.Int64(),
    }
)

ATTRITION_SCHEMA = pl.Schema(
    {
        "step": pl.Int32(),
        "step_name": pl.String(),
        "status_on_failure": pl.String(),
        "remaining": pl.Int64(),
        "removed": pl.Int64(),
    }
)

QUARANTINE_SCHEMA = pl.Schema(
    {
        "table_name": pl.String(),
        "source_file": pl.String(),
        "source_row": pl.Int64(),
        "patient_id": pl.String(),
        "reason": pl.String(),
    }
)

ROW_COUNTS_SCHEMA = pl.Schema(
    {
        "table_name": pl.String(),
        "read": pl.Int64(),
        "used": pl.Int64(),
        "quarantined": pl.Int64(),
        "ignored": pl.Int64(),
    }
)


# One validation check (pipeline.validate.check.Check): names and counts, never values.
CHECK_SCHEMA = pl.Schema(
    {
        "stage": pl.String(),
        "name": pl.String(),
        "column": pl.String(),
        "level": pl.String(),
        "success": pl.Boolean(),
        "unexpected": pl.Int64(),
        "engine": pl.String(),
    }
)


@dataclass(frozen=True)
class InputFile:
    table: str
    path: str
    sha256: str
    bytes: int


@dataclass
class Normalised:
    """An extract read and validated: the used rows of each table, ready to be screened.

    `labs` are the used Ig rows (parsed, in canonical units), `patients` the patients that can
    be screened (birth date, sex); the quarantine, row counts and ignored reasons are final.
    """

    run_id: str
    source_format: str
    extract_dir: str
    rules_version: str
    rules_sha256: str
    mapping_sha256: str | None
    code_version: str
    inputs: list[InputFile]
    labs: pl.DataFrame
    patients: pl.DataFrame
    medications: pl.DataFrame | None
    diagnoses: pl.DataFrame | None
    quarantine: pl.DataFrame
    row_counts: pl.DataFrame
    ignored_reasons: pl.DataFrame
    started_at: datetime
    timings: dict[str, float] = field(default_factory=dict)
    # The validation checks run so far (CHECK_SCHEMA): names and counts only.
    validation: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=CHECK_SCHEMA))


@dataclass
class ScreenResult:
    run_id: str
    source_format: str
    extract_dir: str
    rules_version: str
    rules_sha256: str
    mapping_sha256: str | None
    code_version: str
    inputs: list[InputFile]
    screening: pl.DataFrame
    ig_results: pl.DataFrame
    exclusions: pl.DataFrame
    attrition: pl.DataFrame
    quarantine: pl.DataFrame
    row_counts: pl.DataFrame
    ignored_reasons: pl.DataFrame  # table_name, reason, rows
    started_at: datetime
    timings: dict[str, float] = field(default_factory=dict)
    # The validation checks run so far (CHECK_SCHEMA): names and counts only.
    validation: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=CHECK_SCHEMA))

    def status_counts(self) -> dict[str, int]:
        counts = dict(self.screening.group_by("status").len().iter_rows())
        return {s: int(counts.get(s, 0)) for s in STATUSES}
