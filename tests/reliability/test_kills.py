"""SIGKILL at random points of a run: the published database is always the old or the new one.

Each trial is a real `sigmd run` process killed with SIGKILL: in the read, screen, Data Docs or
build phase after a random delay (so the kill lands at a random point of that phase or a later
one), just before or just after the `os.replace` that publishes, or from outside at a random
moment. Readers keep opening the database during all trials. After every trial: the database
opens and holds the whole cohort; `audit.runs` gained a row exactly when the run exited 0 or was
killed after its replace (then it had published); leftover building files are private (0600);
nothing printed holds a traceback or a patient id. A trial that breaks any of these is lost; the
figures (trials, survived, lost, where the kills landed, reader queries) are recorded for
docs/reliability.md. The run after the last trial removes every leftover and publishes.
"""

from __future__ import annotations

import random
import signal
from collections import Counter
from pathlib import Path

import duckdb

from tests.reliability.conftest import (
    Extract,
    Outcome,
    Readers,
    State,
    copy_database,
    finish,
    leftovers,
    output_problems,
    run_sigmd,
    start,
    state,
)

# (phase, number of trials); the kill delay after entering the phase is random in [0, 1.5) s.
PLAN = [
    ("read", 7),
    ("screen", 7),
    ("docs", 4),
    ("build", 7),
    ("before_replace", 4),
    ("after_replace", 4),
    ("outside", 4),
]


def landing(marks: list[str]) -> str:
    """Where a killed run was: the last phase it entered."""
    for word, name in (
        ("replaced", "after replace"),
        ("replace", "before replace"),
        ("build", "build"),
        ("docs", "data docs"),
        ("screen", "screen"),
        ("read", "read"),
    ):
        if word in marks:
            return name
    return "start-up"


def trial_problems(outcome: Outcome, before: State, db: Path, extract: Extract) -> list[str]:
    """What a trial broke: the database, its audit.runs, the output or a leftover's mode."""
    try:
        after = state(db)  # the database opens read-only: never partial
    except duckdb.Error as exc:
        return [f"the published database does not open: {type(exc).__name__}"]
    problems = output_problems(outcome, extract)
    if outcome.code not in (0, -9):
        problems.append(f"exit {outcome.code}: {outcome.stderr[-2000:]}")
    if after.n_screened != extract.n_screened:
        problems.append(f"{after.n_screened} screened patients, not {extract.n_screened}")
    gained = after.n_runs - before.n_runs
    # A kill between the `os.replace` and the mark after it leaves the marks undecided; the
    # building file tells: it is gone once replaced (this run removed every older leftover).
    replaced = "replace" in outcome.marks and not list(db.parent.glob(f".{db.name}.building-*"))
    published = 1 if outcome.code == 0 or outcome.published or replaced else 0
    if gained != published:
        problems.append(f"audit.runs gained {gained} rows for {published} published runs")
    if after.attempts[: len(before.attempts)] != before.attempts:
        problems.append("earlier rows of audit.runs changed")
    for leftover in leftovers(db):
        if leftover.is_file() and leftover.stat().st_mode & 0o077:
            problems.append(f"leftover {leftover.name} is readable by others")
    return problems


def test_sigkill_at_random_points_never_breaks_the_published_database(
    extract, published, tmp_path, figures
):
    db = copy_database(published, tmp_path / "db")
    db.chmod(0o600)
    rng = random.Random(20261201)
    trials = [phase for phase, n in PLAN for _ in range(n)]
    rng.shuffle(trials)
    landed: Counter[str] = Counter()
    problems: dict[int, list[str]] = {}
    with Readers(db, extract.n_screened) as readers:
        for number, phase in enumerate(trials):
            before = state(db)
            marks = tmp_path / f"marks-{number}"
            if phase == "outside":
                process = start(db, extract.folder, marks)
                try:
                    process.wait(timeout=rng.uniform(1.0, 12.0))
                except Exception:
                    process.send_signal(signal.SIGKILL)
            else:
                process = start(db, extract.folder, marks, phase=phase, delay=rng.uniform(0, 1.5))
            outcome = finish(process, marks)
            found = trial_problems(outcome, before, db, extract)
            if found:
                problems[number] = [phase, *found]
            landed["exit 0" if outcome.code == 0 else landing(outcome.marks)] += 1

        final = run_sigmd(db, extract.folder, tmp_path / "marks-final")
    figures(
        "SIGKILL trials",
        trials=len(trials),
        survived=len(trials) - len(problems),
        lost=len(problems),
        landed=dict(sorted(landed.items())),
        reader_queries=readers.reads,
        reader_errors=len(readers.errors),
    )
    assert problems == {}
    assert final.code == 0, final.stderr
    assert leftovers(db) == []
    assert readers.errors == []
    assert readers.reads > 0
    assert len(trials) >= 30
    assert sum(landed[k] for k in ("read", "screen", "build", "before replace")) >= 12
