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
    check_cohort  -> work_dir/validation.json: the output checks, raises if any fails; the Data
                     Docs (the suites' results are saved in work_dir/gx-results meanwhile)
    publish       -> the cohort database, replaced atomically under the database's lock

With patient buckets (SPEC §6), `normalise` and `screen` are replaced by:

    partition        -> work_dir/partition: the extract as bucket=K/ Parquet (refusals here)
    screen_bucket    -> work_dir/buckets/bucket=K: one bucket screened (mapped over buckets)
    merge_and_check  -> work_dir/screened and validation.json, as `screen` + `check_cohort`

Writes beside the database (Data Docs, the run journal of refused runs, the database itself)
each take the database's lock (`pipeline.publish.lock`), so a DAG run and a `sigmd run` on the
same file take turns.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.validate.check import Check

NORMALISED = "normalised"
SCREENED = "screened"
VALIDATION = "validation.json"
GX_RESULTS = "gx-results"
PARTITION = "partition"


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
    """Read and validate the extract; write the hand-off for `screen`. With `db_path`, a
    refusal is recorded in that database's run journal and shown in its Data Docs."""
    from pipeline.run import handoff
    from pipeline.run.engine import normalise_extract

    with _recording_refusals(db_path, extract_dir, source_format, work_dir):
        normalised = normalise_extract(
            extract_dir,
            source_format=source_format,
            rules_dir=rules_dir,
            mapping=mapping,
            results_dir=Path(work_dir) / GX_RESULTS,
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
    """Run the output checks and publish the Data Docs next to the database (under its lock);
    raise ValidationFailed (nothing published, recorded in the run journal) if any fails."""
    from pipeline.result import ScreenResult
    from pipeline.rules import load_rules
    from pipeline.run import handoff
    from pipeline.validate.report import validate_cohort

    result = handoff.load(ScreenResult, Path(work_dir) / SCREENED)
    results_dir = Path(work_dir) / GX_RESULTS
    report = validate_cohort(result, rules=load_rules(rules_dir), results_dir=results_dir)
    target = Path(work_dir) / VALIDATION
    staging = target.with_name(f".{target.name}.writing")
    staging.write_text(json.dumps(report.to_dict()))
    staging.replace(target)  # atomic: a killed task never leaves a half-written report
    docs_path = publish_docs(work_dir, db_path)
    with _recording_refusals(db_path, result.extract_dir, result.source_format, work_dir):
        report.raise_if_failed()
    return {
        "run_id": result.run_id,
        "checks": len(report.checks),
        "success": report.success,
        "summary": describe_checks(report.checks),
        "docs_path": docs_path,
    }


def describe_checks(checks: list[Check]) -> str:
    """The checks of a run that passed them, in one line of counts: per stage, how many were
    Great Expectations expectations, and how many row-level checks sent rows to quarantine."""
    stages: dict[str, int] = {}
    for check in checks:
        stages[check.stage] = stages.get(check.stage, 0) + 1
    per_stage = ", ".join(f"{n} on {stage}" for stage, n in stages.items())
    gx = sum(c.engine == "great_expectations" for c in checks)
    tables = sum(c.level == "table" for c in checks)
    rows = len(checks) - tables
    quarantining = sum(not c.success and c.level == "row" for c in checks)
    return (
        f"{len(checks)} checks ({per_stage}; {gx} by Great Expectations): "
        f"all {tables} table-level checks held; "
        f"{quarantining} of {rows} row-level checks sent rows to quarantine"
    )


def publish_docs(work_dir: str, db_path: str) -> str | None:
    """Publish the Data Docs of the suites run so far, under the database's lock."""
    from pipeline.publish.lock import database_lock
    from pipeline.validate.docs import publish_data_docs
    from pipeline.validate.report import docs_dir_for

    with database_lock(Path(db_path)):
        index = publish_data_docs(
            Path(work_dir) / GX_RESULTS, docs_dir_for(db_path), attempt_id=_attempt_id(work_dir)
        )
    return str(index) if index else None


@contextmanager
def _recording_refusals(
    db_path: str | None, extract_dir: str, source_format: str, work_dir: str
) -> Iterator[None]:
    """Record a refusal in the database's run journal (and the Data Docs of a failed suite)."""
    from pipeline.errors import ExtractRefused, SigmdError
    from pipeline.publish.journal import Attempt, recording_refusals
    from pipeline.run.engine import code_version

    if db_path is None:
        yield
        return
    attempt = Attempt(
        _attempt_id(work_dir), datetime.now(UTC), extract_dir, source_format, code_version()
    )
    with recording_refusals(db_path, attempt):
        try:
            yield
        except ExtractRefused:
            with suppress(SigmdError):  # the refusal is what the user must see
                publish_docs(work_dir, db_path)
            raise


def _attempt_id(work_dir: str) -> str:
    """One id per DAG run attempt, kept in its work folder (names its files, its audit row)."""
    from pipeline.publish.lock import new_attempt_id

    path = Path(work_dir) / "attempt_id"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".attempt_id.{new_attempt_id()}")
        staging.write_text(new_attempt_id())
        staging.replace(path)
    return path.read_text().strip()


def publish(work_dir: str, db_path: str) -> dict[str, Any]:
    """Publish the screened, validated cohort; the database is replaced atomically."""
    from pipeline.publish import changes
    from pipeline.publish.lock import new_attempt_id
    from pipeline.publish.publish import publish as publish_result
    from pipeline.result import ScreenResult
    from pipeline.run import handoff
    from pipeline.validate.report import ValidationReport

    result = handoff.load(ScreenResult, Path(work_dir) / SCREENED)
    report = ValidationReport.from_dict(json.loads((Path(work_dir) / VALIDATION).read_text()))
    report.raise_if_failed()
    run_number = publish_result(result, db_path, validation=report, attempt_id=new_attempt_id())
    return {
        "run_id": result.run_id,
        "run_number": run_number,
        "db_path": str(db_path),
        "changes": changes.summary(db_path),  # counts only: for the asset event
    }


def partition(
    extract_dir: str,
    work_dir: str,
    buckets: int,
    source_format: str = "canonical",
    *,
    db_path: str | None = None,
) -> list[dict[str, Any]]:
    """Split the extract into patient buckets; one small dict (bucket, folder) per bucket.
    With `db_path`, a refusal is recorded in that database's run journal."""
    from pipeline.read.buckets import partition_extract

    with _recording_refusals(db_path, extract_dir, source_format, work_dir):
        done = partition_extract(extract_dir, Path(work_dir) / PARTITION, buckets, source_format)
    return [{"bucket": k, "path": str(done.bucket_dir(k))} for k in range(done.buckets)]


def screen_bucket(
    work_dir: str, bucket: int, *, rules_dir: str | None = None, mapping: str | None = None
) -> dict[str, Any]:
    """Screen one bucket into its own folder (replaced whole: a retry redoes only this one)."""
    from pipeline.read.buckets import Partition
    from pipeline.rules import load_rules
    from pipeline.run import merge

    done = Partition.load(Path(work_dir) / PARTITION)
    out = merge.screen_bucket(
        done,
        bucket,
        merge.bucket_output(work_dir, bucket),
        rules=load_rules(rules_dir),
        mapping=mapping,
    )
    return {"bucket": bucket, "path": str(out)}


def merge_and_check(
    work_dir: str, db_path: str, bucket_dirs: list[str], *, rules_dir: str | None = None
) -> dict[str, Any]:
    """Merge the screened buckets (the checks of the whole extract made here, once), then run
    the output checks as `check_cohort`; raises if any fails (nothing published)."""
    from pipeline.read.buckets import Partition
    from pipeline.rules import load_rules
    from pipeline.run import handoff, merge

    done = Partition.load(Path(work_dir) / PARTITION)
    dirs = sorted((Path(d) for d in bucket_dirs), key=lambda d: int(d.name.split("=")[1]))
    if len(dirs) != done.buckets:
        raise ValueError(f"{len(dirs)} screened buckets for a partition of {done.buckets}")
    with _recording_refusals(db_path, done.extract_dir, done.source_format, work_dir):
        result = merge.merge_buckets(
            done, dirs, load_rules(rules_dir), results_dir=Path(work_dir) / GX_RESULTS
        )
    handoff.save(result, Path(work_dir) / SCREENED)
    status_counts = result.status_counts()
    del result  # check_cohort reads the hand-off back: one copy of the cohort at a time
    checked = check_cohort(work_dir, db_path, rules_dir=rules_dir)
    return {**checked, "status_counts": status_counts}
