"""Find and read the SQL that builds the cohort database.

Every statement publishing runs lives in its own file under the repository's `sql/` folder, named
after what it builds (`cohort/omop_cohort`, `audit/runs_history`, ...). In an installed wheel the
folder ships as `pipeline/_sql` (see `[tool.hatch.build.targets.wheel.force-include]`); in a
source checkout it is read from the repository root. This module resolves that folder and reads
statements and the table/column comments (`comments.toml`) from it.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import TypedDict

_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # pipeline/
SQL_DIRS = (_PACKAGE_DIR / "_sql", _PACKAGE_DIR.parent / "sql")


class TableComments(TypedDict):
    """The comment of one table and of each of its columns, in table order."""

    table: str
    columns: dict[str, str]


def sql_dir() -> Path:
    """The folder holding the SQL: the wheel's `pipeline/_sql` first, else the repo's `sql/`."""
    for candidate in SQL_DIRS:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("no sql folder found next to the pipeline package")


@cache
def load_sql(name: str) -> str:
    """The text of one statement, e.g. `load_sql("cohort/omop_cohort")` (`.sql` is optional)."""
    relative = name if name.endswith(".sql") else f"{name}.sql"
    path = sql_dir() / relative
    if not path.is_file():
        raise FileNotFoundError(f"no SQL statement named '{name}'")
    return path.read_text(encoding="utf-8")


@cache
def load_comments() -> dict[str, dict[str, TableComments]]:
    """The analyst-facing comments of every table, by schema then table (`comments.toml`)."""
    with (sql_dir() / "comments.toml").open("rb") as handle:
        comments: dict[str, dict[str, TableComments]] = tomllib.load(handle)
    return comments
