"""Property: screening an extract in N patient buckets gives exactly the result of screening it whole.

Random valid extracts (every table, duplicates, ids with spaces, unknown patients, conflicting
birth data, quarantined rows, split files) are screened with `--buckets 1` and with N buckets,
N in 1..16: every frame of the result is equal, row for row and in order, except the timings.
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import fields
from datetime import date
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.result import ScreenResult
from pipeline.rules import load_rules
from pipeline.run.engine import screen_extract
from pipeline.run.merge import screen_bucketed

RULES = load_rules()
PATIENTS = [f"p{i}" for i in range(1, 13)]
IDS = [*PATIENTS, " p2", "p3 ", "nobody", ""]  # spaces are trimmed; unknown and blank quarantine
# Drawn inside the years wanted, never mapped onto other years (a 29 February would not exist).
DATES = st.dates(date(2012, 1, 1), date(2021, 12, 31)).map(date.isoformat)

lab = st.fixed_dictionaries(
    {
        "patient_id": st.sampled_from(IDS),
        "collected_date": DATES | st.sampled_from(["2020-02-30", ""]),
        "test_code": st.sampled_from(["2472-9", "2472-9", "2465-3", "2458-8", "2951-2", ""]),
        "test_system": st.sampled_from(["LOINC", "", "loinc"]),
        "value": st.sampled_from(["25", "<5", "1000", "200", "> 300", "0.3", "40", "QNS"]),
        "unit": st.sampled_from(["mg/dL", "g/L", "MG/DL"]),
        "specimen_id": st.sampled_from(["", "s1", "s2"]),
    }
)
patient = st.fixed_dictionaries(
    {
        "patient_id": st.sampled_from(PATIENTS[1:]),  # p1 is written once, with a birth date
        "birth_date": st.sampled_from(["1950-02-02", "1980-01-01", "2015-06-15", ""]),
        "sex": st.sampled_from(["F", "M", "female", "x"]),
    }
)
medication = st.fixed_dictionaries(
    {
        "patient_id": st.sampled_from(IDS),
        "drug_name": st.sampled_from(["clozapine", "Tegretol", "prednisolone", "paracetamol"]),
        "start_date": DATES,
        "end_date": st.sampled_from(["", "2030-01-01", "2013-01-01"]),
        "route": st.sampled_from(["", "oral", "topical"]),
    }
)
diagnosis = st.fixed_dictionaries(
    {
        "patient_id": st.sampled_from(IDS),
        "code": st.sampled_from(["C91.10", "C50", "B20", "J45", "238.71"]),
        "code_system": st.sampled_from(["ICD10", "ICD-9-CM", "SNOMED"]),
        "diagnosis_date": DATES,
    }
)


def write(path: Path, rows: list[dict[str, str]], columns: list[str]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        writer.writerows(rows)


def comparable(result: ScreenResult) -> dict[str, object]:
    return {
        f.name: getattr(result, f.name)
        for f in fields(result)
        if f.name not in ("timings", "started_at")
    }


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    labs=st.lists(lab, min_size=1, max_size=40),
    patients=st.lists(patient, min_size=1, max_size=16),
    meds=st.lists(medication, max_size=12),
    diags=st.lists(diagnosis, max_size=12),
    repeats=st.lists(st.integers(0, 100), max_size=4),
    split=st.booleans(),
    buckets=st.integers(1, 16),
)
def test_bucketed_screening_equals_whole_screening(
    labs, patients, meds, diags, repeats, split, buckets
):
    # One usable IgM result, so that the extract is never refused as a whole.
    labs = [
        {
            **labs[0],
            "patient_id": "p1",
            "collected_date": "2020-05-05",
            "test_code": "2472-9",
            "value": "25",
            "unit": "mg/dL",
        },
        *labs,
        *(dict(labs[i % len(labs)]) for i in repeats),  # exact duplicates
    ]
    patients = [{"patient_id": "p1", "birth_date": "1970-03-03", "sex": "F"}, *patients]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "extract"
        folder.mkdir()
        half = len(labs) // 2 if split else len(labs)
        write(folder / "labs_a.csv", labs[:half], list(lab_columns()))
        if split:
            write(folder / "labs_b.csv", labs[half:], list(lab_columns()))
        write(folder / "patients.csv", patients, ["patient_id", "birth_date", "sex"])
        write(folder / "medications.csv", meds, list(meds_columns()))
        write(
            folder / "diagnoses.csv", diags, ["patient_id", "code", "code_system", "diagnosis_date"]
        )
        whole = screen_extract(folder, rules=RULES, suites=False)
        bucketed = screen_bucketed(folder, buckets, rules=RULES, suites=False, work_root=tmp)
    assert whole.screening.height >= 1
    got, expected = comparable(bucketed), comparable(whole)
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        if isinstance(value, pl.DataFrame):
            assert isinstance(got[name], pl.DataFrame)
            assert got[name].equals(value), name
        else:
            assert got[name] == value, name


def lab_columns() -> tuple[str, ...]:
    return (
        "patient_id",
        "collected_date",
        "test_code",
        "test_system",
        "value",
        "unit",
        "specimen_id",
    )


def meds_columns() -> tuple[str, ...]:
    return ("patient_id", "drug_name", "start_date", "end_date", "route")
