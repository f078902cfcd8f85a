"""Find the files of an extract, refuse what cannot be screened, and scan them as strings.

A table may be split over several files sharing its prefix (`labs_2024-01.csv`,
`labs_2024-02.csv`), as CSV, CSV.gz or Parquet. Every column is read as a string so that parsing
is ours; two bookkeeping columns, `_file` and `_row`, let quarantined rows be traced back to
their source line without copying their values anywhere. An extract with a column that looks
like a direct identifier is refused as a whole.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.errors import ExtractRefused
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
    """Map each table prefix to its files, sorted by name."""
    found: dict[str, list[Path]] = {p: [] for p in prefixes}
    for path in sorted(directory.iterdir()):
        if not path.is_file():
            continue
        lower = path.name.lower()
        suffix = next((s for s in SUFFIXES if lower.endswith(s)), None)
        if suffix is None:
            continue
        stem = lower[: -len(suffix)]
        for prefix in prefixes:
            if stem == prefix or re.match(rf"^{re.escape(prefix)}[_\-.]", stem):
                found[prefix].append(path)
                break
    return found


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_columns(path: Path) -> list[str]:
    """The header of one file, or ExtractRefused if it cannot be read."""
    try:
        if path.name.lower().endswith(".parquet"):
            return list(pl.scan_parquet(path).collect_schema().names())
        return list(pl.scan_csv(path, infer_schema=False, n_rows=0).collect_schema().names())
    except (pl.exceptions.PolarsError, OSError, ValueError):
        raise ExtractRefused("unreadable file (not valid CSV/Parquet)", file=path.name) from None


def scan_file(path: Path, columns: Sequence[str], rename: Mapping[str, str]) -> pl.LazyFrame:
    """Scan one file as strings, renamed to canonical names, with _file and _row added."""
    if path.name.lower().endswith(".parquet"):
        frame = pl.scan_parquet(path)
    else:
        frame = pl.scan_csv(path, infer_schema=False, encoding="utf8-lossy")
    frame = frame.rename(dict(rename)).with_row_index("_row", offset=1)
    present = set(rename.values())
    return frame.select(
        *[
            pl.col(c).cast(pl.String) if c in present else pl.lit(None, pl.String).alias(c)
            for c in columns
        ],
        pl.lit(path.name).alias("_file"),
        pl.col("_row").cast(pl.Int64),
    )


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
            frame = pl.scan_csv(path, infer_schema=False, encoding="utf8-lossy")
        # Counting nulls makes polars parse every field (a bare count would only split lines).
        counted = frame.select(pl.len().alias("__rows"), pl.all().null_count()).collect()
        return int(counted["__rows"].item())
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise ExtractRefused(
            f"unreadable file: cut short, corrupt or with a row of too many fields ({type(exc).__name__})",
            file=path.name,
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
