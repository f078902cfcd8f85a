"""Shared set-up of the reliability suite: a small extract, runs as real processes, readers.

Every test here is marked `reliability` (run by `.ci/run`, deselected from the default run).
Runs are separate `sigmd` processes (`faults.py` plants a SIGKILL or forced ids), so a kill is a
real SIGKILL and two runs really race. Tests assert outcomes, never durations: how long a run
takes on a loaded machine changes where a timed kill lands, never what must hold afterwards.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

FAULTS = Path(__file__).with_name("faults.py")
REPO = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.reliability)


FIGURES = pytest.StashKey[dict[str, dict[str, object]]]()


@pytest.fixture
def figures(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., None]:
    """Record a test's figures (trials, survived, lost, ...) for docs/reliability.md.

    They are printed in a "sigmd reliability figures" section at the end of the session and
    saved as `reliability-figures.json` in pytest's base temporary folder.
    """
    table = request.config.stash.setdefault(FIGURES, {})
    path = tmp_path_factory.getbasetemp() / "reliability-figures.json"

    def record(name: str, **numbers: object) -> None:
        table[name] = numbers
        path.write_text(json.dumps(table, indent=2) + "\n")

    return record


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    table = config.stash.get(FIGURES, {})
    if table:
        terminalreporter.write_sep("=", "sigmd reliability figures")
        for name, numbers in table.items():
            terminalreporter.write_line(
                f"{name}: " + ", ".join(f"{k} {v}" for k, v in numbers.items())
            )


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    marks: list[str]

    @property
    def killed(self) -> bool:
        return self.code == -9

    @property
    def published(self) -> bool:
        """Whether the run's database replaced the published one (it may then have been killed)."""
        return "replaced" in self.marks


@dataclass
class Extract:
    folder: Path
    patient_ids: set[str]
    n_screened: int = 0


@pytest.fixture(scope="session")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Extract:
    from pipeline.synth import generate_extract

    folder = tmp_path_factory.mktemp("reliability") / "extract"
    generate_extract(folder, 150, seed=11, other_labs_per_patient=10)
    with (folder / "patients.csv").open() as fh:
        ids = {row["patient_id"] for row in csv.DictReader(fh)}
    return Extract(folder, ids)


@pytest.fixture(scope="session")
def published(extract: Extract, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database published once from the extract (copied by each test that needs one)."""
    db = tmp_path_factory.mktemp("published") / "sigmd.duckdb"
    outcome = run_sigmd(db, extract.folder, tmp_path_factory.mktemp("marks") / "m")
    assert outcome.code == 0, outcome.stderr
    extract.n_screened = state(db).n_screened
    return db


def copy_database(published: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / published.name
    shutil.copy2(published, db)
    return db


def start(
    db: Path,
    extract: Path,
    marks: Path,
    *,
    phase: str = "none",
    delay: float = 0.0,
    attempt_id: str | None = None,
    lock_timeout: float = 600,
) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("SIGMD_TEST_ATTEMPT_ID", None)
    if attempt_id:
        env["SIGMD_TEST_ATTEMPT_ID"] = attempt_id
    args = ["run", "--extract", str(extract), "--db", str(db), "--docs-history", "3"]
    args += ["--lock-timeout", str(lock_timeout)]
    return subprocess.Popen(
        [sys.executable, str(FAULTS), str(marks), phase, str(delay), "--", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )


def finish(process: subprocess.Popen[str], marks: Path) -> Outcome:
    stdout, stderr = process.communicate(timeout=900)
    words = marks.read_text().split() if marks.exists() else []
    return Outcome(process.returncode, stdout, stderr, words)


def run_sigmd(db: Path, extract: Path, marks: Path, **kwargs: object) -> Outcome:
    return finish(start(db, extract, marks, **kwargs), marks)  # type: ignore[arg-type]


@dataclass
class State:
    n_runs: int
    n_published: int
    attempts: list[str]
    n_screened: int
    outcomes: list[str] = field(default_factory=list)


def state(db: Path) -> State:
    """The published database as an analyst sees it (opened read-only)."""
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.sql("select outcome, attempt_id from audit.runs order by run_number").fetchall()
        [(n_screened,)] = con.sql("select count(*) from cohort.screening").fetchall()
    return State(
        n_runs=len(rows),
        n_published=sum(o == "published" for o, _ in rows),
        attempts=[a for _, a in rows if a],
        n_screened=n_screened,
        outcomes=[o for o, _ in rows],
    )


def output_problems(outcome: Outcome, extract: Extract) -> list[str]:
    """What is wrong with what a run printed: a traceback, two error lines, a patient id."""
    problems = []
    if "Traceback" in outcome.stderr:
        problems.append(f"traceback on stderr: {outcome.stderr[-2000:]}")
    errors = [line for line in outcome.stderr.splitlines() if line.startswith("sigmd: error:")]
    if len(errors) > 1:
        problems.append(f"{len(errors)} error lines")
    printed = outcome.stdout + outcome.stderr
    if [p for p in extract.patient_ids if p in printed]:
        problems.append("a patient id was printed")
    return problems


def assert_clean_output(outcome: Outcome, extract: Extract) -> None:
    """No traceback, at most one error line, no patient id in anything the run printed."""
    assert output_problems(outcome, extract) == []


def leftovers(db: Path) -> list[Path]:
    """Files a run owns only while it runs: building files and Data Docs work folders."""
    found = list(db.parent.glob(f".{db.name}.building-*"))
    work = db.parent / f"{db.stem}-validation" / ".work"
    if work.exists():
        found += list(work.iterdir())
    return found


class Readers:
    """Threads that open the published database read-only in a loop while runs go on."""

    def __init__(self, db: Path, n_screened: int, count: int = 2):
        self.db, self.n_screened = db, n_screened
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.reads = 0
        self.threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(count)]

    def __enter__(self) -> Readers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _loop(self) -> None:
        last_runs = 0
        while not self.stop.is_set():
            try:
                with duckdb.connect(str(self.db), read_only=True) as con:
                    [(n,)] = con.sql("select count(*) from cohort.screening").fetchall()
                    [(runs,)] = con.sql("select count(*) from audit.runs").fetchall()
            except Exception as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            self.reads += 1
            if n != self.n_screened:
                self.errors.append(f"saw {n} screened patients, expected {self.n_screened}")
            if runs < last_runs:
                self.errors.append(f"audit.runs went back from {last_runs} to {runs} rows")
            last_runs = runs
            self.stop.wait(0.05)
