"""Publish a screening result as the analysts' DuckDB cohort database, atomically.

Publishing holds the database's lock (`pipeline.publish.lock`), so runs publishing to one file
take turns and none loses another's row of `audit.runs`. The whole database is built in a new
file next to the published one (`.<name>.building-<attempt_id>`, with the published file's mode,
or 0600 for a first publish),
written with DuckDB storage compatibility v1.4.0 so that analysts' DuckDB 1.4+ clients can open
it: the `cohort` tables of this run, the `audit` history carried over from the published file
(opened read-only, so an analyst holding it open never blocks us) plus this run's rows, and a
comment on every table and column (`sql/comments.toml`). The new file is checkpointed, closed and
moved onto the published path with `os.replace`: readers keep the snapshot they opened, and a run
that fails or is killed at any point leaves the published database exactly as it was. Every
statement lives in `sql/`, one per file. Refused runs waiting in the run journal
(`pipeline.publish.journal`) are carried into `audit.runs` by the publish that follows them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipeline.errors import PublishError
from pipeline.publish import changes, journal, ledger
from pipeline.publish.lock import (
    DEFAULT_LOCK_TIMEOUT_SECONDS,
    building_path,
    database_lock,
    database_mode,
    describe_os_error,
    new_attempt_id,
)
from pipeline.publish.sql import load_comments, load_sql
from pipeline.result import EXACT, ScreenResult
from pipeline.validate.report import ValidationReport, validate_cohort

log = logging.getLogger(__name__)

# Analysts open the database with DuckDB 1.4+ clients (the duckdb-cli on PyPI is 1.5.x); files in
# DuckDB 2.0's own storage format cannot be read by them.
STORAGE_COMPATIBILITY_VERSION = "v1.4.0"

OUTCOME_PUBLISHED = "published"
SCHEMAS = ("cohort", "audit")

# The statements that build this run's tables from the registered frames, in order, and whether
# each takes the run_id as a parameter (DuckDB refuses parameters a statement does not use).
RUN_TABLES = (
    ("cohort/screening", False),
    ("cohort/ig_results", False),
    ("cohort/exclusions", False),
    ("cohort/attrition", True),
    ("cohort/omop_cohort", False),
    ("cohort/panels", False),
    ("cohort/persistence", False),
    ("audit/quarantine", True),
)
HISTORY_TABLES = ("audit/runs", "audit/row_counts", "audit/ignored", "audit/validation")

# The criteria the run's rules applied (rules.applied_criteria), as one nested value.
CRITERIA_TYPE = pl.Struct(
    {
        "min_age_years": pl.Int64(),
        "complete_below_mg_dl": pl.Float64(),
        "panel_window_days": pl.Int64(),
        "repeat_low_min_days": pl.Int64(),
        "exposure_days_without_end": pl.Int64(),
        "implausible_above_mg_dl": pl.Float64(),
        "windows": pl.List(
            pl.Struct(
                {
                    "cause": pl.String(),
                    "category": pl.String(),
                    "days_before_index": pl.Int64(),
                    "days_after_index": pl.Int64(),
                }
            )
        ),
        "reference_intervals": pl.List(
            pl.Struct(
                {
                    "analyte": pl.String(),
                    "age_from_months": pl.Int64(),
                    "age_to_months": pl.Int64(),
                    "lower_mg_dl": EXACT,
                    "upper_mg_dl": EXACT,
                }
            )
        ),
    }
)

RUN_SCHEMA = pl.Schema(
    {
        "run_id": pl.String(),
        "started_at": pl.Datetime("us"),
        "finished_at": pl.Datetime("us"),
        "duration_seconds": pl.Float64(),
        "outcome": pl.String(),
        "source_format": pl.String(),
        "extract_dir": pl.String(),
        "inputs": pl.List(
            pl.Struct(
                {
                    "table": pl.String(),
                    "path": pl.String(),
                    "sha256": pl.String(),
                    "bytes": pl.Int64(),
                }
            )
        ),
        "row_counts": pl.List(
            pl.Struct(
                {
                    "table_name": pl.String(),
                    "read": pl.Int64(),
                    "used": pl.Int64(),
                    "quarantined": pl.Int64(),
                    "ignored": pl.Int64(),
                }
            )
        ),
        "rules_version": pl.String(),
        "rules_sha256": pl.String(),
        "mapping_sha256": pl.String(),
        "code_version": pl.String(),
        "timings": pl.List(pl.Struct({"step": pl.String(), "seconds": pl.Float64()})),
        "n_patients": pl.Int64(),
        "status_counts": pl.List(pl.Struct({"status": pl.String(), "patients": pl.Int64()})),
        "attempt_id": pl.String(),
        "exit_code": pl.Int32(),
        "reason": pl.String(),
        "criteria": CRITERIA_TYPE,
    }
)
REFUSED_COLUMNS = (
    "attempt_id",
    "started_at",
    "finished_at",
    "duration_seconds",
    "outcome",
    "source_format",
    "extract_dir",
    "code_version",
    "exit_code",
    "reason",
)


def publish(
    result: ScreenResult,
    db_path: str | Path,
    *,
    validation: ValidationReport | None = None,
    finished_at: datetime | None = None,
    attempt_id: str | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
) -> int:
    """Write `result` as the cohort database at `db_path` and return the new run_number.

    The cohort is checked first (`validation`, or the output checks run here): a failing check
    raises `ValidationFailed` and nothing is written. The database's lock is held from reading
    the published history to the replace (`LockTimeout` after `lock_timeout` seconds). On any
    other failure the file at `db_path` is left untouched, the building file is removed and a
    one-line `PublishError` is raised.
    """
    if validation is None:  # the polars output checks; the CLI and the DAG add the GX suites
        validation = validate_cohort(result, suites=False)
    validation.raise_if_failed()
    target = Path(db_path)
    check_publishable(target)  # before the lock: leave nothing beside a file that is not ours
    attempt_id = attempt_id or new_attempt_id()
    with database_lock(target, lock_timeout):
        run_number = _publish_locked(result, target, validation, finished_at, attempt_id)
        journal.clear(target)  # its runs are in audit.runs now
    _sync_directory(target.parent)
    log.info("published run %d to %s", run_number, target)
    if catalog_name(target) in SCHEMAS:
        log.warning(
            "%s opens as a DuckDB catalog that clashes with the schema of the same name; "
            "prefer another file name (see docs/database.md)",
            target.name,
        )
    return run_number


def _publish_locked(
    result: ScreenResult,
    target: Path,
    validation: ValidationReport,
    finished_at: datetime | None,
    attempt_id: str,
) -> int:
    """Build the new database aside and move it onto `target` (the lock is held)."""
    building = building_path(target, attempt_id)
    step = "preparing the folder"
    published = False
    try:
        _remove_building(building)
        step = "creating the new database"
        with _private_files():
            con = duckdb.connect()
            try:
                con.execute(
                    load_sql("building/attach"),
                    {"path": str(building), "storage_version": STORAGE_COMPATIBILITY_VERSION},
                )
                con.execute(load_sql("building/use"))
                _register_frames(con, result)
                step = "creating the tables"
                _create_tables(con)
                step = "building the cohort tables"
                _build_cohort(con, result)
                step = "reading the run history of the published database"
                _copy_history(con, target)
                step = "recording the refused runs of the run journal"
                _append_refused(con, journal.pending(target))
                step = "recording this run"
                finished = finished_at or datetime.now(UTC)
                run_number = _append_run(con, result, finished, validation, attempt_id)
                step = "comparing the cohort with the previous one"
                changes.record(con, target, result.run_id, run_number)
                step = "recording the deliveries"
                inputs = [(f.table, f.path, f.sha256) for f in result.inputs]
                ledger.build_table(con, target, result.run_id, inputs, finished)
                step = "writing the comments"
                _write_comments(con)
                step = "checkpointing the new database"
                con.execute(load_sql("building/checkpoint"))
            finally:
                con.close()
        step = "replacing the published database"
        os.chmod(building, database_mode(target))
        os.replace(building, target)
        published = True
    except PublishError:
        raise
    except Exception as exc:
        reason = describe_os_error(exc) if isinstance(exc, OSError) else type(exc).__name__
        raise PublishError(
            f"could not publish the cohort database while {step} ({reason}); "
            "the published database is unchanged",
            file=str(target),
        ) from exc
    finally:
        if not published:
            _remove_building(building)
    return int(run_number)


@contextlib.contextmanager
def _private_files() -> Iterator[None]:
    """Create the building file, its write-ahead log and spill folder readable by us only;
    the finished file then gets the published database's mode (`database_mode`)."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def check_publishable(db_path: str | Path) -> None:
    """Refuse, before any work, a `--db` that exists and is not a sigmd cohort database."""
    target = Path(db_path)
    if not target.exists():
        return
    if not target.is_file():
        raise PublishError("is not a file; refusing to replace it", file=str(target))
    try:
        with duckdb.connect(str(target), read_only=True) as con:
            [(has_runs,)] = con.execute(
                "select count(*) > 0 from duckdb_tables() "
                "where schema_name = 'audit' and table_name = 'runs'"
            ).fetchall()
    except duckdb.Error:
        raise PublishError(
            "exists but is not a DuckDB database (or not one this version can read); "
            "refusing to replace it",
            file=str(target),
        ) from None
    if not has_runs:
        raise PublishError(
            "exists but is not a sigmd cohort database (it has no audit.runs); "
            "refusing to replace it",
            file=str(target),
        )


