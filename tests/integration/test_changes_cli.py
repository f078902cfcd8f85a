"""`sigmd changes`: counts by change and status, patient ids only on request, the purge."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipeline.cli import main

pytestmark = pytest.mark.integration

PATIENTS = "patient_id,birth_date,sex\np1,1980-01-01,F\np2,1980-01-01,M\np3,1980-01-01,F\n"
FIRST = """patient_id,collected_date,test_code,test_system,value,unit
p1,2020-01-10,2472-9,LOINC,25,mg/dL
p1,2020-01-10,2465-3,LOINC,1000,mg/dL
p1,2020-01-10,2458-8,LOINC,200,mg/dL
p2,2020-01-10,2472-9,LOINC,120,mg/dL
"""
# p1 gets a repeat low 120 days later (single_low -> persistent); p3 is new, p2 unchanged.
SECOND = FIRST + "p1,2020-05-09,2472-9,LOINC,20,mg/dL\np3,2020-01-10,2472-9,LOINC,100,mg/dL\n"


def extract(folder: Path, labs: str) -> Path:
    folder.mkdir()
    (folder / "labs.csv").write_text(labs)
    (folder / "patients.csv").write_text(PATIENTS)
    return folder


@pytest.fixture
def db(tmp_path: Path) -> Path:
    db = tmp_path / "sigmd.duckdb"
    for name, labs in (("first", FIRST), ("second", SECOND)):
        assert main(["run", "--extract", str(extract(tmp_path / name, labs)), "--db", str(db)]) == 0
    return db


def test_sigmd_run_says_what_changed(capsys, db):  # capsys first: it captures the runs of `db`
    out = capsys.readouterr().out
    assert "Since the previous publish: 2 new_patient; 0 newly persistent" in out
    assert "Since the previous publish: 1 new_patient, 1 status_changed; 1 newly persistent" in out


def test_changes_prints_counts_without_patient_ids(db, capsys):
    capsys.readouterr()
    assert main(["changes", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "run 2 against the previous publish" in out
    lines = [line.split() for line in out.splitlines()]
    assert ["new_patient", "-", "igm_not_low", "1"] in lines
    assert ["status_changed", "single_low", "persistent", "1"] in lines
    assert "2 patients changed; 1 newly persistent." in out
    assert "p1" not in out and "p3" not in out


def test_patients_are_listed_only_when_asked(db, capsys):
    capsys.readouterr()
    assert main(["changes", "--db", str(db), "--patients"]) == 0
    out = capsys.readouterr().out
    assert "internal use only" in out
    assert "p1  status_changed  single_low -> persistent" in out
    assert "p3  new_patient" in out and "p2" not in out


def test_since_a_run_and_an_unknown_run(db, capsys):
    assert main(["changes", "--db", str(db), "--since", "2"]) == 0
    assert "No changes in run 2 against run 2." in capsys.readouterr().out
    assert main(["changes", "--db", str(db), "--since", "7"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sigmd: error: no run '7'") and err.count("\n") == 1


def test_purge_forgets_older_history_and_keeps_the_rest(db, capsys):
    def count(sql: str) -> int:
        with duckdb.connect(str(db), read_only=True) as con:
            return con.execute(sql).fetchone()[0]

    runs = count("select count(*) from audit.runs")
    changes = count("select count(*) from cohort.status_changes")
    assert count("select count(*) from cohort.status_history where run_number = 1") == 2
    assert main(["changes", "--db", str(db), "--purge-before", "2"]) == 0
    assert "Removed 2 rows of cohort.status_history before run 2." in capsys.readouterr().out
    assert count("select min(run_number) from cohort.status_history") == 2
    assert count("select count(*) from audit.runs") == runs
    assert count("select count(*) from cohort.status_changes") == changes
    assert (
        count(
            "select count(*) from duckdb_columns() where comment is null and schema_name in ('cohort', 'audit')"
        )
        == 0
    )
    assert not list(db.parent.glob(".sigmd.duckdb.building-*"))
