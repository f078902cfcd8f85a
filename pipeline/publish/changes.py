"""What changed since the last delivery: each publish compares its cohort with the previous one.

While a publish builds the new database (`publish.publish`), `record` compares the new
`cohort.screening` with the previously published one (attached read-only) and writes
`cohort.status_changes`: one row per patient who is new, whose status or severity changed, or who
is no longer in the extract; unchanged patients have no row, and a first publish has every patient
as `new_patient`. The same rows are appended, under the run's number, to `cohort.status_history`,
which is carried over from publish to publish (`purge_history` forgets old runs). `read_changes`
and `count_changes` serve `sigmd changes`; `summary` gives the counts an Airflow asset event
carries (never a patient id).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipeline.errors import SigmdError
from pipeline.publish.sql import load_sql

NEW_PATIENT = "new_patient"
STATUS_CHANGED = "status_changed"
SEVERITY_CHANGED = "severity_changed"
NO_LONGER_IN_EXTRACT = "no_longer_in_extract"
CHANGES = (NEW_PATIENT, STATUS_CHANGED, SEVERITY_CHANGED, NO_LONGER_IN_EXTRACT)
PERSISTENT = "persistent"

CHANGE_COLUMNS = (
    "patient_id",
    "change",
    "previous_status",
    "previous_severity",
    "new_status",
    "new_severity",
    "previous_run_id",
    "new_run_id",
)


class UnknownRun(SigmdError):
    """`--since` or `--purge-before` names a run the database does not hold."""

    exit_code = 2


def record(con: duckdb.DuckDBPyConnection, target: Path, run_id: str, run_number: int) -> None:
    """Build cohort.status_changes and cohort.status_history in the database being built.

    `con` uses the new database, whose cohort.screening is already built; `target` is the
    published database (may not exist yet), attached read-only for the comparison.
    """
    con.execute(load_sql("cohort/status_history"))
    attached = target.exists()
    if attached:
        con.execute(load_sql("previous/attach"), {"path": str(target)})
    try:
        has_cohort, previous_run_id = _previous_cohort(con) if attached else (False, None)
        if not has_cohort:
            con.execute(load_sql("cohort/previous_screening_none"))
        params = {"run_id": run_id, "previous_run_id": previous_run_id}
        con.execute(load_sql("cohort/status_changes"), params)
        con.execute(load_sql("cohort/previous_screening_drop"))
        if attached and _previous_has("cohort", "status_history", con):
            con.execute(load_sql("cohort/status_history_history"))
    finally:
        if attached:
            con.execute(load_sql("previous/detach"))
    con.execute(load_sql("cohort/status_history_append"), {"run_number": run_number})


def _previous_cohort(con: duckdb.DuckDBPyConnection) -> tuple[bool, str | None]:
    """Expose the previous cohort as `previous_screening`; say whether there is one, and its
    run id (the latest published run of the previous database)."""
    [(has_cohort,)] = con.execute(load_sql("previous/has_cohort")).fetchall()
    if not has_cohort or not _previous_has("audit", "runs", con):
        return False, None
    [(run_id,)] = con.execute(load_sql("previous/last_run_id")).fetchall()
    con.execute(load_sql("cohort/previous_screening"))
    return True, run_id


def _previous_has(schema: str, table: str, con: duckdb.DuckDBPyConnection) -> bool:
    params = {"schema_name": schema, "table_name": table}
    [(has_table,)] = con.execute(load_sql("previous/has_table"), params).fetchall()
    return bool(has_table)


# --- reading the changes back (sigmd changes, the asset event) ---------------------------------


@dataclass(frozen=True)
class Changes:
    """The per-patient changes of a span of runs (internal: they carry patient ids)."""

    rows: pl.DataFrame
    since_run_number: int | None
    latest_run_number: int

    def counts(self) -> pl.DataFrame:
        """Patients per change and status (previous and new); no patient id."""
        return (
            self.rows.group_by("change", "previous_status", "new_status")
            .agg(pl.len().cast(pl.Int64).alias("patients"))
            .with_columns(pl.col("change").cast(pl.Enum(CHANGES)).alias("_order"))
            .sort("_order", "previous_status", "new_status", nulls_last=False)
            .drop("_order")
        )


def read_changes(db_path: str | Path, since: str | None = None) -> Changes:
    """The changes of the latest publish, or the net changes since run `since` (id or number)."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        latest = run_number_of(con, None)
        if since is None:
            rows = con.sql(load_sql("cohort/changes_latest")).pl()
            return Changes(rows, None, latest)
        since_number = run_number_of(con, since)
        params = {"since_run_number": since_number}
        rows = con.sql(load_sql("cohort/changes_since"), params=params).pl()
    return Changes(rows, since_number, latest)


def run_number_of(con: duckdb.DuckDBPyConnection, run: str | None) -> int:
    """The run number of `run` (a run id or number; the latest run number for None)."""
    if run is None:
        [(number,)] = con.execute(load_sql("audit/latest_run_number")).fetchall()
        return int(number or 0)
    [(number,)] = con.execute(load_sql("audit/run_number_of"), {"run": run}).fetchall()
    if number is None:
        raise UnknownRun(f"no run '{run}' in audit.runs (give a run id or a run number)")
    return int(number)


def summary(db_path: str | Path) -> dict[str, Any]:
    """Counts of the latest publish's changes for an asset event or a log line: per change, and
    the patients newly persistent (new, or persistent now and not before). No patient id."""
    rows = read_changes(db_path).rows
    return summarise(rows)


def summarise(rows: pl.DataFrame) -> dict[str, Any]:
    """The counts of `summary` from change rows (the columns of cohort.status_changes)."""
    per_change: Mapping[str, int] = dict(rows.group_by("change").len().iter_rows())
    new_persistent = rows.filter(
        (pl.col("new_status") == PERSISTENT)
        & pl.col("previous_status").ne_missing(pl.lit(PERSISTENT))
    ).height
    return {
        "changes": {change: int(per_change.get(change, 0)) for change in CHANGES},
        "new_persistent": new_persistent,
    }
