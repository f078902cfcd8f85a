"""The one-line account of a run's checks that the DAG logs (`stages.describe_checks`)."""

from __future__ import annotations

from pipeline.run.stages import describe_checks
from pipeline.validate.check import Check


def test_the_summary_says_what_it_counts():
    checks = [
        Check("extract", "required_tables_present", None, "table", True, 0),
        Check("extract", "labs:unparseable_value", "value", "row", False, 3),
        Check("extract", "labs:unknown_unit", "unit", "row", True, 0),
        Check("extract", "values_in_set", "test_code", "table", True, engine="great_expectations"),
        Check("cohort", "one_row_per_patient", "patient_id", "table", True, 0),
    ]
    assert describe_checks(checks) == (
        "5 checks (4 on extract, 1 on cohort; 1 by Great Expectations): "
        "all 3 table-level checks held; 1 of 2 row-level checks sent rows to quarantine"
    )
