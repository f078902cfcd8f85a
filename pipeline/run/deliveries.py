"""The landing zone: which deliveries to screen, in which order, and what became of each.

`SIGMD_LANDING_DIR` holds one folder per delivery (any name), each a full extract. A delivery is
complete only once the sender has written a `_READY` marker file into it, last (the Hadoop/Spark
`_SUCCESS` convention), so a half-copied folder is never read. `plan` lists the complete
deliveries, oldest marker first, and decides for each: screen it, skip it (its content, by the
SHA-256 of its files, was already screened, whatever the folder is called), or leave it (already
recorded). Refusals found while identifying (a missing table, an identifier column) are recorded
at once. Every decision goes to the deliveries ledger beside the database
(`pipeline.publish.ledger`), which each publish copies into `audit.deliveries`. `settle` records
the outcome once a delivery's screening ended; `screen_deliveries` chains the two in one process.
The Airflow DAG `sigmd_deliveries` runs `plan`, triggers `sigmd_screening` per delivery, then
`settle`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from pipeline.errors import SigmdError
from pipeline.publish import ledger

READY_MARKER = "_READY"
SCREENING_DAG_ID = "sigmd_screening"
REFUSAL_FILE = "refused.txt"  # written by a failed sigmd_screening run into its work folder


@dataclass(frozen=True)
class Delivery:
    """A delivery to screen: its ledger entry (pending) and where it lies."""

    entry: ledger.Entry
    path: Path

    @property
    def name(self) -> str:
        return self.entry.folder


def complete_deliveries(landing_dir: str | Path) -> list[Path]:
    """The delivery folders holding a `_READY` marker, oldest marker first (then by name)."""
    landing = Path(landing_dir)
    ready = []
    for folder in landing.iterdir():
        marker = folder / READY_MARKER
        if folder.is_dir() and not folder.name.startswith(".") and marker.is_file():
            ready.append((marker.stat().st_mtime_ns, folder.name, folder))
    return [folder for _, _, folder in sorted(ready)]


def fingerprint(folder: Path) -> str:
    """A cheap identity of a folder's files (names, sizes, modification times)."""
    listing = sorted(
        (str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns) for p in _files(folder)
    )
    return hashlib.sha256(json.dumps(listing).encode()).hexdigest()


def _files(folder: Path) -> Iterator[Path]:
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            if not name.startswith(".") and name != READY_MARKER:
                yield Path(root) / name


def identify(folder: Path, source_format: str = "canonical") -> str:
    """The delivery's content hash, from the input files a run would read (SigmdError: refused)."""
    from pipeline.read.sources import read_extract

    extract = read_extract(folder, source_format)
    return ledger.content_hash((i.table, i.path, i.sha256) for i in extract.inputs)


def screened_contents(db_path: str | Path) -> dict[str, str]:
    """Content hash -> run id of every run published to the database (none if it is absent)."""
    if not Path(db_path).exists():
        return {}
    with duckdb.connect(str(db_path), read_only=True) as con:
        return ledger.published_contents(con)


def plan(
    landing_dir: str | Path,
    db_path: str | Path,
    *,
    now: datetime,
    source_format: str = "canonical",
) -> list[Delivery]:
    """The complete deliveries to screen, oldest first, each recorded as pending in the ledger.

    Deliveries already decided (screened, refused, skipped) are left alone without re-hashing
    unless their files changed. Same content as a screened run (or as a delivery earlier in this
    plan): recorded as skipped. Refused while identifying: recorded as refused.
    """
    stamp = now.isoformat()
    state = ledger.latest(ledger.read(db_path))
    decided = {(e.folder, e.fingerprint): e for e in state.values() if e.outcome != ledger.PENDING}
    screened = screened_contents(db_path)
    screened.update(
        {e.content_hash: e.run_id or "" for e in state.values() if e.outcome == ledger.SCREENED}
    )
    queued: dict[str, str] = {}  # content hash -> folder, in this plan
    todo = []
    for folder in complete_deliveries(landing_dir):
        marks = fingerprint(folder)
        if (folder.name, marks) in decided:
            continue
        seen = {k[1]: e for k, e in state.items() if k[0] == folder.name}
        base = ledger.Entry(
            folder=folder.name,
            content_hash="",
            first_seen=stamp,
            outcome=ledger.PENDING,
            recorded_at=stamp,
            fingerprint=marks,
        )
        try:
            content = identify(folder, source_format)
        except SigmdError as exc:
            ledger.append(db_path, base.but(outcome=ledger.REFUSED, reason=str(exc)))
            continue
        earlier = seen.get(content)
        entry = base.but(content_hash=content, first_seen=earlier.first_seen if earlier else stamp)
        if earlier is not None and earlier.outcome != ledger.PENDING:  # touched, not changed
            again = entry.but(outcome=earlier.outcome, reason=earlier.reason, run_id=earlier.run_id)
            ledger.append(db_path, again)
            continue
        if earlier is not None and content in screened:  # pending when a plan stopped short
            ledger.append(db_path, entry.but(outcome=ledger.SCREENED, run_id=screened[content]))
            continue
        if content in screened or content in queued:
            run_id = screened.get(content)
            what = f"run {run_id}" if run_id else f"delivery {queued[content]}"
            reason = f"same content as already screened ({what})"
            ledger.append(db_path, entry.but(outcome=ledger.SKIPPED, reason=reason, run_id=run_id))
            continue
        ledger.append(db_path, entry)
        queued[content] = folder.name
        todo.append(Delivery(entry, folder))
    return todo


