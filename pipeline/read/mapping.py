"""The site mapping file (`--mapping FILE`): local lab codes and units to LOINC and UCUM.

A CSV with columns `test_system, test_code, loinc` and, optionally, `local_unit, ucum_unit`
(other columns, such as `source` or `note`, are allowed and ignored). Each row maps one local
code of one local system to a LOINC code; a row that also gives `local_unit` and `ucum_unit` says
that results of that code reported in `local_unit` are in `ucum_unit` (e.g. a lab that writes
`G/L` as `GPL`). Systems and units match case-insensitively, codes exactly (after trimming).

The file is checked as a whole when it is loaded, and the first problem stops the run with one
line naming the file, the column and the row (docs/mapping.md lists every check). A LOINC code
must be well formed with the right check digit; it need not be one of the three immunoglobulins:
mapping a site's other tests is allowed and makes them count as `not_an_analyte` instead of
`unmapped_local_code`. Checks that need the rules (a LOINC spelling used as a local system, a
`ucum_unit` the rules cannot convert for the mapped analyte) run when the rules are passed in.
The messages quote the mapping's own cells, never patient data.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.errors import MappingError
from pipeline.read.loinc import is_loinc
from pipeline.rules import Rules, unit_key

REQUIRED = ("test_system", "test_code", "loinc")
UNIT_COLUMNS = ("local_unit", "ucum_unit")
_SHOWN_CHARS = 40


@dataclass(frozen=True)
class SiteMapping:
    codes: pl.DataFrame  # _system, _code, _loinc
    units: pl.DataFrame  # _system, _code, _unit_key, _ucum_unit
    sha256: str


def load_mapping(path: Path | str | None, rules: Rules | None = None) -> SiteMapping | None:
    """Read and check a mapping file; None without one. Raises MappingError on the first fault."""
    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        raise MappingError("mapping file not found", file=str(path))
    raw = path.read_bytes()
    frame = _read(raw, path.name)
    frame = _check_cells(frame, path.name, rules)
    if rules is not None:
        _check_against_rules(frame, rules, path.name)
    codes = frame.select(
        pl.col("test_system").str.to_uppercase().alias("_system"),
        pl.col("test_code").alias("_code"),
        pl.col("loinc").alias("_loinc"),
    ).unique(maintain_order=True)
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
    return SiteMapping(codes=codes, units=units, sha256=hashlib.sha256(raw).hexdigest())


def _read(raw: bytes, name: str) -> pl.DataFrame:
    """The file's cells as trimmed strings (empty = null) with a 1-based `_line` data row."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MappingError("not a UTF-8 text file", file=name) from None
    header = next(csv.reader(io.StringIO(text)), None)
    if not header or not any(h.strip() for h in header):
        raise MappingError("empty file: expected a header line", file=name)
    columns = [h.strip().lower() for h in header]
    if len(columns) == 1 and any(sep in columns[0] for sep in (";", "\t", "|")):
        raise MappingError("columns must be separated by commas", file=name)
    seen: set[str] = set()
    for column in columns:
        if column in seen:
            raise MappingError("duplicate column name", file=name, column=column)
        seen.add(column)
    for column in REQUIRED:
        if column not in columns:
            raise MappingError("missing required column", file=name, column=column)
    try:
        frame = pl.read_csv(
            text.encode(), infer_schema=False, new_columns=columns, truncate_ragged_lines=False
        )
    except pl.exceptions.PolarsError:
        raise MappingError(
            "not a readable CSV file (a row has more cells than the header)", file=name
        ) from None
    frame = frame.with_columns(
        pl.when(pl.col(c).str.strip_chars() != "").then(pl.col(c).str.strip_chars()).alias(c)
        for c in frame.columns
    )
    for column in UNIT_COLUMNS:
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(column))
    if frame.is_empty():
        raise MappingError("no mapping rows below the header", file=name)
    return frame.with_row_index("_line", offset=1)


