"""Helpers the source adapters share: finding a layout's tables and shaping canonical frames.

An adapter reads its own tables with `files.read_table` (strings, `_file`/`_row`, refusals) and
then projects them onto the canonical tables of `canonical.TABLES`: exactly those columns, in
that order, as strings, plus the bookkeeping columns that trace each row to its source line.
Lookups (a dictionary table, admissions, a vocabulary) are left joins on a de-duplicated key,
so they can neither drop nor repeat a source row: the row accounting of the canonical table is
the row accounting of the source table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from pipeline.errors import ExtractRefused
from pipeline.read.parse import blank_to_null
from pipeline.read.sources.canonical import TABLES
from pipeline.read.sources.files import SUFFIXES, discover

BOOKKEEPING = ("_file", "_row")


def canonical_columns(table: str) -> tuple[str, ...]:
    spec = TABLES[table]
    return (*spec.required, *spec.optional)


def to_canonical(frame: pl.LazyFrame, table: str, columns: Mapping[str, pl.Expr]) -> pl.LazyFrame:
    """Project a source frame onto one canonical table; absent columns are null strings."""
    names = canonical_columns(table)
    unknown = sorted(set(columns) - set(names))
    if unknown:  # pragma: no cover - a programming error in an adapter, not a data problem
        raise ValueError(f"not columns of canonical table {table}: {unknown}")
    return frame.select(
        *[
            columns[n].cast(pl.String).alias(n)
            if n in columns
            else pl.lit(None, pl.String).alias(n)
            for n in names
        ],
        pl.col("_file").cast(pl.String),
        pl.col("_row").cast(pl.Int64),
    )


def find_tables(
    folder: Path, names: Sequence[str], mandatory: Sequence[str], layout: str
) -> dict[str, list[Path]]:
    """The files of each source table in `folder`; refuse when a mandatory table is missing."""
    paths = discover(folder, names)
    for name in mandatory:
        if not paths[name]:
            expected = ", ".join(f"{name}{s}" for s in SUFFIXES)
            raise ExtractRefused(
                f"required {layout} table '{name}' not found (expected {expected} "
                f"or split files {name}_*)",
                file=str(folder),
            )
    return paths


def text(column: str) -> pl.Expr:
    """A source column trimmed, with empty strings as null (so that coalesce skips them)."""
    return blank_to_null(pl.col(column))


def lookup(
    frame: pl.LazyFrame,
    table: pl.LazyFrame,
    *,
    key: pl.Expr,
    table_key: str,
    columns: Mapping[str, str],
) -> pl.LazyFrame:
    """Left-join `columns` (table column -> new name) of `table` on `key`, one match per row.

    The table is de-duplicated on its key first (the first row wins), and the join keeps the
    frame's row order, so every source row is kept exactly once.
    """
    right = (
        table.select(pl.col(table_key).alias("_lookup_key"), *[pl.col(c) for c in columns])
        .filter(pl.col("_lookup_key").is_not_null())
        .unique("_lookup_key", keep="first", maintain_order=True)
        .rename(dict(columns))
    )
    return (
        frame.with_columns(key.alias("_lookup_key"))
        .join(right, on="_lookup_key", how="left", maintain_order="left")
        .drop("_lookup_key")
    )
