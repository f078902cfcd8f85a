"""Read what the report and `sigmd explain` need from a published cohort database.

The database is opened read-only (an analyst's copy, or the live file: a run publishing
meanwhile is not blocked and we keep the snapshot we opened). Every query lives in
`sql/report/`, one statement per file. Report queries return aggregates or rows without the
patient id; only `explain` selects one patient's rows, by a bound parameter.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipeline.errors import NotFound
from pipeline.publish.sql import load_sql

REQUIRED_TABLES = (
    ("cohort", "screening"),
    ("cohort", "attrition"),
    ("cohort", "panels"),
    ("cohort", "persistence"),
    ("audit", "runs"),
)
# Tables only the report reads (`explain` does without them): cohort.status_changes is written
# by every publish since SPEC §8; an older database is refused with the same advice.
REPORT_TABLES = (("cohort", "status_changes"),)


@contextlib.contextmanager
def open_database(
    db_path: Path | str, also: tuple[tuple[str, str], ...] = ()
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to a sigmd cohort database (with the tables `also` names too);
    NotFound (exit 2) otherwise."""
    path = Path(db_path)
    if not path.is_file():
        raise NotFound("no such database file", file=str(path))
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise NotFound(
            f"cannot be opened as a DuckDB database ({type(exc).__name__})", file=str(path)
        ) from None
    try:
        present = set(con.execute(load_sql("report/tables")).fetchall())
        missing = [f"{s}.{t}" for s, t in (*REQUIRED_TABLES, *also) if (s, t) not in present]
        if missing:
            raise NotFound(
                "is not a cohort database of this sigmd version (no "
                + ", ".join(missing)
                + "); publish it again with sigmd run",
                file=str(path),
            )
        yield con
    finally:
        con.close()


def frame(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> pl.DataFrame:
    """The result of `sql/report/<name>.sql` as a polars frame."""
    query = load_sql(f"report/{name}")
    relation = con.sql(query, params=params) if params else con.sql(query)
    return relation.pl()


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, read once: aggregates and rows without patient ids."""

    run: dict[str, Any]
    attrition: pl.DataFrame
    patients: pl.DataFrame
    lowest_igm: pl.DataFrame
    gain_facts: pl.DataFrame
    causes: pl.DataFrame
    repeat_tests: pl.DataFrame
    row_counts: pl.DataFrame
    quarantine_reasons: pl.DataFrame
    ignored_reasons: pl.DataFrame
    status_changes: pl.DataFrame  # patients per change and previous -> new status (no id)
    previous_run_id: str | None  # the run the cohort was compared with; None on a first publish

    @property
    def criteria(self) -> dict[str, Any]:
        return self.run["criteria"]


def read_report_data(db_path: Path | str) -> ReportData:
    """Read the published run of `db_path` for the report."""
    with open_database(db_path, also=REPORT_TABLES) as con:
        run = read_run(con, db_path)
        run_number = run["run_number"]
        return ReportData(
            run=run,
            attrition=frame(con, "attrition"),
            patients=frame(con, "patients"),
            lowest_igm=frame(con, "lowest_igm"),
            gain_facts=frame(con, "gain_facts"),
            causes=frame(con, "causes"),
            repeat_tests=frame(con, "repeat_tests"),
            row_counts=frame(con, "row_counts", run_number=run_number),
            quarantine_reasons=frame(con, "quarantine_reasons"),
            ignored_reasons=frame(con, "ignored_reasons", run_number=run_number),
            status_changes=frame(con, "status_changes"),
            previous_run_id=frame(con, "previous_run", run_number=run_number)["run_id"][0],
        )


def read_run(con: duckdb.DuckDBPyConnection, db_path: Path | str) -> dict[str, Any]:
    """The audit.runs row of the published run, with the criteria it applied."""
    rows = frame(con, "run").to_dicts()
    if not rows:
        raise NotFound("has no published run in audit.runs", file=str(db_path))
    run = rows[0]
    if run.get("criteria") is None:
        raise NotFound(
            "was published by an older sigmd that did not record the criteria applied; "
            "publish it again with sigmd run",
            file=str(db_path),
        )
    return run
