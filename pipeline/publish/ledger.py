"""The deliveries ledger: what the landing zone has shown, kept beside the cohort database.

A delivery is one extract folder dropped into the landing zone (`pipeline.run.deliveries`). It is
identified by its content hash: the SHA-256 of the sorted (table, file name, file SHA-256) of its
input files, the same inputs the run id is derived from, so a renamed or re-sent copy has the same
hash and a changed one another. What happened to each delivery (screened in which run, refused
with its one-line reason, skipped as already screened, or pending while its screening runs) is
appended, one JSON line per event, to `<db>.deliveries.jsonl` next to the database: an append of
one short line is atomic and never blocks an analyst, whereas the database itself is only ever
replaced whole by a publish. Each publish copies the ledger into `audit.deliveries` (one row per
folder and content, its latest outcome), marking the pending delivery it publishes as screened.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipeline.publish.lock import database_mode
from pipeline.publish.sql import load_sql

SCREENED = "screened"
REFUSED = "refused"
SKIPPED = "skipped"
PENDING = "pending"  # seen, its screening triggered; never published as such
OUTCOMES = (SCREENED, REFUSED, SKIPPED)

DELIVERIES_SCHEMA = pl.Schema(
    {
        "folder": pl.String(),
        "content_hash": pl.String(),
        "first_seen": pl.Datetime("us"),
        "outcome": pl.String(),
        "reason": pl.String(),
        "run_id": pl.String(),
        "recorded_at": pl.Datetime("us"),
    }
)


@dataclass(frozen=True)
class Entry:
    """One event of the ledger: a delivery (folder, content) and what happened to it."""

    folder: str
    content_hash: str
    first_seen: str  # ISO 8601, UTC
    outcome: str
    recorded_at: str  # ISO 8601, UTC
    reason: str | None = None
    run_id: str | None = None
    fingerprint: str | None = None  # file names, sizes and times: spares re-hashing a folder

    def but(self, **changes: str | None) -> Entry:
        return replace(self, **changes)  # type: ignore[arg-type]


def content_hash(inputs: Iterable[tuple[str, str, str]]) -> str:
    """The identity of an extract's content: (table, file name or path, SHA-256) per input file.

    Only the file's name counts (not its folder), so a copy in another folder has the same hash.
    """
    payload = sorted((table, Path(path).name, sha256) for table, path, sha256 in inputs)
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()


def ledger_path(db_path: str | Path) -> Path:
    db = Path(db_path)
    return db.with_name(db.name + ".deliveries.jsonl")


def append(db_path: str | Path, entry: Entry) -> None:
    """Append one event: a single short write in append mode, flushed to disk."""
    path = ledger_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(asdict(entry), sort_keys=True) + "\n"
    # Created with the database's mode (owner only until the database says otherwise): the
    # ledger names the site's delivery folders, so it is shared no wider than the cohort.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, database_mode(Path(db_path)))
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read(db_path: str | Path) -> list[Entry]:
    """Every event, oldest first. A line cut short by a crash (the last one) is ignored."""
    path = ledger_path(db_path)
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError, TypeError):
            entries.append(Entry(**json.loads(line)))
    return entries


def latest(entries: Sequence[Entry]) -> dict[tuple[str, str], Entry]:
    """The latest event per delivery (folder, content hash), in the order first seen."""
    state: dict[tuple[str, str], Entry] = {}
    for entry in entries:
        state[(entry.folder, entry.content_hash)] = entry
    return state


# --- publishing the ledger as audit.deliveries -------------------------------------------------


def build_table(
    con: duckdb.DuckDBPyConnection,
    db_path: str | Path,
    run_id: str,
    inputs: Iterable[tuple[str, str, str]],
    published_at: datetime,
) -> None:
    """Create audit.deliveries in the database being built, from the ledger beside `db_path`.

    A pending delivery whose content is in a published run (this one, or an earlier one not yet
    settled by the deliveries DAG) is recorded as screened by that run. Other pending deliveries
    (waiting their turn) are not listed yet.
    """
    published = published_contents(con)  # audit.runs of the new database: this run included
    published[content_hash(inputs)] = run_id
    rows = []
    for last in latest(read(db_path)).values():
        entry = last
        if last.outcome == PENDING:
            if last.content_hash not in published:  # still waiting its turn
                continue
            screened_by = published[last.content_hash]
            entry = last.but(
                outcome=SCREENED, run_id=screened_by, recorded_at=published_at.isoformat()
            )
        rows.append(
            {
                "folder": entry.folder,
                "content_hash": entry.content_hash,
                "first_seen": _timestamp(entry.first_seen),
                "outcome": entry.outcome,
                "reason": entry.reason,
                "run_id": entry.run_id,
                "recorded_at": _timestamp(entry.recorded_at),
            }
        )
    con.register("deliveries_frame", pl.DataFrame(rows, schema=DELIVERIES_SCHEMA))
    con.execute(load_sql("audit/deliveries"))


def published_contents(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Content hash -> run id of every published run in the database `con` uses (latest wins)."""
    runs: dict[int, tuple[str, list[tuple[str, str, str]]]] = {}
    for run_number, run_id, table, path, sha256 in con.sql(
        load_sql("audit/published_inputs")
    ).fetchall():
        runs.setdefault(run_number, (run_id, []))[1].append((table, path, sha256))
    return {content_hash(inputs): run_id for _, (run_id, inputs) in sorted(runs.items())}


def _timestamp(text: str) -> datetime:
    """A naive UTC datetime from the ledger's ISO text (audit timestamps are naive UTC)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
