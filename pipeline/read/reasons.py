"""Every quarantine reason code, per table, with the column it concerns, in check order.

The row checks in `normalize.py` assign these codes; each becomes a row-level check in the run's
validation report (`audit.validation`), and docs/input.md and docs/validation.md list them. A
test keeps the three in step.
"""

from __future__ import annotations

PATIENT_ROW_REASONS = (
    ("missing_patient_id", "patient_id"),
    ("unknown_patient", "patient_id"),
    ("patient_without_birth_data", "patient_id"),
    ("patient_conflicting_birth_data", "patient_id"),
)

REASONS: tuple[tuple[str, str, str], ...] = (
    ("labs", "missing_test_code", "test_code"),
    *(("labs", r, c) for r, c in PATIENT_ROW_REASONS),
    ("labs", "invalid_date", "collected_date"),
    ("labs", "date_out_of_range", "collected_date"),
    ("labs", "date_before_birth", "collected_date"),
    ("labs", "unparseable_value", "value"),
    ("labs", "negative_value", "value"),
    ("labs", "unknown_unit", "unit"),
    ("labs", "implausible_value", "value"),
    ("patients", "missing_patient_id", "patient_id"),
    ("patients", "conflicting_birth_data", "birth_date"),
    ("patients", "birth_date_out_of_range", "birth_date"),
    ("patients", "no_birth_data", "birth_date"),
    *(("medications", r, c) for r, c in PATIENT_ROW_REASONS),
    ("medications", "missing_drug", "drug_name"),
    ("medications", "invalid_start_date", "start_date"),
    ("medications", "start_date_out_of_range", "start_date"),
    ("medications", "invalid_end_date", "end_date"),
    ("medications", "end_date_out_of_range", "end_date"),
    ("medications", "end_before_start", "end_date"),
    *(("diagnoses", r, c) for r, c in PATIENT_ROW_REASONS),
    ("diagnoses", "missing_code", "code"),
    ("diagnoses", "unknown_code_system", "code_system"),
    ("diagnoses", "invalid_date", "diagnosis_date"),
    ("diagnoses", "date_out_of_range", "diagnosis_date"),
)
