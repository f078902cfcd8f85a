"""Find the files of an extract, refuse what cannot be screened, and scan them as strings.

A table may be split over several files sharing its prefix (`labs_2024-01.csv`,
`labs_2024-02.csv`), as CSV, CSV.gz or Parquet. Every column is read as a string so that parsing
is ours; two bookkeeping columns, `_file` and `_row`, let quarantined rows be traced back to
their source line without copying their values anywhere. An extract with a column that looks
like a direct identifier is refused as a whole, and so is a table found in both CSV and Parquet
files, a CSV file that is not UTF-8 text with LF or CRLF line ends, or one that names a column
twice (`csv_text`). Blank lines are not rows: a CSV row with every field empty is dropped (its
line still counts in `_row`, so later rows keep their line's number). Every refusal gives the
true reason (permission denied, a symbolic link loop, UTF-16 text, ...) in one line.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.errors import ExtractRefused
from pipeline.read.sources import csv_text
from pipeline.result import InputFile

SUFFIXES = (".csv.gz", ".csv", ".parquet")

# Column names that identify a person directly. De-identified data only: such a column refuses
# the extract. `test_name` and `drug_name` are not identifiers; a bare or personal `name` is.
IDENTIFIER_COLUMN = re.compile(
    r"^(name|names|full_?name|first_?name|last_?name|given_?names?|family_?name|surname"
    r"|middle_?name|maiden_?name|patient_?name|person_?name|forename"
    r"|.*address.*|street|house_?number|city|zip_?code|post_?code|postal_?code"
    r"|.*phone.*|telephone|mobile|fax|.*e_?mail.*"
    r"|ssn|social_?security(_?number)?|.*nhs_?(number|no|num)?|nin|national_?insurance.*"
    r"|mrn|.*medical_?record.*|med_?rec(_?(no|num|number))?|hospital_?number|chi_?number)$"
)


@dataclass(frozen=True)
class TableSpec:
    required: tuple[str, ...]
    optional: tuple[str, ...]
    mandatory: bool


@dataclass
class Extract:
    """The canonical tables of one extract as lazy string frames, with their input files."""

    tables: dict[str, pl.LazyFrame | None]
    hashing: Future[list[InputFile]]  # see `input_files`
    directory: Path
    # The bundled mapping this source format needs when the site gives no --mapping file.
    default_mapping: Path | None = None

    @property
    def inputs(self) -> list[InputFile]:
        """The input files with their SHA-256 (waits for the hashing to finish)."""
        return self.hashing.result()


def not_a_folder(directory: Path) -> ExtractRefused:
    """The refusal of an extract path that is not a folder: missing, or a file."""
    if directory.exists():
        return ExtractRefused(
            "is a file, not an extract folder (give the folder that holds the tables)",
            file=str(directory),
        )
    return ExtractRefused("extract folder not found", file=str(directory))


def normalise_column(name: str) -> str:
    return name.strip().lower()


def discover(directory: Path, prefixes: Sequence[str]) -> dict[str, list[Path]]:
    """Map each table prefix to its files, sorted by name; refuse a table in two formats."""
    found: dict[str, list[Path]] = {p: [] for p in prefixes}
    for path in _entries(directory):
        lower = path.name.lower()
        suffix = next((s for s in SUFFIXES if lower.endswith(s)), None)
        if suffix is None:
            continue
        stem = lower[: -len(suffix)]
        for prefix in prefixes:
            if stem == prefix or re.match(rf"^{re.escape(prefix)}[_\-.]", stem):
                if _is_table_file(path):
                    found[prefix].append(path)
                break
    for prefix, paths in found.items():
        formats = {_file_format(p) for p in paths}
        if len(formats) > 1:
            names = ", ".join(p.name for p in paths)
            raise ExtractRefused(
                f"table '{prefix}' is in both CSV and Parquet files ({names}); the files of one "
                "table must share one format: remove the stale ones",
                file=str(directory),
            )
    return found


def _entries(directory: Path) -> list[Path]:
    try:
        return sorted(directory.iterdir())
    except OSError as exc:
        reason = "permission denied" if exc.errno in (errno.EACCES, errno.EPERM) else None
        raise ExtractRefused(
            f"the extract folder cannot be listed ({reason or os.strerror(exc.errno or 0)})",
            file=str(directory),
        ) from None


def _is_table_file(path: Path) -> bool:
    """Whether a name that matches a table is a file to read; refuse a link that leads nowhere."""
    try:
        if path.is_file():
            return True
        if path.is_dir():
            return False
        path.stat()  # raises for a symbolic link loop or a link to a missing file
    except OSError as exc:
        raise csv_text.refusal_for_os_error(exc, path) from None
    raise ExtractRefused("is not a regular file", file=path.name)


def _file_format(path: Path) -> str:
    return "parquet" if path.name.lower().endswith(".parquet") else "csv"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_columns(path: Path) -> list[str]:
    """The header of one file, or ExtractRefused (with its true reason) if it cannot be read."""
    if path.name.lower().endswith(".parquet"):
        csv_text.open_binary(path).close()  # refuses an unreadable file with its true reason
    elif csv_text.header(path) is None:  # a .gz whose start is cut short
        raise ExtractRefused(
            "unreadable file: cut short, corrupt or with a row of too many fields (OSError)",
            file=path.name,
        )
    try:
        if path.name.lower().endswith(".parquet"):
            return list(pl.scan_parquet(path).collect_schema().names())
        return list(pl.scan_csv(path, infer_schema=False, n_rows=0).collect_schema().names())
    except (pl.exceptions.PolarsError, OSError, ValueError):
        raise ExtractRefused("unreadable file (not valid CSV/Parquet)", file=path.name) from None


def scan_file(path: Path, columns: Sequence[str], rename: Mapping[str, str]) -> pl.LazyFrame:
    """Scan one file as strings, renamed to canonical names, with _file and _row added."""
    if path.name.lower().endswith(".parquet"):
        frame = pl.scan_parquet(path).with_row_index("_row", offset=1)
    else:
        frame = without_blank_rows(
            pl.scan_csv(path, infer_schema=False).with_row_index("_row", offset=1)
        )
    frame = frame.rename(dict(rename))
    present = set(rename.values())
    return frame.select(
        *[
            pl.col(c).cast(pl.String) if c in present else pl.lit(None, pl.String).alias(c)
            for c in columns
        ],
        pl.lit(path.name).alias("_file"),
        pl.col("_row").cast(pl.Int64),
    )


def without_blank_rows(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Drop the rows of a CSV file whose every field is empty: blank lines are not rows."""
    return frame.filter(~pl.all_horizontal(pl.exclude("_row").is_null()))


