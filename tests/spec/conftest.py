"""Harness for the spec tests: small per-patient tables in, one status per patient out.

A spec test writes each input table as a pipe table and reads back what the engine decided:

    result = screen(labs='''
        patient | date       | test | value | unit  | ref_low | ref_high | specimen
        p1      | 2020-01-10 | IgM  | 25    | mg/dL |         |          | s1
    ''')
    assert result.status == {"p1": "single_low"}

Table syntax
- The first line names the columns; each following line is one input row, in file order (so
  the n-th line is `source_row` n). Cells are trimmed; an empty cell is an empty CSV field. A
  cell written in single quotes ('  25 ') is kept verbatim, spaces included.
- Short column names stand for canonical ones (SPEC §2); any other name is used as is:
  labs:        patient, date, test, system, name, specimen  (value, unit, ref_low, ref_high)
  patients:    patient                                       (birth_date, birth_year, sex)
  medications: patient, name, code, system, start, end       (route)
  diagnoses:   patient, code, system, date
  mapping:     written as given (test_system, test_code, loinc, local_unit, ucum_unit)
- labs `test`: IgM / IgG / IgA (spelt so: IGM is a local code) stand for LOINC 2472-9 /
  2465-3 / 2458-8 with test_system LOINC (unless a `system` cell says otherwise); any other
  value is the test_code itself.
- labs without a `unit` column are in mg/dL.
- Without `patients`, every patient seen in another table is born 1980-01-01, sex F (an adult:
  IgM 37–286, IgG 767–1590, IgA 61–356 mg/dL from the shipped table).

`screen(..., run_date=date(...))` fixes the run date (default: the day the test runs), the last
day a date of the extract may be (SPEC §2).

The returned `Screened` has dicts keyed by patient: `status`, `severity` (None when empty),
`index_date`, `reasons` (sorted); patients absent from `cohort.screening` are absent from them.
The engine's own frames are on `.result`.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from textwrap import dedent

import polars as pl
import pytest

LOINC = {"IgM": "2472-9", "IgG": "2465-3", "IgA": "2458-8"}  # spelt exactly so

COLUMNS = {
    "labs": [
        "patient_id",
        "collected_date",
        "test_code",
        "test_system",
        "test_name",
        "value",
        "unit",
        "ref_low",
        "ref_high",
        "specimen_id",
    ],
    "patients": ["patient_id", "birth_date", "birth_year", "sex"],
    "medications": [
        "patient_id",
        "drug_name",
        "drug_code",
        "drug_system",
        "start_date",
        "end_date",
        "route",
    ],
    "diagnoses": ["patient_id", "code", "code_system", "diagnosis_date"],
}

ALIASES = {
    "labs": {
        "patient": "patient_id",
        "date": "collected_date",
        "test": "test_code",
        "system": "test_system",
        "name": "test_name",
        "specimen": "specimen_id",
    },
    "patients": {"patient": "patient_id"},
    "medications": {
        "patient": "patient_id",
        "name": "drug_name",
        "code": "drug_code",
        "system": "drug_system",
        "start": "start_date",
        "end": "end_date",
    },
    "diagnoses": {"patient": "patient_id", "system": "code_system", "date": "diagnosis_date"},
}

DEFAULT_PATIENT = {"birth_date": "1980-01-01", "sex": "F"}

# The one place where the engine's reason codes (docs/input.md) meet the specs' words: a spec word
# stands for exactly these codes (a patient-level reason has its own code in the patients table
# and in the tables that refer to the patient).
QUARANTINE_REASONS = {
    "unknown_patient": {"unknown_patient"},
    "no_birth_data": {"no_birth_data", "patient_without_birth_data"},
    "conflicting_birth_data": {"conflicting_birth_data", "patient_conflicting_birth_data"},
    "unparseable_value": {"unparseable_value"},
    "unknown_unit": {"unknown_unit"},
    "bad_date": {"invalid_date", "invalid_start_date", "invalid_end_date"},
    "date_out_of_range": {
        "date_out_of_range",
        "start_date_out_of_range",
        "end_date_out_of_range",
        "birth_date_out_of_range",
    },
    "end_before_start": {"end_before_start"},
    "unknown_code_system": {"unknown_code_system"},
}
IGNORED_REASONS = {
    "duplicate": {"exact_duplicate"},
    "not_loinc": {"unmapped_local_code"},
    "other_test": {"not_an_analyte"},
}


def parse_table(text: str) -> list[dict[str, str]]:
    """Rows of a pipe table as dicts (column -> cell text)."""
    lines = [line for line in dedent(text).splitlines() if line.strip()]
    header, *body = ([cell(c) for c in line.split("|")] for line in lines)
    for row in body:
        assert len(row) == len(header), f"pipe table row has {len(row)} cells: {row}"
    return [dict(zip(header, row, strict=True)) for row in body]


def cell(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1]
    return text


def canonical_rows(table: str, text: str) -> list[dict[str, str]]:
    rows = [{ALIASES[table].get(k, k): v for k, v in row.items()} for row in parse_table(text)]
    return [lab_row(row) for row in rows] if table == "labs" else rows


def lab_row(row: dict[str, str]) -> dict[str, str]:
    analyte = row.get("test_code", "")
    if analyte in LOINC:
        row["test_code"] = LOINC[analyte]
        row["test_system"] = row.get("test_system") or "LOINC"
    row.setdefault("unit", "mg/dL")
    return row


def write_csv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    extra = [c for row in rows for c in row if c not in columns]
    header = columns + list(dict.fromkeys(extra))
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in header})


def default_patients(tables: dict[str, list[dict[str, str]]]) -> list[dict[str, str]]:
    seen = dict.fromkeys(row["patient_id"] for rows in tables.values() for row in rows)
    return [{"patient_id": p, **DEFAULT_PATIENT} for p in seen if p]


@dataclass
class Screened:
    """What the engine decided, keyed by patient, plus its raw ScreenResult."""

    result: object
    status: dict[str, str]
    severity: dict[str, str | None]
    index_date: dict[str, date | None]
    reasons: dict[str, list[str]]

    def row(self, patient: str) -> dict:
        """The patient's row of `screening`, as a dict."""
        rows = self.result.screening.filter(pl.col("patient_id") == patient).to_dicts()
        assert len(rows) == 1, f"{patient} has {len(rows)} rows in screening"
        return rows[0]

    def quarantined(self, table: str) -> list[tuple[str | None, int]]:
        """(patient_id, source_row) of every quarantined row of a table, in row order."""
        q = self.result.quarantine.filter(pl.col("table_name") == table).sort("source_row")
        return list(zip(q["patient_id"], q["source_row"], strict=True))

    def counts(self, table: str) -> dict[str, int]:
        """read / used / quarantined / ignored row counts of one input table."""
        rows = self.result.row_counts.filter(pl.col("table_name") == table).to_dicts()
        assert len(rows) == 1, f"no row_counts for {table}"
        return rows[0]

    def ignored(self, table: str, why: str) -> int:
        """Rows of a table ignored for one reason (see IGNORED_REASONS)."""
        frame = self.result.ignored_reasons.filter(pl.col("table_name") == table)
        codes = IGNORED_REASONS[why]
        return sum(
            rows
            for reason, rows in zip(frame["reason"], frame["rows"], strict=True)
            if reason in codes
        )

    def assert_quarantined(
        self,
        *,
        table: str,
        patient: str | None = None,
        rows: list[int] | None = None,
        reason: str | None = None,
    ) -> None:
        """The table has quarantined rows (of that patient; exactly those rows; for that reason)."""
        q = self.result.quarantine.filter(pl.col("table_name") == table)
        if patient is not None:
            q = q.filter(pl.col("patient_id") == patient)
        assert q.height > 0, f"no quarantined {table} rows for {patient}"
        if rows is not None:
            assert sorted(q["source_row"].to_list()) == sorted(rows)
        if reason is not None:
            codes = QUARANTINE_REASONS[reason]
            for got in q["reason"]:
                assert got in codes, f"reason {got!r} is not {reason}"


