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

from pipeline.errors import ValidationFailed
from pipeline.result import ScreenResult

STAGES = ("extract", "ig_results", "cohort")

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
class Check:
    stage: str
    name: str
    column: str | None
    level: str  # table | row
    success: bool
    unexpected: int | None = None  # rows that failed the check (counts only)
    engine: str = "polars"  # polars | great_expectations


@dataclass
class ValidationReport:
    checks: list[Check] = field(default_factory=list)
    docs_path: str | None = None

    @property
    def success(self) -> bool:
        return all(c.success or c.level == "row" for c in self.checks)

    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.success and c.level == "table"]

    def raise_if_failed(self) -> None:
        failed = self.failures()
        if failed:
            first = failed[0]
            more = f" (and {len(failed) - 1} more failed checks)" if len(failed) > 1 else ""
            raise ValidationFailed(
                f"output check '{first.name}' failed{more}; nothing was published",
                file=f"{first.stage}",
                column=first.column,
            )

    def frame(self) -> pl.DataFrame:
        """The checks as a frame with the columns of audit.validation (without run ids)."""
        return pl.DataFrame([asdict(c) for c in self.checks], schema=CHECK_SCHEMA)

    def to_dict(self) -> dict[str, Any]:
        return {"checks": [asdict(c) for c in self.checks], "docs_path": self.docs_path}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationReport:
        return cls([Check(**c) for c in data["checks"]], data.get("docs_path"))


def validate_cohort(result: ScreenResult, docs_dir: Path | None = None) -> ValidationReport:
    """The output checks of the cohort about to be published."""
    from pipeline.checks import cohort_checks

    return ValidationReport(cohort_checks(result))
