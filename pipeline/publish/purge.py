"""Forget old changes: `sigmd changes --purge-before RUN` bounds cohort.status_history.

cohort.status_history grows by the changed patients of every publish for the life of the
database. A purge rewrites the database without the history rows of runs numbered below a given
run, exactly as a publish replaces it: the published file is copied, opened read-only, into a new
file next to it, the rows are deleted there, and the new file is checkpointed and moved onto the
published path with `os.replace`, so readers keep their snapshot and a failure changes nothing.
Every other table, audit.runs included, is kept as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from pipeline.errors import PublishError
from pipeline.publish import publish
from pipeline.publish.changes import run_number_of
from pipeline.publish.lock import (
    DEFAULT_LOCK_TIMEOUT_SECONDS,
    building_path,
    database_lock,
    database_mode,
    new_attempt_id,
)
from pipeline.publish.sql import load_sql


def purge_history(
    db_path: str | Path, before: str, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS
) -> tuple[int, int]:
    """Delete cohort.status_history rows of runs numbered below run `before` (id or number).

    Returns (the run number purged before, the rows deleted). Raises UnknownRun for a run the
    database does not hold, PublishError when the database could not be rewritten, LockTimeout
    when another run held the database's lock for longer than `lock_timeout` seconds.
    """
    target = Path(db_path)
    with database_lock(target, lock_timeout):  # one writer at a time, as a publish
        with duckdb.connect(str(target), read_only=True) as con:
            before_number = run_number_of(con, before)
        building = building_path(target, new_attempt_id())
        replaced = False
        try:
            with publish._private_files():
                con = duckdb.connect()
                try:
                    con.execute(
                        load_sql("building/attach"),
                        {
                            "path": str(building),
                            "storage_version": publish.STORAGE_COMPATIBILITY_VERSION,
                        },
                    )
                    con.execute(load_sql("previous/attach"), {"path": str(target)})
                    con.execute(load_sql("building/copy_previous"))
                    con.execute(load_sql("previous/detach"))
                    con.execute(load_sql("building/use"))
                    [(deleted,)] = con.execute(
                        load_sql("cohort/status_history_purge"),
                        {"before_run_number": before_number},
                    ).fetchall()
                    con.execute(load_sql("building/checkpoint"))
                finally:
                    con.close()
            os.chmod(building, database_mode(target))
            os.replace(building, target)
            replaced = True
        except (duckdb.Error, OSError) as exc:
            raise PublishError(
                f"could not purge the change history ({type(exc).__name__}); "
                "the database is unchanged",
                file=str(target),
            ) from exc
        finally:
            if not replaced:
                publish._remove_building(building)
        publish._sync_directory(target.parent)
    return before_number, int(deleted)
