"""The run as separate stages that hand over files, for schedulers (the Airflow DAG).

`sigmd run` does the same work in one process (`engine.screen_extract`, `validate`, `publish`);
here each stage reads what the previous one wrote into a run-scoped work directory and writes
its own result there, so each can run in its own process or on another worker, be retried
alone, and be re-run with the same result. Every function takes and returns only small,
JSON-serialisable values (paths, counts, ids): nothing patient-level goes to the scheduler.

    discover      -> the input files, after the table-level checks on their headers
    check_file    -> one file read to its end (mapped over the files of a split extract)
    normalise     -> work_dir/normalised: used rows, quarantine, row counts
    screen        -> work_dir/screened: the cohort frames
    check_cohort  -> work_dir/validation.json: the output checks, raises if any fails
    publish       -> the cohort database, replaced atomically
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

NORMALISED = "normalised"
SCREENED = "screened"
VALIDATION = "validation.json"


def discover(extract_dir: str, source_format: str = "canonical") -> list[dict[str, Any]]:
    """The extract's input files (table, path, bytes); refuses a missing table or column."""
    from pipeline.read.sources import read_extract

    extract = read_extract(extract_dir, source_format)
    return [{"table": i.table, "path": i.path, "bytes": i.bytes} for i in extract.inputs]


def check_file(table: str, path: str) -> dict[str, Any]:
    """Read one input file to its end: a file cut short or corrupt refuses the extract."""
    from pipeline.read.sources.files import count_rows

    return {"table": table, "path": path, "rows": count_rows(Path(path))}


def normalise(
    extract_dir: str,
    work_dir: str,
    *,
    source_format: str = "canonical",
    rules_dir: str | None = None,
    mapping: str | None = None,
    db_path: str | None = None,
) -> dict[str, Any]:
    """Read and validate the extract; write the hand-off for `screen`. With `db_path`, the
    validation results and Data Docs go next to that database."""
    from pipeline.run import handoff
    from pipeline.run.engine import normalise_extract
    from pipeline.validate.report import docs_dir_for

    normalised = normalise_extract(
        extract_dir,
        source_format=source_format,
        rules_dir=rules_dir,
        mapping=mapping,
        docs_dir=docs_dir_for(db_path) if db_path else None,
    )
    handoff.save(normalised, Path(work_dir) / NORMALISED)
    return {"run_id": normalised.run_id, "row_counts": normalised.row_counts.to_dicts()}


def screen(work_dir: str, *, rules_dir: str | None = None) -> dict[str, Any]:
    """Screen the normalised extract; write the hand-off for `check_cohort` and `publish`."""
    from pipeline.result import Normalised
    from pipeline.rules import load_rules
    from pipeline.run import handoff
    from pipeline.run.engine import screen_normalised

    normalised = handoff.load(Normalised, Path(work_dir) / NORMALISED)
    result = screen_normalised(normalised, load_rules(rules_dir))
    handoff.save(result, Path(work_dir) / SCREENED)
    return {"run_id": result.run_id, "status_counts": result.status_counts()}


def check_cohort(work_dir: str, db_path: str, *, rules_dir: str | None = None) -> dict[str, Any]:
    """Run the output checks; raise ValidationFailed (nothing published) if any fails. The
    results and Data Docs go next to the database (`validate.docs_dir_for`)."""
    from pipeline.result import ScreenResult
    from pipeline.rules import load_rules
    from pipeline.run import handoff
    from pipeline.validate.report import docs_dir_for, validate_cohort

    result = handoff.load(ScreenResult, Path(work_dir) / SCREENED)
    report = validate_cohort(result, rules=load_rules(rules_dir), docs_dir=docs_dir_for(db_path))
    target = Path(work_dir) / VALIDATION
    staging = target.with_name(f".{target.name}.writing")
    staging.write_text(json.dumps(report.to_dict()))
    staging.replace(target)  # atomic: a killed task never leaves a half-written report
    report.raise_if_failed()
    return {"run_id": result.run_id, "checks": len(report.checks), "success": report.success}


def publish(work_dir: str, db_path: str) -> dict[str, Any]:
    """Publish the screened, validated cohort; the database is replaced atomically."""
    from pipeline.publish import changes
    from pipeline.publish.publish import publish as publish_result
    from pipeline.result import ScreenResult
    from pipeline.run import handoff
    from pipeline.validate.report import ValidationReport

    result = handoff.load(ScreenResult, Path(work_dir) / SCREENED)
    report = ValidationReport.from_dict(json.loads((Path(work_dir) / VALIDATION).read_text()))
    report.raise_if_failed()
    run_number = publish_result(result, db_path, validation=report)
    return {
        "run_id": result.run_id,
        "run_number": run_number,
        "db_path": str(db_path),
        "changes": changes.summary(db_path),  # counts only: for the asset event
    }
