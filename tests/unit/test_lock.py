"""The database lock, the files a run owns, and the run journal of refused runs."""

from __future__ import annotations

import fcntl
from datetime import UTC, datetime

import pytest

from pipeline.errors import ExtractRefused, LockTimeout, PublishError
from pipeline.publish import journal
from pipeline.publish import publish as publish_module
from pipeline.publish.lock import database_lock, lock_path
from pipeline.publish.publish import publish


def test_a_second_writer_waits_then_times_out_with_exit_7(tmp_path):
    db = tmp_path / "sigmd.duckdb"
    with lock_path(db).open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another process's lock (another open file)
        with pytest.raises(LockTimeout) as caught, database_lock(db, timeout=0.2):
            pass
    assert caught.value.exit_code == 7
    assert "gave up after waiting 0.2 s" in str(caught.value)
    with database_lock(db, timeout=0.2):  # free again
        pass


def test_the_lock_is_reentrant_within_a_process(tmp_path):
    db = tmp_path / "sigmd.duckdb"
    with database_lock(db, timeout=0.2), database_lock(db, timeout=0.2):
        pass


def test_taking_the_lock_removes_dead_runs_leftovers(tmp_path):
    db = tmp_path / "sigmd.duckdb"
    dead = [
        tmp_path / ".sigmd.duckdb.building-1234",
        tmp_path / ".sigmd.duckdb.building-1234.wal",
        tmp_path / ".sigmd.duckdb.building-5e1f2a",
    ]
    for path in dead:
        path.write_bytes(b"patient data")
    work = tmp_path / "sigmd-validation" / ".work" / "5e1f2a"
    work.mkdir(parents=True)
    (work / "great_expectations.yml").write_text("")
    other = tmp_path / ".other.duckdb.building-1"
    other.write_text("not ours")

    with database_lock(db):
        assert [p for p in dead if p.exists()] == []
        assert not work.exists()
    assert other.exists()


def test_build_files_are_private_and_the_first_publish_is_0600(make_result, tmp_path, monkeypatch):
    db = tmp_path / "sigmd.duckdb"
    modes: dict[str, int] = {}
    real = publish_module._write_comments

    def spy(con):
        real(con)
        for path in tmp_path.glob(".sigmd.duckdb.building-*"):
            modes[path.name] = path.stat().st_mode & 0o777

    monkeypatch.setattr(publish_module, "_write_comments", spy)
    publish(make_result(), db)
    assert modes and set(modes.values()) == {0o600}
    assert db.stat().st_mode & 0o777 == 0o600
    db.chmod(0o640)
    publish(make_result(), db)
    assert db.stat().st_mode & 0o777 == 0o640


def test_refusals_are_journaled_and_carried_once_into_audit_runs(make_result, tmp_path):
    import duckdb

    db = tmp_path / "sigmd.duckdb"
    publish(make_result(), db)
    attempt = journal.Attempt("a1", datetime(2026, 1, 2, tzinfo=UTC), "/x", "canonical", "0.1")
    error = ExtractRefused("duplicate column name", file="labs.csv", column="value")
    assert journal.record_refusal(db, attempt, error)
    saved = journal.journal_path(db).read_text()
    publish(make_result(), db)
    assert not journal.journal_path(db).exists()
    journal.journal_path(db).write_text(saved)  # a crash after the publish kept the journal
    publish(make_result(), db)
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.sql(
            "select run_number, outcome, exit_code, reason, attempt_id from audit.runs "
            "order by run_number"
        ).fetchall()
    assert [(n, o, c) for n, o, c, _, _ in rows] == [
        (1, "published", 0),
        (2, "refused", 2),
        (3, "published", 0),
        (4, "published", 0),
    ]
    assert rows[1][3] == "labs.csv: column 'value': duplicate column name"
    assert rows[1][4] == "a1"


def test_a_torn_journal_line_is_skipped(tmp_path):
    db = tmp_path / "sigmd.duckdb"
    journal.journal_path(db).write_text('{"attempt_id": "a1", "reason": "x"}\n{"attempt_')
    assert [e["attempt_id"] for e in journal.pending(db)] == ["a1"]


def test_write_failures_and_lock_timeouts_are_not_refusals():
    assert journal.is_refusal(ExtractRefused("x"))
    assert not journal.is_refusal(PublishError("x"))
    assert not journal.is_refusal(LockTimeout("x"))
