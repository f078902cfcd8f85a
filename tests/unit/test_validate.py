"""Validation: the output checks, the GX suites, the reports, and what they never show."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline.errors import ExtractRefused, ValidationFailed
from pipeline.publish.publish import publish
from pipeline.read.reasons import REASONS
from pipeline.result import Normalised, ScreenResult
from pipeline.run import handoff
from pipeline.validate.checks import cohort_checks
from pipeline.validate.docs import docs_index
from pipeline.validate.report import (
    Check,
    ValidationReport,
    docs_dir_for,
    row_checks,
    validate_cohort,
)
from pipeline.validate.suites import load_suite, run_suite

REPO = Path(__file__).parents[2]
BASE = REPO / "tests" / "fixtures" / "broken" / "_base"


def failing(checks: list[Check]) -> set[str]:
    return {c.name for c in checks if not c.success}


# --- the polars output checks ------------------------------------------------------------------


def test_a_consistent_cohort_passes_every_output_check(make_result):
    assert failing(cohort_checks(make_result())) == set()


@pytest.mark.parametrize(
    ("change", "check"),
    [
        (pl.col("status").replace({"igm_not_low": "low_ish"}), "status_in_allowed_set"),
        (pl.col("index_date").replace({date(2021, 3, 1): None}), "index_date_iff_isolated_panel"),
        (pl.col("severity").replace({"partial": None}), "severity_iff_low_igm"),
        (pl.col("patient_id").replace({"p2": "p1"}), "one_row_per_patient"),
        (pl.col("run_id").replace({"run-0123456789abcdef": "other"}), "run_id_of_this_run"),
    ],
)
def test_each_inconsistency_fails_its_output_check(make_result, change, check):
    result = make_result()
    column = change.meta.output_name()
    result.screening = result.screening.with_columns(change.alias(column))
    assert check in failing(cohort_checks(result))


def test_attrition_that_does_not_add_up_fails(make_result):
    result = make_result()
    result.attrition = result.attrition.with_columns(
        pl.when(pl.col("step") == 3)
        .then(pl.col("removed") + 1)
        .otherwise("removed")
        .alias("removed")
    )
    assert failing(cohort_checks(result)) == {"attrition_adds_up"}


def test_a_failed_output_check_aborts_the_publish_and_keeps_the_database(make_result, tmp_path):
    db = tmp_path / "sigmd.duckdb"
    publish(make_result(), db)
    before = db.read_bytes()
    broken = make_result()
    broken.screening = broken.screening.with_columns(pl.lit("maybe").alias("status"))
    with pytest.raises(ValidationFailed, match="output check 'status_in_allowed_set' failed"):
        publish(broken, db)
    assert db.read_bytes() == before
    assert not list(tmp_path.glob(".*building*"))


# --- row checks and the report ---------------------------------------------------------------


def test_row_checks_count_each_reason_and_check_the_accounting():
    quarantine = pl.DataFrame(
        {
            "table_name": ["labs", "labs", "diagnoses"],
            "reason": ["unknown_unit"] * 2 + ["missing_code"],
        }
    )
    counts = pl.DataFrame(
        {"table_name": ["labs"], "read": [10], "used": [7], "quarantined": [2], "ignored": [1]}
    )
    checks = {c.name: c for c in row_checks(quarantine, counts)}
    assert checks["labs:unknown_unit"].unexpected == 2
    assert not checks["labs:unknown_unit"].success
    assert checks["labs:unknown_unit"].level == "row"
    assert checks["diagnoses:missing_code"].unexpected == 1
    assert checks["labs:unparseable_value"].success
    assert checks["rows_read_equal_used_quarantined_ignored"].success
    unbalanced = counts.with_columns(pl.lit(11).alias("read"))
    assert failing(row_checks(quarantine, unbalanced)) >= {
        "rows_read_equal_used_quarantined_ignored"
    }


def test_an_undocumented_reason_code_is_a_table_level_failure():
    quarantine = pl.DataFrame({"table_name": ["labs"], "reason": ["mystery"]})
    counts = pl.DataFrame(
        {"table_name": ["labs"], "read": [1], "used": [0], "quarantined": [1], "ignored": [0]}
    )
    report = ValidationReport(row_checks(quarantine, counts))
    assert not report.success
    with pytest.raises(ExtractRefused, match="reason_codes_documented"):
        report.raise_if_failed(refusal=True)


def test_row_level_failures_do_not_fail_the_report():
    report = ValidationReport([Check("extract", "labs:unknown_unit", "unit", "row", False, 3)])
    assert report.success
    report.raise_if_failed()


def test_report_round_trips_through_json():
    report = ValidationReport(
        [Check("cohort", "x", None, "table", True, 0, "great_expectations")], "/d/index.html"
    )
    assert ValidationReport.from_dict(report.to_dict()) == report


def test_every_reason_code_is_assigned_documented_and_listed():
    normalize = (REPO / "pipeline" / "read" / "normalize.py").read_text()
    # Reasons are the second element of each (condition, reason) check tuple.
    assigned = set(re.findall(r",\s*\"([a-z_]+)\",?\s*\)", normalize))
    listed = {reason for _, reason, _ in REASONS}
    columns = {
        "state",
        "_code",
        "_file",
        "_row",
        "_reason",
        "_birth",
        "_dup",
        "_system",
        "_loinc",
        "_class",
        "rows",
    }
    assert assigned - columns == listed
    input_doc = (REPO / "docs" / "input.md").read_text()
    validation_doc = (REPO / "docs" / "validation.md").read_text()
    for reason in listed:
        assert f"`{reason}`" in input_doc, reason
        assert f"`{reason}`" in validation_doc, reason


# --- the Great Expectations suites -------------------------------------------------------------


def test_suites_are_versioned_json_one_per_stage():
    for stage in ("extract", "ig_results", "cohort"):
        suite = load_suite(stage)
        assert suite["meta"]["stage"] == stage
        assert suite["meta"]["version"]
        for expectation in suite["expectations"]:
            assert expectation["meta"]["check"]
            assert expectation["meta"]["level"] == "table"


def test_suite_failure_is_reported_per_expectation_without_values():
    frame = pl.DataFrame(
        {
            "patient_id": ["p1"],
            "collected_date": ["2020"],
            "test_code": ["x"],
            "value": ["1"],
            "unit": ["u"],
            "analyte": ["igq"],
        }
    )
    checks = run_suite("extract", frame, {"analytes": ["igm", "igg", "iga"]}, run_name="t")
    assert failing(checks) == {"analyte_is_igm_igg_or_iga", "labs_has_igm_rows"}
    assert all(c.engine == "great_expectations" and c.unexpected is None for c in checks)


def ig_results_frame(value: str, lower: str, upper: str, age_months: int) -> pl.DataFrame:
    from decimal import Decimal

    from pipeline.result import IG_RESULTS_SCHEMA

    row = dict.fromkeys(IG_RESULTS_SCHEMA.names())
    row |= {
        "patient_id": "p1",
        "analyte": "igm",
        "collected_date": date(2020, 1, 10),
        "age_months": age_months,
        "value_mg_dl": Decimal(value),
        "lower_mg_dl": Decimal(lower),
        "upper_mg_dl": Decimal(upper),
        "limits_source": "table",
        "source_file": "labs.csv",
        "source_row": 2,
    }
    return pl.DataFrame([row], schema=IG_RESULTS_SCHEMA)


@pytest.mark.parametrize(
    ("value", "lower", "upper", "age", "failed"),
    [
        ("15000", "37", "286", 48, set()),
        ("15000.000001", "37", "286", 48, {"value_plausible"}),
        ("-0.000001", "37", "286", 48, {"value_plausible"}),
        ("25", "286.000000000001", "286.000000000001", 48, {"limits_ordered"}),
        ("25", "286", "286.000000000001", 48, set()),
        ("25", "37", "286", -1, {"age_not_negative"}),
    ],
)
def test_ig_results_suite_judges_exact_decimals_and_narrow_integers(
    value, lower, upper, age, failed
):
    # GX sees decimals as float64 and Int32 as int64 (vectorised); the suite's verdicts stand.
    parameters = {
        "analytes": ["igm", "igg", "iga"],
        "implausible_above_mg_dl": 15000,
        "ig_results_columns": list(ig_results_frame(value, lower, upper, age).columns),
    }
    frame = ig_results_frame(value, lower, upper, age)
    checks = run_suite("ig_results", frame, parameters, run_name="t")
    assert failing(checks) == failed


def test_gx_gets_vectorisable_dtypes():
    from pipeline.validate.suites import pandas_frame

    frame = ig_results_frame("25", "37", "286", 48)
    converted = pandas_frame(frame)
    assert str(converted["value_mg_dl"].dtype) == "float64"
    assert str(converted["age_months"].dtype) == "int64"
    assert converted["value_mg_dl"].tolist() == [25.0]


def test_cli_run_validates_every_stage_and_stores_the_checks(tmp_path):
    from pipeline.cli import main

    db = tmp_path / "out" / "sigmd.duckdb"
    assert main(["run", "--extract", str(BASE), "--db", str(db)]) == 0
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.sql(
            "select stage, engine, count(*), bool_and(success) from audit.validation "
            "where level = 'table' group by all order by all"
        ).fetchall()
    assert rows == [
        ("cohort", "great_expectations", len(load_suite("cohort")["expectations"]), True),
        ("cohort", "polars", 7, True),
        ("extract", "great_expectations", len(load_suite("extract")["expectations"]), True),
        ("extract", "polars", 7, True),
        ("ig_results", "great_expectations", len(load_suite("ig_results")["expectations"]), True),
    ]
    assert docs_index(docs_dir_for(db)).is_file()


def test_data_docs_and_stored_results_never_show_patient_values(tmp_path):
    """A run with distinctive values that fail checks: no value may reach the reports."""
    from pipeline.cli import main

    extract = tmp_path / "extract"
    shutil.copytree(BASE, extract)
    secret_unit, secret_value, secret_date = "zorkmid/L", "987654.321", "2020-02-29"
    with (extract / "patients.csv").open("a") as fh:
        fh.write("pzq91,1970-02-02,F\n")
    with (extract / "labs.csv").open("a") as fh:
        fh.write(f"pzq91,{secret_date},2472-9,LOINC,{secret_value},{secret_unit},,,s9\n")
        fh.write(f"pzq91,{secret_date},2472-9,LOINC,QNSXYZ,mg/dL,,,s9\n")
        fh.write("pzq91,2020-03-03,2472-9,LOINC,12.345,mg/dL,,,s8\n")
    db = tmp_path / "sigmd.duckdb"
    assert main(["run", "--extract", str(extract), "--db", str(db)]) == 0
    docs = docs_dir_for(db)
    texts = [p.read_text() for p in docs.rglob("*") if p.suffix in {".html", ".json", ".yml"}]
    assert len(texts) > 5
    for text in texts:
        for secret in (secret_unit, secret_value, "QNSXYZ", secret_date, "pzq91", "12.345"):
            assert secret not in text


def test_a_failing_cohort_suite_aborts_the_publish(make_result, tmp_path):
    result = make_result()
    result.screening = result.screening.with_columns(pl.lit("F?").alias("sex"))
    report = validate_cohort(result, results_dir=None)
    assert "sex_f_m_or_u" in failing(report.checks)
    with pytest.raises(ValidationFailed, match="sex_f_m_or_u"):
        publish(result, tmp_path / "sigmd.duckdb", validation=report)
    assert not (tmp_path / "sigmd.duckdb").exists()


# --- the hand-off between stages ---------------------------------------------------------------


def test_handoff_round_trips_a_result(make_result, tmp_path):
    result = make_result()
    handoff.save(result, tmp_path / "screened")
    back = handoff.load(ScreenResult, tmp_path / "screened")
    assert back.run_id == result.run_id and back.inputs == result.inputs
    assert back.started_at == result.started_at
    assert back.screening.equals(result.screening)
    assert back.validation.schema == result.validation.schema
    with pytest.raises(ValueError, match="does not hold a Normalised"):
        handoff.load(Normalised, tmp_path / "screened")


@pytest.mark.parametrize(
    ("censor", "failed"),
    [
        (None, {"value_plausible"}),
        (">", {"value_plausible"}),
        (">=", {"value_plausible"}),
        ("<", set()),  # "<20000" says only "below": the row check keeps it, and so does the gate
        ("<=", set()),
    ],
)
def test_the_plausibility_gate_judges_the_rows_the_row_check_keeps(censor, failed):
    frame = ig_results_frame("20000", "37", "286", 48).with_columns(censor=pl.lit(censor))
    parameters = {
        "analytes": ["igm", "igg", "iga"],
        "implausible_above_mg_dl": 15000,
        "ig_results_columns": list(frame.columns),
    }
    checks = run_suite("ig_results", frame, parameters, run_name="t")
    assert failing(checks) == failed
