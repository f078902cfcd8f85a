"""The one exception hierarchy of sigmd.

Every error a user can cause (a refused extract, a broken rules folder, a bad mapping file) is a
`SigmdError` with a one-line message naming the file, the column and the reason, and an exit code.
The CLI prints that line and exits; it never shows a traceback for these. Messages never carry a
patient's values: only file names, column names, check names and counts.
"""

from __future__ import annotations


class SigmdError(Exception):
    """A user-facing error: one clear line, a specific exit code."""

    exit_code = 1

    def __init__(self, message: str, *, file: str | None = None, column: str | None = None):
        self.file = file
        self.column = column
        self.reason = message
        super().__init__(self.render())

    def render(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.column:
            parts.append(f"column '{self.column}'")
        parts.append(self.reason)
        return ": ".join(parts)


class ExtractRefused(SigmdError):
    """The extract as a whole cannot be screened (missing table or column, identifiers, ...)."""

    exit_code = 2


class RulesError(SigmdError):
    """The rules folder is missing a file or holds an invalid value."""

    exit_code = 3


class MappingError(SigmdError):
    """The site mapping file (--mapping) is malformed."""

    exit_code = 4


class ValidationFailed(SigmdError):
    """The screened cohort failed its output checks; nothing was published."""

    exit_code = 5


class PublishError(SigmdError):
    """The cohort database (or its Data Docs) could not be written, or `--db` names a file that
    is not a sigmd database; the published database is unchanged."""

    exit_code = 6


class NotFound(SigmdError):
    """`sigmd report` / `sigmd explain`: the database, or the patient asked for, is not there."""

    exit_code = 2


class LockTimeout(SigmdError):
    """Another run held the database's lock for longer than `--lock-timeout`; nothing was done."""

    exit_code = 7


# Every exit code of `sigmd`, as documented in README.md and docs/reliability.md.
EXIT_CODES = {
    0: "success: the cohort database was published and the run is in audit.runs",
    1: "an unexpected error (a bug): please report it with the traceback",
    2: "the extract was refused (missing or unreadable file, table or column; wrong encoding); "
    "for sigmd report / explain: the database or the patient asked for is not there",
    3: "the rules folder is invalid",
    4: "the mapping file is invalid",
    5: "the cohort failed an output check; nothing was published",
    6: "the database or its Data Docs could not be written (unwritable folder, full disk), "
    "or --db is not a sigmd database; the published database is unchanged",
    7: "another run held the database's lock for longer than --lock-timeout; nothing was done",
}