def read_table(
    name: str, paths: Sequence[Path], spec: TableSpec, required_any: Sequence[Sequence[str]] = ()
) -> pl.LazyFrame:
    """Check the headers of a table's files and scan them into one lazy frame."""
    frames = []
    columns = (*spec.required, *spec.optional)
    for path in paths:
        header = file_columns(path)
        rename: dict[str, str] = {}
        for original in header:
            canonical = normalise_column(original)
            if IDENTIFIER_COLUMN.match(re.sub(r"[^a-z0-9]+", "_", canonical).strip("_")):
                raise ExtractRefused(
                    "looks like a direct identifier; only de-identified extracts are accepted",
                    file=path.name,
                    column=original,
                )
            if canonical in rename.values():
                raise ExtractRefused("duplicate column name", file=path.name, column=original)
            if canonical in columns:
                rename[original] = canonical
        for column in spec.required:
            if column not in rename.values():
                raise ExtractRefused(
                    f"missing required column of table '{name}'", file=path.name, column=column
                )
        for group in required_any:
            if not any(c in rename.values() for c in group):
                raise ExtractRefused(
                    f"table '{name}' needs one of these columns: {', '.join(group)}",
                    file=path.name,
                    column=group[0],
                )
        frames.append(scan_file(path, columns, rename))
    return pl.concat(frames, how="vertical")


def count_rows(path: Path) -> int:
    """Read one file to its end and count its data rows; refuse it if it cannot be read."""
    try:
        if path.name.lower().endswith(".parquet"):
            frame = pl.scan_parquet(path)
        else:
            frame = without_blank_rows(
                pl.scan_csv(path, infer_schema=False).with_row_index("_row", offset=1)
            )
        # Counting nulls makes polars parse every field (a bare count would only split lines).
        counted = frame.select(pl.len().alias("__rows"), pl.all().null_count()).collect()
        return int(counted["__rows"].item())
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        if not path.name.lower().endswith(".parquet"):
            line = csv_text.first_invalid_line(path)
            if line is not None:
                raise ExtractRefused(
                    f"is not UTF-8 text (invalid bytes on line {line}); save it as UTF-8",
                    file=path.name,
                ) from None
        if isinstance(exc, OSError) and exc.errno is not None:
            raise csv_text.refusal_for_os_error(exc, path) from None
        raise ExtractRefused(
            f"unreadable file: cut short, corrupt or with a row of too many fields ({type(exc).__name__})",
            file=path.name,
        ) from None


@contextmanager
def naming_unreadable_file(extract: Extract) -> Iterator[None]:
    """Turn a read failure in the middle of a file (cut short, corrupt) into a refusal that
    names the file: the headers were fine, so read each file again to find the culprit."""
    try:
        yield
    except (pl.exceptions.PolarsError, OSError) as exc:
        for item in extract.inputs:
            count_rows(Path(item.path))  # raises ExtractRefused naming the file
        raise ExtractRefused(
            f"an input file could not be read ({type(exc).__name__})", file="extract"
        ) from None


def input_files(table_paths: Mapping[str, Sequence[Path]]) -> Future[list[InputFile]]:
    """Start hashing the input files in the background; the future gives their `InputFile`s.

    One thread per extract hashes its files while polars reads them: SHA-256 runs at about
    1.4 GB/s here and releases the GIL, so it takes no wall time of its own. The files are read
    twice from disk (the second time usually from the page cache). The thread is not kept in a
    module-level pool, so a process forked later (an Airflow worker) never inherits a dead one.
    """
    paths = [(table, p) for table, ps in table_paths.items() for p in ps]
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256")
    try:
        return executor.submit(_hashed, paths)
    finally:
        executor.shutdown(wait=False)  # the thread ends when the hashing is done


def _hashed(paths: Sequence[tuple[str, Path]]) -> list[InputFile]:
    return [
        InputFile(table=table, path=str(p), sha256=sha256_file(p), bytes=p.stat().st_size)
        for table, p in paths
    ]
