"""The OMOP vocabulary as the OMOP adapter reads it: the `concept` table and the bundled concepts.

An OMOP extract may carry the vocabulary table `concept` (from Athena: tab-separated under a
`.csv` name, or comma-separated, or Parquet); only `concept_id`, `vocabulary_id`, `concept_code`
and `concept_name` are read, and concept 0 ('No matching concept') is no concept at all. The few
standard concept ids the adapter must know without that table (value operators, genders) and the
ICD vocabulary ids it reads as diagnosis code systems are data, in
`rules/mappings/omop-concepts.csv`.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.errors import ExtractRefused, RulesError
from pipeline.read.parse import blank_to_null
from pipeline.read.sources.files import SUFFIXES, normalise_column
from pipeline.read.sources.shape import lookup
from pipeline.rules import DEFAULT_RULES_DIR

CONCEPTS_FILE = DEFAULT_RULES_DIR / "mappings" / "omop-concepts.csv"
CONCEPT_REQUIRED = ("concept_id", "vocabulary_id", "concept_code")
CONCEPT_COLUMNS = (*CONCEPT_REQUIRED, "concept_name")


@dataclass(frozen=True)
class ConceptData:
    """The OMOP concepts the adapter reads, from rules/mappings/omop-concepts.csv."""

    operators: dict[str, str]  # operator_concept_id -> <, <=, =, >=, >
    genders: dict[str, str]  # gender_concept_id -> F / M
    icd_vocabularies: dict[str, str]  # upper-case vocabulary_id -> code_system


def load_concept_data(path: Path = CONCEPTS_FILE) -> ConceptData:
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError):
        raise RulesError("missing or unreadable rules file", file=str(path)) from None
    for column in ("field", "key", "value"):
        if column not in frame.columns:
            raise RulesError("missing required column", file=str(path), column=column)
    frame = frame.select(pl.col("field", "key", "value").str.strip_chars())
    if frame.select(pl.all().is_null().any()).row(0) != (False, False, False):
        raise RulesError("empty cell in field, key or value", file=str(path))

    def pairs(field: str) -> dict[str, str]:
        rows = frame.filter(pl.col("field") == field)
        return dict(zip(rows["key"], rows["value"], strict=True))

    operators = pairs("operator_concept_id")
    if not set(operators.values()) <= {"<", "<=", "=", ">=", ">"}:
        raise RulesError("an operator must be <, <=, =, >= or >", file=str(path), column="value")
    return ConceptData(
        operators=operators,
        genders=pairs("gender_concept_id"),
        icd_vocabularies={k.upper(): v for k, v in pairs("icd_vocabulary_id").items()},
    )


def vocabulary_files(directory: Path) -> list[Path]:
    """The `concept` table of the OMOP vocabulary (not concept_relationship and the like)."""
    found = []
    for path in sorted(directory.iterdir()):
        lower = path.name.lower()
        if path.is_file() and any(lower == f"concept{s}" for s in SUFFIXES):
            found.append(path)
    return found


def separator(path: Path) -> str:
    """Athena writes the vocabulary tab-separated under a .csv name: look at the header."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
            header = fh.readline()
    except OSError:
        raise ExtractRefused("unreadable file (not valid CSV/Parquet)", file=path.name) from None
    return "\t" if header.count("\t") > header.count(",") else ","


def read_concepts(paths: Sequence[Path]) -> pl.LazyFrame:
    """concept_id (as a lookup key), vocabulary_id, concept_code and concept_name, as strings."""
    frames = []
    for path in paths:
        if path.name.lower().endswith(".parquet"):
            frame = pl.scan_parquet(path)
        else:
            tab = separator(path) == "\t"
            frame = pl.scan_csv(
                path,
                separator="\t" if tab else ",",
                quote_char=None if tab else '"',
                infer_schema=False,
                encoding="utf8-lossy",
            )
        try:
            header = frame.collect_schema().names()
        except (pl.exceptions.PolarsError, OSError):
            raise ExtractRefused(
                "unreadable file (not valid CSV/Parquet)", file=path.name
            ) from None
        rename = {h: normalise_column(h) for h in header if normalise_column(h) in CONCEPT_COLUMNS}
        for column in CONCEPT_REQUIRED:
            if column not in rename.values():
                raise ExtractRefused(
                    "missing required column of the OMOP vocabulary table 'concept'",
                    file=path.name,
                    column=column,
                )
        frame = frame.rename(rename)
        frames.append(
            frame.select(
                concept_key(pl.col("concept_id").cast(pl.String)).alias("_concept_key"),
                blank_to_null(pl.col("vocabulary_id").cast(pl.String)).str.to_uppercase(),
                blank_to_null(pl.col("concept_code").cast(pl.String)),
                (
                    blank_to_null(pl.col("concept_name").cast(pl.String))
                    if "concept_name" in rename.values()
                    else pl.lit(None, pl.String)
                ).alias("concept_name"),
            )
        )
    return pl.concat(frames, how="vertical")


def concept_key(expr: pl.Expr) -> pl.Expr:
    """A concept id as a join key: trimmed, an integer written as float (`8507.0`) undone, and
    concept 0 ('No matching concept') treated as no concept at all."""
    key = expr.str.strip_chars().str.replace(r"\.0+$", "")
    return pl.when((key != "0") & (key != "")).then(key)


def with_concept(
    frame: pl.LazyFrame, concepts: pl.LazyFrame | None, column: str, prefix: str
) -> pl.LazyFrame:
    """Add `<prefix>_vocabulary`, `<prefix>_code`, `<prefix>_name` of the concept in `column`."""
    names = {
        "vocabulary_id": f"{prefix}_vocabulary",
        "concept_code": f"{prefix}_code",
        "concept_name": f"{prefix}_name",
    }
    if concepts is None:
        return frame.with_columns(pl.lit(None, pl.String).alias(n) for n in names.values())
    return lookup(
        frame,
        concepts,
        key=concept_key(pl.col(column)),
        table_key="_concept_key",
        columns=names,
    )
