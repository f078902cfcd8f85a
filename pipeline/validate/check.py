"""The `Check` record: one check of one stage, whether it held and how many rows failed.

A module of its own so that `checks`, `suites` and `report` all build on it and none of them
imports another in a circle.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    stage: str
    name: str
    column: str | None
    level: str  # table | row
    success: bool
    unexpected: int | None = None  # rows that failed the check (counts only)
    engine: str = "polars"  # polars | great_expectations
