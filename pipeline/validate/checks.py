"""The output checks of the cohort, in polars: statuses, one row per patient, index dates,
severity and attrition consistent with each other. A failing check aborts the publish."""

from __future__ import annotations

import polars as pl

from pipeline.result import STATUSES, ScreenResult
from pipeline.screen.funnel import STEPS
from pipeline.validate.check import Check

# Statuses set before a patient has an index date (funnel steps 2-4) and before severity is
# known (steps 2-3).
NO_INDEX = tuple(status for _, _, status in STEPS[1:4] if status)
NO_SEVERITY = tuple(status for _, _, status in STEPS[1:3] if status)


def _check(name: str, column: str | None, failing: int) -> Check:
    return Check("cohort", name, column, "table", failing == 0, failing)


def cohort_checks(result: ScreenResult) -> list[Check]:
    s = result.screening
    status_counts = dict(s.group_by("status").len().iter_rows())
    has_index = pl.col("index_date").is_not_null()
    needs_index = ~pl.col("status").is_in(NO_INDEX)
    has_severity = pl.col("severity").is_not_null()
    needs_severity = ~pl.col("status").is_in(NO_SEVERITY)
    counts = s.select(
        (~pl.col("status").is_in(STATUSES) | pl.col("status").is_null()).sum().alias("status"),
        pl.col("patient_id").is_null().sum().alias("patient_null"),
        pl.col("patient_id").is_duplicated().sum().alias("patient_dup"),
        (has_index != needs_index).sum().alias("index"),
        (has_severity != needs_severity).sum().alias("severity"),
        (pl.col("run_id") != result.run_id).sum().alias("run_id"),
    ).row(0, named=True)
    attrition = result.attrition.sort("step")
    remaining = attrition["remaining"].to_list()
    removed = attrition["removed"].to_list()
    statuses = attrition["status_on_failure"].to_list()
    bad_steps = int(remaining[0] != s.height) + sum(
        remaining[i] != remaining[i - 1] - removed[i]
        or removed[i] != status_counts.get(statuses[i], 0)
        for i in range(1, len(remaining))
    )
    bad_steps += int(remaining[-1] != status_counts.get("persistent", 0))
    return [
        _check("status_in_allowed_set", "status", counts["status"]),
        _check("patient_id_not_null", "patient_id", counts["patient_null"]),
        _check("one_row_per_patient", "patient_id", counts["patient_dup"]),
        _check("index_date_iff_isolated_panel", "index_date", counts["index"]),
        _check("severity_iff_low_igm", "severity", counts["severity"]),
        _check("run_id_of_this_run", "run_id", counts["run_id"]),
        _check("attrition_adds_up", "remaining", bad_steps),
    ]
