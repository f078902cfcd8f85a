"""The lock that lets one run at a time write to a cohort database, and the files a run owns.

Every writer of a database (`sigmd run`, the DAG's tasks that publish, write Data Docs or append
to the run journal) holds an advisory lock on a hidden file beside it, `.<db name>.lock`
(`flock(2)` through the `filelock` library). The kernel drops the lock when its process dies,
however it dies, so a killed run never leaves a stale lock. A second run waits for the lock up
to a timeout (`--lock-timeout`, default 600 s) and then gives up with `LockTimeout` (exit 7),
having done nothing.

Because every file a run writes beside the database (its building file and DuckDB's
write-ahead log next to it, its Data Docs work folder) exists only while its run holds the lock,
whoever takes the lock knows that any such file it finds was left by a run that died: it removes
them before doing anything else. Files are named with a random per-run `attempt_id` (a UUID),
not the process id, so runs in separate PID namespaces (two containers) can never share one.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from pipeline.errors import LockTimeout, PublishError
from pipeline.validate.docs import remove_leftovers as remove_docs_leftovers
from pipeline.validate.report import docs_dir_for

log = logging.getLogger(__name__)

DEFAULT_LOCK_TIMEOUT_SECONDS = 600.0
# A database published for the first time gets this mode (owner only): it holds patient-level
# data. Later publications keep whatever mode the published file has (e.g. group read).
FIRST_PUBLISH_MODE = 0o600

# One FileLock per lock file in this process, so that nested holders (the CLI holds the lock for
# the whole run; `publish` takes it again) share its count instead of deadlocking.
_locks: dict[str, FileLock] = {}


def new_attempt_id() -> str:
    """A random id for one execution (names its files; its row in audit.runs)."""
    return uuid.uuid4().hex


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(f".{db_path.name}.lock")


def building_path(target: Path, attempt_id: str) -> Path:
    """The hidden file next to `target` in which one run builds the new database."""
    return target.with_name(f".{target.name}.building-{attempt_id}")


def database_mode(db_path: Path) -> int:
    """The file mode for files holding the database's data: the published file's, or 0600."""
    try:
        return stat.S_IMODE(db_path.stat().st_mode)
    except FileNotFoundError:
        return FIRST_PUBLISH_MODE


@contextlib.contextmanager
def database_lock(
    db_path: Path | str, timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS
) -> Iterator[None]:
    """Hold the database's lock (re-entrant within a process); remove dead runs' leftovers.

    Raises `LockTimeout` (exit 7) when another run holds it for longer than `timeout` seconds,
    and `PublishError` (exit 6) when the lock file cannot be created (unwritable folder).
    """
    target = Path(db_path)
    path = lock_path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = "it is not a folder" if target.parent.exists() else describe_os_error(exc)
        raise PublishError(
            f"cannot create the database folder ({reason})", file=str(target.parent)
        ) from None
    lock = _locks.get(str(path))
    if lock is None:
        lock = FileLock(
            path,
            mode=database_mode(target) | stat.S_IRUSR | stat.S_IWUSR,
            fallback_to_soft=False,  # a soft marker would outlive a killed run
            preserve_lock_file=True,
        )
        _locks[str(path)] = lock
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise LockTimeout(
            f"another run is writing to this database (lock {path.name}); "
            f"gave up after waiting {timeout:g} s (--lock-timeout)",
            file=str(target),
        ) from None
    except OSError as exc:
        raise PublishError(
            f"cannot take the database's lock ({describe_os_error(exc)}); "
            "the published database is unchanged",
            file=str(path),
        ) from None
    try:
        if lock.lock_counter == 1:
            remove_leftovers(target)
        yield
    finally:
        lock.release()


def remove_leftovers(db_path: Path) -> None:
    """Remove the files of runs that died (call with the lock held: no live run owns them)."""
    for leftover in db_path.parent.glob(f".{db_path.name}.building-*"):
        log.info("removing %s, left by a run that did not finish", leftover.name)
        remove_path(leftover)
    remove_docs_leftovers(docs_dir_for(db_path))


def remove_path(path: Path) -> None:
    """Remove a file or folder, best effort (never hide the error that stopped a run)."""
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def describe_os_error(exc: OSError) -> str:
    """An OSError as a short reason without its file name ('No space left on device')."""
    if exc.errno is not None:
        return os.strerror(exc.errno)
    return type(exc).__name__


def is_environment_fault(exc: BaseException) -> bool:
    """Whether an error is the machine's (full disk, no permission, read-only), not ours."""
    return isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS


ENVIRONMENT_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.EIO}
)
