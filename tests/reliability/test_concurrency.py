"""Runs that race for one database take turns: none is lost, none misreports, none breaks GX.

Ten pairs of `sigmd run` processes start together on one database (three of them with their
attempt ids forced equal, so that both name their building file and Data Docs folders alike, as
two containers with the same PID once did). Readers keep opening the database meanwhile. Every
run must exit 0 and be in `audit.runs`; a run that cannot get the lock in time exits 7 with one
line and changes nothing.
"""

from __future__ import annotations

import fcntl

from tests.reliability.conftest import (
    Readers,
    copy_database,
    finish,
    leftovers,
    output_problems,
    run_sigmd,
    start,
    state,
)

PAIRS = 10
FORCED_COLLISIONS = 3


def test_concurrent_pairs_both_publish_and_both_are_recorded(extract, published, tmp_path, figures):
    db = copy_database(published, tmp_path / "db")
    problems: dict[int, list[str]] = {}
    exited_0 = recorded = 0
    with Readers(db, extract.n_screened) as readers:
        for pair in range(PAIRS):
            before = state(db)
            forced = f"collide{pair:02d}" if pair < FORCED_COLLISIONS else None
            marks = [tmp_path / f"marks-{pair}-{side}" for side in "ab"]
            processes = [start(db, extract.folder, m, attempt_id=forced) for m in marks]
            outcomes = [finish(p, m) for p, m in zip(processes, marks, strict=True)]
            after = state(db)

            found = [f"exit {o.code}: {o.stderr[-2000:]}" for o in outcomes if o.code != 0]
            for outcome in outcomes:
                found += output_problems(outcome, extract)
            exited_0 += sum(o.code == 0 for o in outcomes)
            recorded += after.n_runs - before.n_runs
            if after.n_runs != before.n_runs + sum(o.code == 0 for o in outcomes):
                found.append(f"audit.runs gained {after.n_runs - before.n_runs} rows")
            if after.attempts[: len(before.attempts)] != before.attempts:
                found.append("earlier rows of audit.runs changed")
            if after.n_screened != extract.n_screened:
                found.append(f"{after.n_screened} screened patients, not {extract.n_screened}")
            if leftovers(db):
                found.append(f"leftovers: {[p.name for p in leftovers(db)]}")
            if found:
                problems[pair] = found
    figures(
        "concurrent pairs",
        pairs=PAIRS,
        forced_collisions=FORCED_COLLISIONS,
        runs=2 * PAIRS,
        exited_0=exited_0,
        recorded_in_audit_runs=recorded,
        lost=exited_0 - recorded,
        pairs_with_a_problem=len(problems),
        reader_queries=readers.reads,
        reader_errors=len(readers.errors),
    )
    assert problems == {}
    assert readers.errors == []
    assert readers.reads > 0
    assert state(db).n_published == state(published).n_published + 2 * PAIRS


def test_a_run_that_cannot_get_the_lock_in_time_exits_7_and_changes_nothing(
    extract, published, tmp_path
):
    db = copy_database(published, tmp_path / "db")
    before = db.read_bytes()
    lock = db.with_name(f".{db.name}.lock")
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another writer holds the lock
        outcome = run_sigmd(db, extract.folder, tmp_path / "marks", lock_timeout=1)
    assert outcome.code == 7
    assert outcome.stderr.strip().splitlines() == [
        f"sigmd: error: {db}: another run is writing to this database (lock {lock.name}); "
        "gave up after waiting 1 s (--lock-timeout)"
    ]
    assert db.read_bytes() == before
    assert outcome.marks == []  # it read nothing
    assert not db.with_name(f"{db.name}.journal").exists()
