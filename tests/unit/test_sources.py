"""Reading an extract folder: file types, split tables, column checks, identifier refusal."""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest

from pipeline.errors import ExtractRefused
from pipeline.read.sources import read_extract
from pipeline.run.engine import screen_extract

HEADER = "patient_id,collected_date,test_code,value,unit,specimen_id\n"
ROWS = [
    "p1,2020-01-10,2472-9,25,mg/dL,s1\n",
    "p1,2020-01-10,2465-3,1000,mg/dL,s1\n",
    "p1,2020-01-10,2458-8,200,mg/dL,s1\n",
    "p1,2020-06-10,2472-9,20,mg/dL,s2\n",
]
PATIENTS = "patient_id,birth_date,sex\np1,1980-01-01,F\n"


def folder(tmp_path: Path) -> Path:
    path = tmp_path / "extract"
    path.mkdir()
    (path / "patients.csv").write_text(PATIENTS)
    return path


def status_of(path: Path) -> dict:
    return dict(screen_extract(path).screening.select("patient_id", "status").iter_rows())


def test_a_table_split_over_csv_and_csv_gz_files_reads_as_one(tmp_path):
    path = folder(tmp_path)
    (path / "labs_2020-01.csv.gz").write_bytes(gzip.compress((HEADER + "".join(ROWS[:3])).encode()))
    (path / "labs-2020-06.csv").write_text(HEADER + ROWS[3])
    (path / "truth.csv").write_text("not,a,table\n")
    (path / "laboratory.csv").write_text("not a labs file\n")
    extract = read_extract(path)
    assert sorted(Path(i.path).name for i in extract.inputs if i.table == "labs") == [
        "labs-2020-06.csv",
        "labs_2020-01.csv.gz",
    ]
    assert status_of(path) == {"p1": "persistent"}


def test_a_table_split_over_parquet_files_reads_as_one(tmp_path):
    path = folder(tmp_path)
    for month, rows in (("01", ROWS[:2]), ("02", ROWS[2:])):
        pl.read_csv((HEADER + "".join(rows)).encode(), infer_schema=False).write_parquet(
            path / f"labs_2020-{month}.parquet"
        )
    assert status_of(path) == {"p1": "persistent"}


def test_a_table_in_both_csv_and_parquet_is_refused_never_merged(tmp_path):
    # SPEC §2: a stale labs.csv next to labs.parquet is refused.
    path = folder(tmp_path)
    (path / "labs.csv").write_text(HEADER + "".join(ROWS[:2]))
    pl.read_csv((HEADER + "".join(ROWS[2:])).encode(), infer_schema=False).write_parquet(
        path / "labs.parquet"
    )
    with pytest.raises(ExtractRefused, match="both CSV and Parquet"):
        read_extract(path)


def test_column_names_match_case_insensitively_and_extra_columns_are_ignored(tmp_path):
    path = folder(tmp_path)
    (path / "labs.csv").write_text(
        "Patient_ID, Collected_Date ,TEST_CODE,Value,Unit,Specimen_ID,lab_comment\n"
        + "".join(r.rstrip("\n") + ",x\n" for r in ROWS)
    )
    assert status_of(path) == {"p1": "persistent"}


def test_parquet_dates_and_numbers_are_read_like_text(tmp_path):
    path = folder(tmp_path)
    frame = pl.read_csv((HEADER + "".join(ROWS)).encode(), try_parse_dates=True)
    assert frame.schema["collected_date"] == pl.Date and frame.schema["value"] == pl.Int64
    frame.write_parquet(path / "labs.parquet")
    assert status_of(path) == {"p1": "persistent"}


@pytest.mark.parametrize(
    "column",
    [
        "name",
        "Patient Name",
        "first_name",
        "address_line_1",
        "phone",
        "e-mail",
        "NHS_number",
        "MRN",
        "ssn",
    ],
)
def test_identifier_like_columns_refuse_the_extract(tmp_path, column):
    path = folder(tmp_path)
    (path / "labs.csv").write_text(
        HEADER.rstrip("\n") + f",{column}\n" + ROWS[0].rstrip("\n") + ",x\n"
    )
    with pytest.raises(ExtractRefused, match="identifier") as refused:
        read_extract(path)
    assert refused.value.file == "labs.csv" and refused.value.column == column


def test_test_name_and_drug_name_are_not_identifiers(tmp_path):
    path = folder(tmp_path)
    (path / "labs.csv").write_text(
        HEADER.rstrip("\n") + ",test_name\n" + "".join(r.rstrip("\n") + ",IgM\n" for r in ROWS)
    )
    (path / "medications.csv").write_text(
        "patient_id,drug_name,start_date\np1,paracetamol,2019-01-01\n"
    )
    assert status_of(path) == {"p1": "persistent"}


def test_a_split_file_missing_a_required_column_is_named(tmp_path):
    path = folder(tmp_path)
    (path / "labs_a.csv").write_text(HEADER + ROWS[0])
    (path / "labs_b.csv").write_text(
        "patient_id,collected_date,test_code,value\np1,2020-01-10,2472-9,25\n"
    )
    with pytest.raises(ExtractRefused, match="missing required column") as refused:
        read_extract(path)
    assert (refused.value.file, refused.value.column) == ("labs_b.csv", "unit")


def test_patients_need_a_birth_date_or_birth_year_column(tmp_path):
    path = folder(tmp_path)
    (path / "patients.csv").write_text("patient_id,sex\np1,F\n")
    (path / "labs.csv").write_text(HEADER + ROWS[0])
    with pytest.raises(ExtractRefused, match="birth_date, birth_year"):
        read_extract(path)


def test_an_unreadable_parquet_file_is_refused_by_name(tmp_path):
    path = folder(tmp_path)
    (path / "labs.parquet").write_bytes(b"this is not parquet")
    with pytest.raises(ExtractRefused, match="unreadable") as refused:
        read_extract(path)
    assert refused.value.file == "labs.parquet"
