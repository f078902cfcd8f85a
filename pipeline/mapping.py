"""The site mapping file (`--mapping FILE`): local lab codes and units to LOINC and UCUM.

A CSV with columns `test_system, test_code, loinc` and, optionally, `local_unit, ucum_unit`.
Each row maps one local code of one local system to a LOINC code; a row that also gives
`local_unit` and `ucum_unit` says that results of that code reported in `local_unit` are in
`ucum_unit` (e.g. a lab that writes `G/L` as `GPL`). Systems and units match
case-insensitively; a code mapped to two different LOINC codes is an error.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.errors import MappingError
from pipeline.rules import unit_key

REQUIRED = ("test_system", "test_code", "loinc")


@dataclass(frozen=True)
class SiteMapping:
    codes: pl.DataFrame  # _system, _code, _loinc
    units: pl.DataFrame  # _system, _code, _unit_key, _ucum_unit
    sha256: str


def load_mapping(path: Path | str | None) -> SiteMapping | None:
    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        raise MappingError("mapping file not found", file=str(path))
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except pl.exceptions.PolarsError:
        raise MappingError("not a readable CSV file", file=path.name) from None
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    for column in REQUIRED:
        if column not in frame.columns:
            raise MappingError("missing required column", file=path.name, column=column)
    for column in ("local_unit", "ucum_unit"):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(column))
    frame = frame.with_columns(pl.col(c).str.strip_chars() for c in frame.columns)
    for column in REQUIRED:
        if frame[column].is_null().any() or (frame[column] == "").any():
            raise MappingError("empty value", file=path.name, column=column)
    if (frame["local_unit"].is_null() != frame["ucum_unit"].is_null()).any():
        raise MappingError(
            "local_unit and ucum_unit must be given together", file=path.name, column="ucum_unit"
        )
    codes = frame.select(
        pl.col("test_system").str.to_uppercase().alias("_system"),
        pl.col("test_code").alias("_code"),
        pl.col("loinc").alias("_loinc"),
    ).unique()
    if codes.select("_system", "_code").is_duplicated().any():
        raise MappingError(
            "a local code is mapped to more than one LOINC code", file=path.name, column="loinc"
        )
    units = (
        frame.filter(pl.col("local_unit").is_not_null())
        .select(
            pl.col("test_system").str.to_uppercase().alias("_system"),
            pl.col("test_code").alias("_code"),
            unit_key(pl.col("local_unit")).alias("_unit_key"),
            pl.col("ucum_unit").alias("_ucum_unit"),
        )
        .unique(["_system", "_code", "_unit_key"], keep="first", maintain_order=True)
    )
    return SiteMapping(
        codes=codes, units=units, sha256=hashlib.sha256(path.read_bytes()).hexdigest()
    )
