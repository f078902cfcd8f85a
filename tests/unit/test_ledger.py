"""The deliveries ledger: content identity, append-only events, and a crash mid-line."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pipeline.publish import ledger


def entry(folder: str, outcome: str, content: str = "c1") -> ledger.Entry:
    stamp = "2026-11-28T10:00:00+00:00"
    return ledger.Entry(folder, content, stamp, outcome, stamp)


def test_content_hash_is_the_inputs_whatever_their_folder_and_order():
    a = [("labs", "/landing/week-1/labs.csv", "aa"), ("patients", "/x/patients.csv", "bb")]
    b = [("patients", "/elsewhere/patients.csv", "bb"), ("labs", "labs.csv", "aa")]
    assert ledger.content_hash(a) == ledger.content_hash(b)
    changed = [("labs", "labs.csv", "ab"), ("patients", "patients.csv", "bb")]
    renamed = [("labs", "labs_2024.csv", "aa"), ("patients", "patients.csv", "bb")]
    assert len({ledger.content_hash(x) for x in (a, changed, renamed)}) == 3


def test_events_are_appended_and_the_latest_per_delivery_wins(tmp_path: Path):
    db = tmp_path / "sigmd.duckdb"
    assert ledger.read(db) == []
    ledger.append(db, entry("week-1", "pending"))
    ledger.append(db, entry("week-2", "skipped"))
    ledger.append(db, entry("week-1", "screened"))
    assert ledger.ledger_path(db) == tmp_path / "sigmd.duckdb.deliveries.jsonl"
    state = ledger.latest(ledger.read(db))
    assert [(e.folder, e.outcome) for e in state.values()] == [
        ("week-1", "screened"),
        ("week-2", "skipped"),
    ]


def test_a_line_cut_short_by_a_crash_is_ignored(tmp_path: Path):
    db = tmp_path / "sigmd.duckdb"
    ledger.append(db, entry("week-1", "screened"))
    with ledger.ledger_path(db).open("a") as fh:
        fh.write('{"folder": "week-2", "content_ha')
    assert [e.folder for e in ledger.read(db)] == ["week-1"]


def test_the_ledger_is_shared_no_wider_than_the_database(tmp_path):
    previous = os.umask(0o022)  # the mode asked for, not the session's umask, is under test
    try:
        _append_beside_databases(tmp_path)
    finally:
        os.umask(previous)


def _append_beside_databases(tmp_path):
    first = tmp_path / "first" / "cohort.duckdb"
    ledger.append(first, entry("d1", "screened"))  # no database yet: owner only
    assert stat.S_IMODE(ledger.ledger_path(first).stat().st_mode) == 0o600
    shared = tmp_path / "shared" / "cohort.duckdb"
    shared.parent.mkdir()
    shared.write_bytes(b"")
    shared.chmod(0o640)
    ledger.append(shared, entry("d1", "screened"))
    assert stat.S_IMODE(ledger.ledger_path(shared).stat().st_mode) == 0o640