def summarise(result) -> Screened:
    screening = result.screening
    rows = screening.to_dicts()
    return Screened(
        result=result,
        status={r["patient_id"]: r["status"] for r in rows},
        severity={r["patient_id"]: r["severity"] or None for r in rows},
        index_date={r["patient_id"]: r["index_date"] for r in rows},
        reasons={r["patient_id"]: sorted(r["exclusion_reasons"] or []) for r in rows},
    )


@pytest.fixture
def screen(tmp_path: Path) -> Callable[..., Screened]:
    """Write the given tables as a canonical extract, screen it, summarise per patient."""
    from pipeline.run.engine import screen_extract

    runs = iter(range(1, 1000))

    def run(
        labs: str,
        patients: str | None = None,
        medications: str | None = None,
        diagnoses: str | None = None,
        rules_dir: Path | None = None,
        mapping: str | Path | None = None,
        run_date: date | None = None,
    ) -> Screened:
        folder = tmp_path / f"extract{next(runs)}"
        folder.mkdir()
        tables = {"labs": canonical_rows("labs", labs)}
        for name, text in (("medications", medications), ("diagnoses", diagnoses)):
            if text is not None:
                tables[name] = canonical_rows(name, text)
        if patients is None:
            tables["patients"] = default_patients(tables)
        else:
            tables["patients"] = canonical_rows("patients", patients)
        for name, rows in tables.items():
            write_csv(folder / f"{name}.csv", COLUMNS[name], rows)
        if isinstance(mapping, str):
            mapping_rows = parse_table(mapping)
            mapping = tmp_path / f"mapping{next(runs)}.csv"
            write_csv(mapping, list(mapping_rows[0]), mapping_rows)
        # The Great Expectations suites are contract checks tested in tests/unit/test_validate.py
        # and end to end; the rules do not depend on them, so the spec cases skip them (speed).
        result = screen_extract(
            folder,
            source_format="canonical",
            rules_dir=rules_dir,
            mapping=mapping,
            suites=False,
            run_date=run_date,
        )
        return summarise(result)

    return run


@pytest.fixture
def site_rules(tmp_path: Path) -> Callable[[str, Callable[[str], str]], Path]:
    """A copy of the shipped rules folder with one file edited: site_rules(file, edit) -> dir."""
    from pipeline.rules import DEFAULT_RULES_DIR

    folder = tmp_path / "site_rules"
    shutil.copytree(DEFAULT_RULES_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))

    def edit(file: str, change: Callable[[str], str]) -> Path:
        path = folder / file
        text = path.read_text()
        assert change(text) != text, f"the edit of {file} changed nothing"
        path.write_text(change(text))
        return folder

    return edit