def settle(
    db_path: str | Path, delivery: Delivery, *, now: datetime, refusal: str | None = None
) -> ledger.Entry:
    """Record how a delivery's screening ended: screened (its content is in a published run) or
    refused with its one-line reason."""
    run_id = screened_contents(db_path).get(delivery.entry.content_hash)
    if run_id is not None:
        entry = delivery.entry.but(outcome=ledger.SCREENED, run_id=run_id)
    else:
        reason = refusal or "its screening failed without a reason on record (see its task logs)"
        entry = delivery.entry.but(outcome=ledger.REFUSED, reason=reason)
    entry = entry.but(recorded_at=now.isoformat())
    ledger.append(db_path, entry)
    return entry


def screen_deliveries(
    landing_dir: str | Path,
    db_path: str | Path,
    screen: Callable[[Path], object],
    *,
    clock: Callable[[], datetime],
    source_format: str = "canonical",
) -> list[ledger.Entry]:
    """Plan, then screen each delivery in order in this process (`screen(folder)` publishes to
    `db_path`; a SigmdError it raises is the refusal); returns the outcomes recorded."""
    outcomes = []
    for delivery in plan(landing_dir, db_path, now=clock(), source_format=source_format):
        refusal = None
        try:
            screen(delivery.path)
        except SigmdError as exc:
            refusal = str(exc)
        outcomes.append(settle(db_path, delivery, now=clock(), refusal=refusal))
    return outcomes


# --- the Airflow side: one sigmd_screening run per delivery ------------------------------------


def trigger_run_id(delivery: Delivery, planned_in: str) -> str:
    """The run id of the delivery's sigmd_screening run: its content, folder and the planning
    run, so that each attempt has its own (and its own work folder)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", delivery.name).strip("._")[:40] or "delivery"
    planned = re.sub(r"[^A-Za-z0-9._-]+", "_", planned_in).strip("._")[-40:]
    return f"delivery__{name}__{delivery.entry.content_hash[:12]}__{planned}"


def screening_work_dir(db_path: str | Path, run_id: str) -> Path:
    """The work folder of a sigmd_screening run (as `dags/sigmd_screening.run_work_dir`)."""
    configured = os.environ.get("SIGMD_WORK_DIR")
    root = Path(configured) if configured else Path(db_path).resolve().parent / ".sigmd-work"
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("._") or "run"
    return root / SCREENING_DAG_ID / safe


def refusal_of(db_path: str | Path, run_id: str) -> str | None:
    """The one-line refusal a failed sigmd_screening run left in its work folder, if any."""
    path = screening_work_dir(db_path, run_id) / REFUSAL_FILE
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def to_xcom(delivery: Delivery) -> dict[str, object]:
    """A delivery as a JSON-serialisable value (file names, hashes, times: no patient data)."""
    from dataclasses import asdict

    return {"entry": asdict(delivery.entry), "path": str(delivery.path)}


def from_xcom(value: dict[str, object]) -> Delivery:
    entry = value["entry"]
    assert isinstance(entry, dict)
    return Delivery(ledger.Entry(**entry), Path(str(value["path"])))
