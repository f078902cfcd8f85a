"""Publish a screening result as the analysts' DuckDB cohort database, atomically.

The whole database is built in a new file next to the published one (`.<name>.building-<pid>`),
written with DuckDB storage compatibility v1.4.0 so that analysts' DuckDB 1.4+ clients can open
it: the `cohort` tables of this run, the `audit` history carried over from the published file
(opened read-only, so an analyst holding it open never blocks us) plus this run's rows, and a
comment on every table and column (`sql/comments.toml`). The new file is checkpointed, closed and
moved onto the published path with `os.replace`: readers keep the snapshot they opened, and a run
that fails or is killed at any point leaves the published database exactly as it was. Every
statement lives in `sql/`, one per file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipeline.errors import PublishError
from pipeline.publish import changes, ledger
from pipeline.publish.sql import load_comments, load_sql
from pipeline.result import ScreenResult
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
    ("audit/quarantine", True),
)
HISTORY_TABLES = ("audit/runs", "audit/row_counts", "audit/ignored", "audit/validation")

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
    }
)


def publish(
    result: ScreenResult,
    db_path: str | Path,
    *,
    validation: ValidationReport | None = None,
    finished_at: datetime | None = None,
) -> int:
    """Write `result` as the cohort database at `db_path` and return the new run_number.

    The cohort is checked first (`validation`, or the output checks run here): a failing check
    raises `ValidationFailed` and nothing is written. On any other failure the file at `db_path`
    is left untouched, the building file is removed and a one-line `PublishError` is raised.
    """
    if validation is None:  # the polars output checks; the CLI and the DAG add the GX suites
        validation = validate_cohort(result, suites=False)
    validation.raise_if_failed()
    target = Path(db_path)
    building = building_path(target)
    step = "preparing the folder"
    published = False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_building(building)
        step = "creating the new database"
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
            step = "recording this run"
            finished_at = finished_at or datetime.now(UTC)
            run_number = _append_run(con, result, finished_at, validation)
            step = "comparing the cohort with the previous one"
            changes.record(con, target, result.run_id, run_number)
            step = "recording the deliveries"
            inputs = [(f.table, f.path, f.sha256) for f in result.inputs]
            ledger.build_table(con, target, result.run_id, inputs, finished_at)
            step = "writing the comments"
            _write_comments(con)
            step = "checkpointing the new database"
            con.execute(load_sql("building/checkpoint"))
        finally:
            con.close()
        step = "replacing the published database"
        _keep_permissions(target, building)
        os.replace(building, target)
        published = True
    except PublishError:
        raise
    except Exception as exc:
        raise PublishError(
            f"could not publish the cohort database while {step} ({type(exc).__name__}); "
            "the published database is unchanged",
            file=str(target),
        ) from exc
    finally:
        if not published:
            _remove_building(building)
    _sync_directory(target.parent)
    log.info("published run %d to %s", run_number, target)
    if catalog_name(target) in SCHEMAS:
        log.warning(
            "%s opens as a DuckDB catalog that clashes with the schema of the same name; "
            "prefer another file name (see docs/database.md)",
            target.name,
        )
    return run_number


def catalog_name(db_path: Path) -> str:
    """The name DuckDB gives a database file it opens: the file name up to its first dot."""
    return db_path.name.lstrip(".").split(".")[0].lower()


def building_path(target: Path) -> Path:
    """The hidden file next to `target` in which this process builds the new database."""
    return target.with_name(f".{target.name}.building-{os.getpid()}")


def _register_frames(con: duckdb.DuckDBPyConnection, result: ScreenResult) -> None:
    con.register("screening_frame", result.screening)
    con.register("ig_results_frame", result.ig_results)
    con.register("exclusions_frame", result.exclusions)
    con.register("attrition_frame", result.attrition)
    con.register("quarantine_frame", result.quarantine)
    con.register("row_counts_frame", result.row_counts)
    con.register("ignored_frame", result.ignored_reasons)


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
) -> int:
    [(run_number,)] = con.execute(load_sql("audit/next_run_number")).fetchall()
    con.register("run_frame", _run_frame(result, finished_at))
    con.execute(load_sql("audit/runs_append"), {"run_number": run_number})
    params = {"run_number": run_number, "run_id": result.run_id}
    con.execute(load_sql("audit/row_counts_append"), params)
    con.execute(load_sql("audit/ignored_append"), params)
    con.register("validation_frame", validation.frame())
    con.execute(load_sql("audit/validation_append"), params)
    return int(run_number)


def _run_frame(result: ScreenResult, finished_at: datetime) -> pl.DataFrame:
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


def _keep_permissions(target: Path, building: Path) -> None:
    """Give the new file the published file's permissions (analysts' group read access)."""
    if target.exists():
        os.chmod(building, stat.S_IMODE(target.stat().st_mode))


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
