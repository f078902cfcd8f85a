"""SPEC §8: the landing zone. Each complete delivery is screened once, oldest first.

Deliveries are small synthetic extracts dropped into a landing folder; `_READY` marks one
complete. `screen_deliveries` does in one process what the `sigmd_deliveries` DAG does with one
`sigmd_screening` run per delivery: plan, screen each (here with `sigmd run`'s code), settle.
The marker times are set explicitly, so "oldest" never depends on the clock's resolution.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from pipeline.cli import screen_and_publish
from pipeline.publish import ledger
from pipeline.run import deliveries
from pipeline.synth import generate_extract

pytestmark = pytest.mark.integration

T0 = 1_764_000_000  # marker times, seconds


def deliver(landing: Path, name: str, seed: int, *, minute: int, ready: bool = True) -> Path:
    folder = landing / name
    generate_extract(folder, 30, seed=seed, other_labs_per_patient=2)
    if ready:
        mark_ready(folder, minute)
    return folder


def mark_ready(folder: Path, minute: int) -> None:
    marker = folder / deliveries.READY_MARKER
    marker.touch()
    os.utime(marker, (T0 + 60 * minute, T0 + 60 * minute))


class Screener:
    """Screens a delivery as `sigmd run` does, remembering the order of the folders."""

    def __init__(self, db: Path):
        self.db = db
        self.screened: list[str] = []

    def __call__(self, folder: Path) -> None:
        self.screened.append(folder.name)
        screen_and_publish(folder, self.db)

    def run(self, landing: Path) -> list[ledger.Entry]:
        return deliveries.screen_deliveries(landing, self.db, self, clock=lambda: datetime.now(UTC))


def query(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def outcomes(db: Path) -> dict[str, str]:
    return {e.folder: e.outcome for e in ledger.latest(ledger.read(db)).values()}


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    return folder


@pytest.fixture
def screener(tmp_path: Path) -> Screener:
    return Screener(tmp_path / "output" / "sigmd.duckdb")


def test_a_delivery_without_its_ready_marker_is_not_screened(landing, screener):
    half_copied = deliver(landing, "2026-11-28", seed=1, minute=0, ready=False)

    assert screener.run(landing) == []
    assert screener.screened == []
    assert not screener.db.exists()
    assert ledger.read(screener.db) == []  # not even seen

    mark_ready(half_copied, minute=1)
    assert [e.outcome for e in screener.run(landing)] == ["screened"]
    assert screener.screened == ["2026-11-28"]


def test_two_deliveries_are_screened_oldest_first_once_each(landing, screener):
    deliver(landing, "b-first", seed=1, minute=0)
    deliver(landing, "a-second", seed=2, minute=5)  # older by its marker, not by its name

    entries = screener.run(landing)
    assert screener.screened == ["b-first", "a-second"]
    assert [(e.folder, e.outcome) for e in entries] == [
        ("b-first", "screened"),
        ("a-second", "screened"),
    ]
    assert screener.run(landing) == []  # the next look finds nothing new
    assert screener.screened == ["b-first", "a-second"]

    runs = query(screener.db, "select run_number, run_id, extract_dir from audit.runs order by 1")
    assert [Path(extract).name for _, _, extract in runs] == ["b-first", "a-second"]
    assert [e.run_id for e in entries] == [run_id for _, run_id, _ in runs]
    # the second publish compared its cohort with the first one's
    [(previous, new)] = query(
        screener.db, "select distinct previous_run_id, new_run_id from cohort.status_changes"
    )
    assert (previous, new) == (runs[0][1], runs[1][1])
    published = query(
        screener.db, "select folder, outcome, run_id from audit.deliveries order by recorded_at"
    )
    assert published == [("b-first", "screened", runs[0][1]), ("a-second", "screened", runs[1][1])]


def test_a_resent_copy_under_a_new_name_is_skipped_and_recorded(landing, screener):
    original = deliver(landing, "2026-11-28", seed=1, minute=0)
    [screened] = screener.run(landing)

    shutil.copytree(original, landing / "2026-11-28-resent")
    mark_ready(landing / "2026-11-28-resent", minute=10)
    assert screener.run(landing) == []
    assert screener.screened == ["2026-11-28"]
    [skipped] = [e for e in ledger.read(screener.db) if e.folder == "2026-11-28-resent"]
    assert skipped.outcome == "skipped"
    assert skipped.content_hash == screened.content_hash
    assert skipped.run_id == screened.run_id
    assert screener.run(landing) == []  # recorded once, not at every look
    assert len([e for e in ledger.read(screener.db) if e.outcome == "skipped"]) == 1

    # a changed delivery under the first name is screened again
    labs = original / "labs.csv"
    labs.write_text("".join(labs.read_text().splitlines(keepends=True)[:-3]))
    mark_ready(original, minute=20)
    assert [e.outcome for e in screener.run(landing)] == ["screened"]
    assert screener.screened == ["2026-11-28", "2026-11-28"]
    published = query(screener.db, "select folder, outcome from audit.deliveries order by all")
    assert published == [
        ("2026-11-28", "screened"),
        ("2026-11-28", "screened"),
        ("2026-11-28-resent", "skipped"),
    ]


def test_a_refused_delivery_is_recorded_and_does_not_block_the_next(landing, screener):
    identifiers = deliver(landing, "1-with-emails", seed=1, minute=0)
    patients = identifiers / "patients.csv"
    lines = patients.read_text().splitlines()
    patients.write_text("\n".join([lines[0] + ",email", *lines[1:]]) + "\n")
    no_igm = deliver(landing, "2-without-igm", seed=2, minute=1)
    labs = no_igm / "labs.csv"
    lines = labs.read_text().splitlines()
    labs.write_text("\n".join([lines[0], *(x for x in lines[1:] if "2472-9" not in x)]) + "\n")
    deliver(landing, "3-good", seed=3, minute=2)

    entries = screener.run(landing)
    # refused while identified (an identifier column: never hashed for screening) ...
    assert outcomes(screener.db)["1-with-emails"] == "refused"
    # ... or while screened (no usable IgM); the good one after them is screened anyway
    assert screener.screened == ["2-without-igm", "3-good"]
    assert [(e.folder, e.outcome) for e in entries] == [
        ("2-without-igm", "refused"),
        ("3-good", "screened"),
    ]
    reasons = query(
        screener.db, "select folder, outcome, reason from audit.deliveries order by folder"
    )
    assert [(folder, outcome) for folder, outcome, _ in reasons] == [
        ("1-with-emails", "refused"),
        ("2-without-igm", "refused"),
        ("3-good", "screened"),
    ]
    assert "email" in reasons[0][2] and "\n" not in reasons[0][2]
    assert "IgM" in reasons[1][2]
    assert screener.run(landing) == []  # a refusal is final for that content
    assert screener.screened == ["2-without-igm", "3-good"]


def test_as_the_dag_does_it_plan_screen_each_then_settle_all(landing, screener):
    # sigmd_deliveries settles once every triggered screening has ended: the second publish
    # must already list the first delivery, still pending in the ledger, as screened.
    deliver(landing, "week-47", seed=1, minute=0)
    deliver(landing, "week-48", seed=2, minute=1)
    planned = deliveries.plan(landing, screener.db, now=datetime.now(UTC))
    assert [d.name for d in planned] == ["week-47", "week-48"]
    # a plan that stopped short of settling (a crashed DAG run) is picked up by the next one
    again = deliveries.plan(landing, screener.db, now=datetime.now(UTC))
    assert [d.entry for d in again] == [
        d.entry.but(recorded_at=e.entry.recorded_at) for d, e in zip(planned, again, strict=True)
    ]
    for delivery in planned:
        screener(delivery.path)

    runs = query(screener.db, "select run_id from audit.runs order by run_number")
    published = query(
        screener.db, "select folder, outcome, run_id from audit.deliveries order by folder"
    )
    assert published == [("week-47", "screened", runs[0][0]), ("week-48", "screened", runs[1][0])]
    settled = [deliveries.settle(screener.db, d, now=datetime.now(UTC)) for d in planned]
    assert [(e.outcome, e.run_id) for e in settled] == [("screened", r) for (r,) in runs]
