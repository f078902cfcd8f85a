"""Validation reports: what was checked at each stage, and whether it held.

A `ValidationReport` is a list of `Check`s, each with the stage (`extract`, `ig_results`,
`cohort`), the check's name, the column it looked at, its level (`table`: a failure refuses the
extract or aborts the publish; `row`: failing rows were quarantined and the run went on),
whether it held, and how many rows failed. It carries counts and names only, never a value from
the data, so it can be logged, stored in `audit.validation` and rendered as Data Docs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.errors import ExtractRefused, ValidationFailed
from pipeline.read.reasons import REASONS
from pipeline.result import (
    CHECK_SCHEMA,
    IG_RESULTS_SCHEMA,
    SCREENING_SCHEMA,
    STATUSES,
    ScreenResult,
)
from pipeline.rules import Rules, load_rules
from pipeline.validate.check import Check
from pipeline.validate.checks import cohort_checks


@dataclass
class ValidationReport:
    checks: list[Check] = field(default_factory=list)
    docs_path: str | None = None

    def failures(self) -> list[Check]:
        """The failed table-level checks (a failed row-level check only quarantined rows)."""
        return [c for c in self.checks if not c.success and c.level == "table"]

    @property
    def success(self) -> bool:
        return not self.failures()

    def raise_if_failed(self, *, refusal: bool = False) -> None:
        """Raise on the first failed table-level check: ExtractRefused for the checks of the
        extract (`refusal`), else ValidationFailed (the cohort is not published)."""
        failed = self.failures()
        if failed:
            first = failed[0]
            more = f" (and {len(failed) - 1} more failed checks)" if len(failed) > 1 else ""
            if refusal:
                raise ExtractRefused(
                    f"check '{first.name}' failed{more}; see docs/validation.md",
                    file=first.stage,
                    column=first.column,
                )
            raise ValidationFailed(
                f"output check '{first.name}' failed{more}; nothing was published",
                file=first.stage,
                column=first.column,
            )

    def frame(self) -> pl.DataFrame:
        """The checks as a frame with the columns of audit.validation (without run ids)."""
        return checks_frame(self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"checks": [asdict(c) for c in self.checks], "docs_path": self.docs_path}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationReport:
        return cls([Check(**c) for c in data["checks"]], data.get("docs_path"))


def docs_dir_for(db_path: Path | str) -> Path:
    """Where a database's validation results and Data Docs live: next to it."""
    path = Path(db_path)
    return path.parent / f"{path.stem}-validation"


def checks_frame(checks: list[Check]) -> pl.DataFrame:
    return pl.DataFrame([asdict(c) for c in checks], schema=CHECK_SCHEMA)


def checks_of(frame: pl.DataFrame) -> list[Check]:
    return [Check(**row) for row in frame.iter_rows(named=True)]


# The table-level checks made in polars while reading (sources/, normalize.py, engine.py): each
# refuses the extract when it fails, so a run that gets this far passed them all.
TABLE_CHECKS = (
    ("required_tables_present", None),
    ("required_columns_present", None),
    ("no_identifier_columns", None),
    ("files_readable", None),
    ("unknown_unit_share_within_limit", "unit"),
    ("usable_igm_result_present", "value"),
)


def passed_table_checks() -> list[Check]:
    return [Check("extract", name, column, "table", True, 0) for name, column in TABLE_CHECKS]


def row_checks(quarantine: pl.DataFrame, row_counts: pl.DataFrame) -> list[Check]:
    """The row-level checks, one per table and reason code, with the rows each quarantined;
    and the accounting check: rows read = used + quarantined + ignored, per table."""
    counts = {
        (t, r): n for t, r, n in quarantine.group_by("table_name", "reason").len().iter_rows()
    }
    checks = [
        Check(
            "extract",
            f"{table}:{reason}",
            column,
            "row",
            counts.get((table, reason), 0) == 0,
            counts.get((table, reason), 0),
        )
        for table, reason, column in REASONS
    ]
    unknown = set(counts) - {(t, r) for t, r, _ in REASONS}
    if unknown:  # a reason code the documentation does not list: a bug, never publish it
        checks.append(
            Check(
                "extract",
                "reason_codes_documented",
                "reason",
                "table",
                False,
                sum(counts[k] for k in unknown),
            )
        )
    unbalanced = row_counts.filter(
        pl.col("read") != pl.col("used") + pl.col("quarantined") + pl.col("ignored")
    ).height
    checks.append(
        Check(
            "extract",
            "rows_read_equal_used_quarantined_ignored",
            None,
            "table",
            unbalanced == 0,
            unbalanced,
        )
    )
    return checks


def extract_suite(
    relevant_labs: pl.DataFrame, rules: Rules, *, run_name: str, results_dir: Path | None
) -> list[Check]:
    """The GX suite of the raw extract, on the columns it needs of the Ig lab rows as read."""
    from pipeline.validate.suites import run_suite

    frame = relevant_labs.select(
        "patient_id",
        "collected_date",
        "test_code",
        "value",
        "unit",
        pl.col("_analyte").alias("analyte"),
    )
    parameters = {"analytes": list(rules.loinc)}
    return run_suite("extract", frame, parameters, run_name=run_name, results_dir=results_dir)


def validate_cohort(
    result: ScreenResult,
    *,
    rules: Rules | None = None,
    results_dir: Path | None = None,
    suites: bool = True,
) -> ValidationReport:
    """The checks of the stages so far (`result.validation`) plus the output checks of the
    cohort about to be published: polars consistency checks and the GX suites (their results
    saved in the run-scoped `results_dir`, for the Data Docs)."""

    checks = [*checks_of(result.validation), *cohort_checks(result)]
    if suites:
        from pipeline.validate.suites import run_suite

        rules = rules or load_rules()
        parameters = {
            "analytes": list(rules.loinc),
            "statuses": list(STATUSES),
            "implausible_above_mg_dl": rules.implausible_above_mg_dl,
            "ig_results_columns": list(IG_RESULTS_SCHEMA.names()),
            "screening_columns": list(SCREENING_SCHEMA.names()),
        }
        for name, frame in (("ig_results", result.ig_results), ("cohort", result.screening)):
            checks += run_suite(
                name,
                frame,
                parameters,
                run_name=f"{result.run_id}-{name}",
                results_dir=results_dir,
            )
    return ValidationReport(checks)