def _fail(frame: pl.DataFrame, bad: pl.Expr, name: str, column: str, reason: str) -> None:
    """Raise for the first row where `bad` holds, quoting that row's cell of `column`."""
    rows = frame.filter(bad.fill_null(False))
    if rows.is_empty():
        return
    row = rows.row(0, named=True)
    shown = _show(row[column])
    raise MappingError(
        f"row {row['_line']}: {reason.format(value=shown)}", file=name, column=column
    )


def _show(value: object) -> str:
    text = " ".join(str(value).split())
    if len(text) > _SHOWN_CHARS:
        text = text[: _SHOWN_CHARS - 1] + "…"
    return f"'{text}'"


def _check_cells(frame: pl.DataFrame, name: str, rules: Rules | None = None) -> pl.DataFrame:
    for column in REQUIRED:
        _fail(frame, pl.col(column).is_null(), name, column, "empty value")
    # The example is the rules' own IgM code; without the rules the message quotes none.
    code = rules.loinc["igm"].replace("{", "{{").replace("}", "}}") if rules is not None else ""
    example = f", e.g. {code}" if code else ""
    _fail(
        frame,
        ~pl.col("loinc").str.contains(r"^\d{1,7}-\d$"),
        name,
        "loinc",
        "{value} is not a LOINC code (digits, '-', check digit" + example + ")",
    )
    _fail(
        frame,
        ~is_loinc(pl.col("loinc")),
        name,
        "loinc",
        "{value} has a wrong check digit: not a LOINC code",
    )
    _fail(
        frame,
        pl.col("local_unit").is_not_null() & pl.col("ucum_unit").is_null(),
        name,
        "ucum_unit",
        "local_unit and ucum_unit must be given together",
    )
    _fail(
        frame,
        pl.col("ucum_unit").is_not_null() & pl.col("local_unit").is_null(),
        name,
        "local_unit",
        "local_unit and ucum_unit must be given together",
    )
    system = pl.col("test_system").str.to_uppercase()
    conflicting_loinc = pl.col("loinc").n_unique().over(system, "test_code") > 1
    _fail(
        frame,
        conflicting_loinc,
        name,
        "loinc",
        "the local code on this row is mapped to more than one LOINC code ({value} and another)",
    )
    unit = unit_key(pl.col("local_unit"))
    conflicting_unit = pl.col("ucum_unit").n_unique().over(system, "test_code", unit) > 1
    _fail(
        frame,
        pl.col("local_unit").is_not_null() & conflicting_unit,
        name,
        "ucum_unit",
        "the local unit on this row is mapped to more than one UCUM unit ({value} and another)",
    )
    return frame


def _check_against_rules(frame: pl.DataFrame, rules: Rules, name: str) -> None:
    """Checks that need the rules in use: LOINC spellings and the units they convert."""
    loinc_systems = list(rules.code_systems.get("loinc", ()))
    _fail(
        frame,
        pl.col("test_system").str.to_uppercase().is_in(loinc_systems),
        name,
        "test_system",
        "{value} is a LOINC system: its rows are read as LOINC without a mapping",
    )
    analyte = pl.col("loinc").replace_strict(
        rules.analyte_by_loinc, default=None, return_dtype=pl.String
    )
    known = rules.units.select(
        pl.col("analyte").alias("_analyte"), pl.col("unit_key").alias("_ucum_key"), _known=True
    )
    checked = frame.with_columns(_analyte=analyte, _ucum_key=unit_key(pl.col("ucum_unit"))).join(
        known, on=["_analyte", "_ucum_key"], how="left", maintain_order="left"
    )
    _fail(
        checked,
        pl.col("_analyte").is_not_null()
        & pl.col("ucum_unit").is_not_null()
        & pl.col("_known").is_null(),
        name,
        "ucum_unit",
        "{value} is not a unit the rules convert for this analyte (see units.csv)",
    )
