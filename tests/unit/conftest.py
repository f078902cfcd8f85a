"""Fixtures for unit tests: a small hand-built ScreenResult with the schemas of pipeline.result."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest

from pipeline.result import (
    ATTRITION_SCHEMA,
    EXCLUSIONS_SCHEMA,
    IG_RESULTS_SCHEMA,
    QUARANTINE_SCHEMA,
    ROW_COUNTS_SCHEMA,
    SCREENING_SCHEMA,
    InputFile,
    ScreenResult,
)

IGNORED_REASONS_SCHEMA = {"table_name": pl.String, "reason": pl.String, "rows": pl.Int64}

RUN_ID = "run-0123456789abcdef"

# patient, status, severity, index_date, age_at_index, sex, n_low_igm, min_igm_mg_dl, reasons
SCREENING_ROWS = [
    ("p1", "persistent", "complete", date(2020, 1, 10), 34, "F", 2, 4.0, []),
    ("p2", "single_low", "partial", date(2021, 3, 1), 51, "M", 1, 20.0, []),
    ("p3", "igm_not_low", None, None, None, "F", 0, 80.0, []),
    ("p4", "excluded_drug", "partial", date(2019, 5, 5), 40, "U", 1, 22.0, ["drug:clozapine"]),
    ("p5", "under_min_age", None, None, None, "M", 0, 15.0, []),
    # p6's only low IgM day value predates its index date (contrived): the OMOP cohort end date
    # must still not fall before the start date.
    ("p6", "persistent", "partial", date(2022, 6, 1), 60, "F", 1, 25.0, []),
]

# patient, analyte, date, value, is_day_value, is_counted, is_low
IG_ROWS = [
    ("p1", "igm", date(2020, 1, 10), 4.0, True, True, True),
    ("p1", "igg", date(2020, 1, 10), 900.0, True, True, False),
    ("p1", "iga", date(2020, 1, 10), 150.0, True, True, False),
    ("p1", "igm", date(2020, 6, 1), 20.0, True, True, True),
    ("p1", "igm", date(2020, 6, 1), 30.0, False, True, True),  # same-day repeat, not the day value
    ("p1", "igm", date(2020, 12, 1), 25.0, False, True, True),  # not a day value: not an end date
    ("p2", "igm", date(2021, 3, 1), 20.0, True, True, True),
    ("p2", "igg", date(2021, 3, 1), 1000.0, True, True, False),
    ("p2", "iga", date(2021, 3, 1), 200.0, True, True, False),
    ("p3", "igm", date(2020, 2, 2), 80.0, True, True, False),
    ("p4", "igm", date(2019, 5, 5), 22.0, True, True, True),
    ("p5", "igm", date(2018, 1, 1), 15.0, True, False, True),
    ("p6", "igm", date(2022, 5, 1), 25.0, True, True, True),
]


def _ig_frame() -> pl.DataFrame:
    rows = []
    for index, (patient, analyte, day, value, day_value, counted, low) in enumerate(IG_ROWS):
        rows.append(
            {
                "patient_id": patient,
                "analyte": analyte,
                "collected_date": day,
                "age_months": 400,
                "value_text": f"{value:g}",
                "censor": None,
                "value_mg_dl": value,
                "unit_received": "mg/dL",
                "lower_mg_dl": 37.0 if analyte == "igm" else 60.0,
                "upper_mg_dl": 286.0 if analyte == "igm" else 1590.0,
                "limits_source": "table",
                "specimen_id": None,
                "is_day_value": day_value,
                "is_counted": counted,
                "is_low": low,
                "is_at_or_above_lower": not low,
                "is_within_limits": not low,
                "is_above_upper": False,
                "is_complete": low and value < 5,
                "is_undecided": False,
                "source_file": "labs.csv",
                "source_row": index + 1,
            }
        )
    return pl.DataFrame(rows, schema=IG_RESULTS_SCHEMA)


def _screening_frame(run_id: str) -> pl.DataFrame:
    columns = [c for c in SCREENING_SCHEMA if c != "run_id"]
    rows = [{**dict(zip(columns, row, strict=True)), "run_id": run_id} for row in SCREENING_ROWS]
    return pl.DataFrame(rows, schema=SCREENING_SCHEMA)


def _attrition_frame() -> pl.DataFrame:
    steps = [
        ("has_validated_igm", None, 6, 0),
        ("igm_at_min_age", "under_min_age", 5, 1),
        ("low_igm", "igm_not_low", 4, 1),
        ("isolated_low_igm_panel", "not_isolated", 4, 0),
        ("no_drug_cause", "excluded_drug", 3, 1),
        ("no_malignancy", "excluded_malignancy", 3, 0),
        ("no_other_cause", "excluded_other", 3, 0),
        ("not_normalized", "normalized", 3, 0),
        ("repeat_low_after_90_days", "single_low", 2, 1),
    ]
    rows = [
        {"step": i, "step_name": n, "status_on_failure": s, "remaining": r, "removed": d}
        for i, (n, s, r, d) in enumerate(steps, start=1)
    ]
    return pl.DataFrame(rows, schema=ATTRITION_SCHEMA)


def build_result(run_id: str = RUN_ID, **overrides: Any) -> ScreenResult:
    """A small, internally consistent ScreenResult; any field can be overridden."""
    fields: dict[str, Any] = {
        "run_id": run_id,
        "source_format": "canonical",
        "extract_dir": "/data/extract-2024-01",
        "rules_version": "2026.11.1",
        "rules_sha256": "a" * 64,
        "mapping_sha256": None,
        "code_version": "0.1.0",
        "inputs": [
            InputFile("labs", "/data/extract-2024-01/labs.csv", "b" * 64, 2048),
            InputFile("patients", "/data/extract-2024-01/patients.csv", "c" * 64, 512),
        ],
        "screening": _screening_frame(run_id),
        "ig_results": _ig_frame(),
        "exclusions": pl.DataFrame(
            [
                {
                    "patient_id": "p4",
                    "category": "drug",
                    "cause": "clozapine",
                    "reason": "drug:clozapine",
                    "code": "Clozaril",
                    "event_date": date(2019, 1, 5),
                    "days_from_index": -120,
                    "source_file": "medications.csv",
                    "source_row": 1,
                }
            ],
            schema=EXCLUSIONS_SCHEMA,
        ),
        "attrition": _attrition_frame(),
        "quarantine": pl.DataFrame(
            [
                {
                    "table_name": "labs",
                    "source_file": "labs.csv",
                    "source_row": 14,
                    "patient_id": "p9",
                    "reason": "unparseable value",
                }
            ],
            schema=QUARANTINE_SCHEMA,
        ),
        "row_counts": pl.DataFrame(
            [
                {"table_name": "labs", "read": 17, "used": 13, "quarantined": 1, "ignored": 3},
                {"table_name": "patients", "read": 6, "used": 6, "quarantined": 0, "ignored": 0},
            ],
            schema=ROW_COUNTS_SCHEMA,
        ),
        "ignored_reasons": pl.DataFrame(
            [
                {"table_name": "labs", "reason": "not an immunoglobulin test", "rows": 2},
                {"table_name": "labs", "reason": "exact duplicate", "rows": 1},
            ],
            schema=IGNORED_REASONS_SCHEMA,
        ),
        "started_at": datetime(2024, 1, 15, 8, 0, 0, tzinfo=UTC),
        "timings": {"read": 0.5, "screen": 1.25},
    }
    fields.update(overrides)
    return ScreenResult(**fields)


@pytest.fixture
def make_result() -> Callable[..., ScreenResult]:
    """Build a small ScreenResult: `make_result()`, or `make_result(run_id=..., field=...)`."""
    return build_result
