"""The run journal: refused runs recorded beside the database until the next publish.

A refused run (a refused extract, a bad rules folder or mapping file, a cohort that failed its
output checks) must leave the published database exactly as it was, yet leave a record (SPEC
§4). It appends one JSON line to `<db name>.journal` beside the database: when it ran, on what,
its exit code and its one-line reason (which names files, columns and checks, never a value from
the data). The next publish carries every pending line into `audit.runs` with outcome `refused`
and then empties the journal. Appends and the carry-over both happen under the database's lock;
each line has the run's `attempt_id`, so a line carried over twice (a crash between the publish
and the emptying) is recorded once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.errors import LockTimeout, PublishError, SigmdError
from pipeline.publish.lock import DEFAULT_LOCK_TIMEOUT_SECONDS, database_lock, database_mode

log = logging.getLogger(__name__)

OUTCOME_REFUSED = "refused"


@dataclass(frozen=True)
class Attempt:
    """One execution of a run, as the journal and audit.runs know it."""

    attempt_id: str
    started_at: datetime
    extract_dir: str | None = None
    source_format: str | None = None
    code_version: str | None = None


def journal_path(db_path: Path) -> Path:
    return db_path.with_name(f"{db_path.name}.journal")


def record_refusal(
    db_path: Path | str,
    attempt: Attempt,
    error: SigmdError,
    *,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
) -> bool:
    """Append the refused run to the journal, under the lock; False if it could not be written.

    Best effort: the run is failing already, and its own error is what the user must see.
    """
    target = Path(db_path)
    finished = datetime.now(UTC)
    line = {
        **{k: v for k, v in asdict(attempt).items() if k != "started_at"},
        "started_at": _iso(attempt.started_at),
        "finished_at": _iso(finished),
        "duration_seconds": (finished - attempt.started_at).total_seconds(),
        "outcome": OUTCOME_REFUSED,
        "exit_code": error.exit_code,
        "reason": str(error).splitlines()[0] if str(error) else type(error).__name__,
    }
    data = (json.dumps(line, sort_keys=True) + "\n").encode("utf-8")
    try:
        with database_lock(target, lock_timeout):
            fd = os.open(
                journal_path(target),
                os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                database_mode(target),
            )
            try:
                os.write(fd, data)  # one write of one short line: appended whole
                os.fsync(fd)
            finally:
                os.close(fd)
    except (OSError, PublishError, LockTimeout) as exc:
        log.warning("could not record the refused run in the journal (%s)", type(exc).__name__)
        return False
    return True


def pending(db_path: Path) -> list[dict[str, Any]]:
    """The refused runs waiting in the journal, oldest first (call with the lock held).

    A line cut short (a run killed while appending) is skipped: it was never a whole record.
    """
    try:
        text = journal_path(db_path).read_text("utf-8", errors="replace")
    except FileNotFoundError:
        return []
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            entry = json.loads(line)
        except ValueError:
            log.warning(
                "skipping line %d of %s: not a whole record", number, journal_path(db_path).name
            )
            continue
        if isinstance(entry, dict) and entry.get("attempt_id"):
            entries.append(entry)
    return entries


def clear(db_path: Path) -> None:
    """Empty the journal after its runs were published (best effort: they are deduplicated)."""
    with contextlib.suppress(OSError):
        journal_path(db_path).unlink(missing_ok=True)


@contextlib.contextmanager
def recording_refusals(
    db_path: Path | str, attempt: Attempt, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS
) -> Iterator[None]:
    """Record a refusal raised inside the block in the journal, then let it go on."""
    try:
        yield
    except SigmdError as exc:
        if is_refusal(exc):
            record_refusal(db_path, attempt, exc, lock_timeout=lock_timeout)
        raise


def is_refusal(error: SigmdError) -> bool:
    """A run refused for its inputs or checks (not one that could not write or wait)."""
    return not isinstance(error, PublishError | LockTimeout)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat()