def catalog_name(db_path: Path) -> str:
    """The name DuckDB gives a database file it opens: the file name up to its first dot."""
    return db_path.name.lstrip(".").split(".")[0].lower()


def _register_frames(con: duckdb.DuckDBPyConnection, result: ScreenResult) -> None:
    con.register("screening_frame", result.screening)
    con.register("ig_results_frame", result.ig_results)
    con.register("exclusions_frame", result.exclusions)
    con.register("attrition_frame", result.attrition)
    con.register("quarantine_frame", result.quarantine)
    con.register("row_counts_frame", result.row_counts)
    con.register("ignored_frame", result.ignored_reasons)
    con.register("panels_frame", result.panels)
    con.register("persistence_frame", result.persistence)


def _create_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(load_sql("cohort/schema"))
    con.execute(load_sql("audit/schema"))
    for table in HISTORY_TABLES:
        con.execute(load_sql(table))


def _build_cohort(con: duckdb.DuckDBPyConnection, result: ScreenResult) -> None:
    for name, takes_run_id in RUN_TABLES:
        con.execute(load_sql(name), {"run_id": result.run_id} if takes_run_id else None)


def _copy_history(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    """Carry every earlier run over from the published database, opened read-only."""
    if not target.exists():
        return
    con.execute(load_sql("previous/attach"), {"path": str(target)})
    try:
        [(has_run_history,)] = con.execute(load_sql("previous/has_run_history")).fetchall()
        if not has_run_history:
            raise PublishError(
                "exists but is not a sigmd cohort database (it has no audit.runs); "
                "refusing to replace it",
                file=str(target),
            )
        for table in HISTORY_TABLES:
            schema_name, table_name = table.split("/")
            params = {"schema_name": schema_name, "table_name": table_name}
            [(has_table,)] = con.execute(load_sql("previous/has_table"), params).fetchall()
            if has_table:  # a database published by an older version may lack a newer table
                con.execute(load_sql(f"{table}_history"))
    finally:
        con.execute(load_sql("previous/detach"))


def _append_run(
    con: duckdb.DuckDBPyConnection,
    result: ScreenResult,
    finished_at: datetime,
    validation: ValidationReport,
    attempt_id: str,
) -> int:
    [(run_number,)] = con.execute(load_sql("audit/next_run_number")).fetchall()
    con.register("run_frame", _run_frame(result, finished_at, attempt_id))
    con.execute(load_sql("audit/runs_append"), {"run_number": run_number})
    params = {"run_number": run_number, "run_id": result.run_id}
    con.execute(load_sql("audit/row_counts_append"), params)
    con.execute(load_sql("audit/ignored_append"), params)
    con.register("validation_frame", validation.frame())
    con.execute(load_sql("audit/validation_append"), params)
    return int(run_number)


def _append_refused(con: duckdb.DuckDBPyConnection, entries: list[dict[str, Any]]) -> None:
    """Carry the refused runs of the run journal into audit.runs, before this run."""
    if not entries:
        return
    rows = [
        {
            **{column: entry.get(column) for column in REFUSED_COLUMNS},
            "started_at": _parse_time(entry.get("started_at")),
            "finished_at": _parse_time(entry.get("finished_at")),
            "outcome": journal.OUTCOME_REFUSED,
        }
        for entry in entries
    ]
    schema = {column: RUN_SCHEMA[column] for column in REFUSED_COLUMNS}
    con.register("refused_frame", pl.DataFrame(rows, schema=schema))
    con.execute(load_sql("audit/runs_append_refused"))


def _parse_time(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


def _run_frame(result: ScreenResult, finished_at: datetime, attempt_id: str) -> pl.DataFrame:
    """This run's one row of audit.runs (without run_number), with its nested lists."""
    started, finished = _as_utc(result.started_at), _as_utc(finished_at)
    row_counts = result.row_counts.select(
        "table_name", "read", "used", "quarantined", "ignored"
    ).sort("table_name")
    row = {
        "run_id": result.run_id,
        "started_at": started,
        "finished_at": finished,
        "duration_seconds": (finished - started).total_seconds(),
        "outcome": OUTCOME_PUBLISHED,
        "source_format": result.source_format,
        "extract_dir": result.extract_dir,
        "inputs": [
            {"table": f.table, "path": f.path, "sha256": f.sha256, "bytes": f.bytes}
            for f in result.inputs
        ],
        "row_counts": row_counts.to_dicts(),
        "rules_version": result.rules_version,
        "rules_sha256": result.rules_sha256,
        "mapping_sha256": result.mapping_sha256,
        "code_version": result.code_version,
        "timings": [{"step": k, "seconds": float(v)} for k, v in result.timings.items()],
        "n_patients": result.screening.height,
        "status_counts": [{"status": s, "patients": n} for s, n in result.status_counts().items()],
        "attempt_id": attempt_id,
        "exit_code": 0,
        "reason": None,
        "criteria": result.criteria,
    }
    return pl.DataFrame([row], schema=RUN_SCHEMA)


def _as_utc(moment: datetime) -> datetime:
    """A naive UTC datetime (audit timestamps are UTC); a naive input is taken as local time."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def _write_comments(con: duckdb.DuckDBPyConnection) -> None:
    # DuckDB's COMMENT ON takes only a string literal (a bound parameter is a syntax error), so
    # these statements are written here from our own fixed texts, quoted as SQL literals.
    for schema, tables in load_comments().items():
        for table, comments in tables.items():
            relation = f"{_identifier(schema)}.{_identifier(table)}"
            con.execute(f"comment on table {relation} is {_literal(comments['table'])}")
            for column, text in comments["columns"].items():
                column_name = f"{relation}.{_identifier(column)}"
                con.execute(f"comment on column {column_name} is {_literal(text)}")
    uncommented = con.execute(load_sql("checks/uncommented")).fetchall()
    if uncommented:
        names = ", ".join(".".join(part for part in row if part) for row in uncommented)
        raise PublishError(f"no comment in sql/comments.toml for: {names}")


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _remove_building(building: Path) -> None:
    """Remove a building file and what DuckDB keeps beside it (write-ahead log, spill folder)."""
    for leftover in (building, building.with_name(building.name + ".wal")):
        with contextlib.suppress(OSError):  # never hide the error that stopped the build
            leftover.unlink(missing_ok=True)
    shutil.rmtree(building.with_name(building.name + ".tmp"), ignore_errors=True)


def _sync_directory(directory: Path) -> None:
    """Make the rename durable; best effort (the publication itself has already succeeded)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
