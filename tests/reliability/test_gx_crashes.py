"""A crash at any file write of the validation state never breaks a later run.

Great Expectations used to rewrite its project files in place, so a run killed between the
truncate and the write left an empty `great_expectations.yml` that broke every later run. Here
every file write (and every rename or link) made while a run publishes its Data Docs is found,
and for each one in turn a run "crashes" right there: the file is opened (truncated, as a
crash after `open(path, "wb")` leaves it) and the process stops (`SimulatedCrash`, which nothing
catches). After each crash the current Data Docs site must still be whole, and the next run,
after the clean-up every run does under the database's lock, must get past that point: the next
run is the next crash trial (which crashes one step later), and after every `VERIFY_EVERY`-th
crash a run must publish its Data Docs completely. One full `sigmd run` at the end must succeed.
"""

from __future__ import annotations

import builtins
import io
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.publish.lock import database_lock
from pipeline.run.engine import screen_extract
from pipeline.validate.docs import docs_index, publish_data_docs
from pipeline.validate.report import docs_dir_for, validate_cohort

BASE = Path(__file__).parents[1] / "fixtures" / "broken" / "_base"
KEEP = 2
VERIFY_EVERY = 4


class SimulatedCrash(BaseException):
    """The process stops here: no `except Exception` handler runs."""


def is_write(mode: str) -> bool:
    return any(flag in mode for flag in "wax+")


@contextmanager
def intercepted(on_event: Callable[[str, str, Callable[[], Any]], Any]) -> Iterator[None]:
    """Route every write-mode open, rename, replace and symlink through `on_event`."""
    real_open, real_rename, real_replace, real_symlink = (
        builtins.open,
        os.rename,
        os.replace,
        os.symlink,
    )

    def fake_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, int) or not is_write(mode):
            return real_open(file, mode, *args, **kwargs)
        return on_event("write", str(file), lambda: real_open(file, mode, *args, **kwargs))

    def fake(kind: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(src: Any, dst: Any, *args: Any, **kwargs: Any) -> Any:
            return on_event(kind, str(dst), lambda: real(src, dst, *args, **kwargs))

        return call

    builtins.open = io.open = fake_open  # type: ignore[assignment]
    os.rename, os.replace, os.symlink = (
        fake("rename", real_rename),
        fake("replace", real_replace),
        fake("symlink", real_symlink),
    )
    try:
        yield
    finally:
        builtins.open = io.open = real_open  # type: ignore[assignment]
        os.rename, os.replace, os.symlink = real_rename, real_replace, real_symlink


def record_events(action: Callable[[], Any]) -> list[tuple[str, str]]:
    events: list[tuple[str, str]] = []

    def on_event(kind: str, path: str, proceed: Callable[[], Any]) -> Any:
        events.append((kind, path))
        return proceed()

    with intercepted(on_event):
        action()
    return events


def crash_at(number: int, action: Callable[[], Any]) -> tuple[str, str] | None:
    """Run `action`, crashing at its `number`-th event; the event crashed at, or None."""
    seen = 0
    crashed: list[tuple[str, str]] = []

    def on_event(kind: str, path: str, proceed: Callable[[], Any]) -> Any:
        nonlocal seen
        seen += 1
        if seen != number:
            return proceed()
        crashed.append((kind, path))
        if kind == "write":
            proceed().close()  # truncated (or created empty), never written
        raise SimulatedCrash(path)

    with intercepted(on_event), suppress(SimulatedCrash):
        action()
    return crashed[0] if crashed else None


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run's saved suite results (extract, ig_results, cohort)."""
    folder = tmp_path_factory.mktemp("results")
    result = screen_extract(BASE, results_dir=folder)
    validate_cohort(result, results_dir=folder)
    assert sorted(p.name for p in folder.iterdir()) == [
        "cohort.json",
        "extract.json",
        "ig_results.json",
    ]
    return folder


def test_a_crash_at_every_write_of_the_data_docs_never_breaks_a_later_run(
    results, tmp_path, figures
):
    db = tmp_path / "sigmd.duckdb"
    assert main(["run", "--extract", str(BASE), "--db", str(db), "--docs-history", str(KEEP)]) == 0
    docs = docs_dir_for(db)

    def next_run(attempt: str) -> Path | None:
        with database_lock(db):  # removes what a dead run left, as every run does
            return publish_data_docs(results, docs, attempt_id=attempt, keep=KEEP)

    # The first run of `results` still renders the CLI run's results from the history; from the
    # second on, the history holds only copies of `results`, so every run makes the same events.
    next_run("settle")
    events = record_events(lambda: next_run("recorded"))
    assert len(record_events(lambda: next_run("recorded-again"))) == len(events)
    gx_writes = [p for kind, p in events if kind == "write" and "/.work/" in p]
    assert len(gx_writes) > 20  # the GX project, its stores and the rendered site
    assert [p for kind, p in events if kind == "write" and "/.work/" not in p] == [
        p for kind, p in events if kind == "write" and "/history/" in p
    ]  # outside the run's work folder, only the history (written under a temporary name)

    crashed_at: list[tuple[str, str]] = []
    verified = 0
    for number in range(1, len(events) + 1):
        event = crash_at(number, lambda n=number: next_run(f"crash{n:03d}"))
        assert event is not None
        crashed_at.append(event)
        index = docs_index(docs)
        assert index.is_file() and index.stat().st_size > 0  # readers see a whole site
        if number % VERIFY_EVERY == 0 or number == len(events):
            assert next_run(f"after{number:03d}") == index
            assert "<html" in index.read_text().lower()
            assert len(list((docs / "history").iterdir())) <= KEEP
            verified += 1

    assert main(["run", "--extract", str(BASE), "--db", str(db), "--docs-history", str(KEEP)]) == 0
    assert not (docs / ".work").exists()
    kinds = {kind for kind, _ in crashed_at}
    assert kinds == {"write", "rename", "replace", "symlink"}
    # Every crash above was followed by a run that got past it (the test stops at the first
    # that does not), so no crash broke a later run.
    figures(
        "Data Docs crashes",
        crashes=len(crashed_at),
        gx_file_writes=len(gx_writes),
        other_writes_renames_links=len(crashed_at) - len(gx_writes),
        runs_after_a_crash=len(crashed_at),
        complete_publications_checked=verified + 1,
        later_runs_broken=0,
    )
