"""The sigmd command end to end: run, refusals, help, idempotence."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipeline.cli import cli, main

pytestmark = pytest.mark.integration

LABS = """patient_id,collected_date,test_code,test_system,test_name,value,unit,ref_low,ref_high,specimen_id
p1,2020-01-10,2472-9,LOINC,IgM,25,mg/dL,,,s1
p1,2020-01-10,2465-3,LOINC,IgG,1000,mg/dL,,,s1
p1,2020-01-10,2458-8,LOINC,IgA,200,mg/dL,,,s1
p1,2020-06-10,2472-9,LOINC,IgM,0.2,g/L,,,s2
p2,2020-01-10,2472-9,LOINC,IgM,120,mg/dL,,,
p2,2020-01-10,2951-2,LOINC,Sodium,140,mmol/L,,,
p3,2020-01-10,2472-9,LOINC,IgM,QNS,mg/dL,,,
"""
PATIENTS = "patient_id,birth_date,sex\np1,1980-01-01,F\np2,1975-03-02,M\np3,1990-05-05,F\n"


@pytest.fixture
def extract(tmp_path: Path) -> Path:
    folder = tmp_path / "extract"
    folder.mkdir()
    (folder / "labs.csv").write_text(LABS)
    (folder / "patients.csv").write_text(PATIENTS)
    return folder


def query(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_run_publishes_the_cohort_and_prints_a_summary(extract, tmp_path, capsys):
    db = tmp_path / "sigmd.duckdb"
    assert main(["run", "--extract", str(extract), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "persistent" in out and str(db) in out
    assert query(db, "select patient_id, status from cohort.screening order by 1") == [
        ("p1", "persistent"),
        ("p2", "igm_not_low"),
    ]
    assert query(db, "select reason, count(*) from audit.quarantine group by 1") == [
        ("unparseable_value", 1)
    ]


def test_running_the_same_extract_twice_gives_identical_screening_and_two_runs(extract, tmp_path):
    db = tmp_path / "sigmd.duckdb"
    assert main(["run", "--extract", str(extract), "--db", str(db)]) == 0
    first = query(db, "select * from cohort.screening order by patient_id")
    assert main(["run", "--extract", str(extract), "--db", str(db)]) == 0
    assert query(db, "select * from cohort.screening order by patient_id") == first
    assert query(db, "select count(*), count(distinct run_id) from audit.runs") == [(2, 1)]


def test_row_accounting_is_recorded_per_table(extract, tmp_path):
    db = tmp_path / "sigmd.duckdb"
    assert main(["run", "--extract", str(extract), "--db", str(db)]) == 0
    rows = query(
        db, "select table_name, read, used, quarantined, ignored from audit.row_counts order by 1"
    )
    assert ("labs", 7, 5, 1, 1) in rows
    assert ("patients", 3, 3, 0, 0) in rows
    assert all(read == used + q + ign for _, read, used, q, ign in rows)


def test_refused_extract_leaves_the_published_database_unchanged(extract, tmp_path, capsys):
    db = tmp_path / "sigmd.duckdb"
    assert main(["run", "--extract", str(extract), "--db", str(db)]) == 0
    before = db.read_bytes()
    broken = tmp_path / "broken"
    shutil.copytree(extract, broken)
    (broken / "patients.csv").write_text(
        "patient_id,birth_date,sex,patient_name\np1,1980-01-01,F,x\n"
    )
    code = main(["run", "--extract", str(broken), "--db", str(db)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "patients.csv" in err and "patient_name" in err and "identifier" in err
    assert db.read_bytes() == before


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: (d / "patients.csv").unlink(), "required table 'patients'"),
        (
            lambda d: (d / "labs.csv").write_text("patient_id,collected_date,test_code,value\n"),
            "'unit'",
        ),
        (lambda d: (d / "labs.csv").write_text(LABS.replace("2472-9", "1234-5")), "no usable IgM"),
    ],
    ids=["missing-table", "missing-column", "no-igm"],
)
def test_refusals_name_the_problem_in_one_line(extract, tmp_path, capsys, change, expected):
    change(extract)
    code = main(["run", "--extract", str(extract), "--db", str(tmp_path / "s.duckdb")])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err
    assert "Traceback" not in err
    assert not (tmp_path / "s.duckdb").exists()


def test_error_messages_never_echo_patient_values(extract, tmp_path, capsys):
    (extract / "labs.csv").write_text(
        LABS + "p1,2020-13-45,2472-9,LOINC,IgM,SECRET-VALUE,furlongs,,,\n"
    )
    assert main(["run", "--extract", str(extract), "--db", str(tmp_path / "s.duckdb")]) == 0
    captured = capsys.readouterr()
    assert "SECRET-VALUE" not in captured.out + captured.err


def test_every_command_has_help_with_an_example():
    for name, command in cli.commands.items():
        assert command.help, name
        assert "Example" in command.help, name


def test_console_script_help_runs_as_a_process():
    done = subprocess.run(
        [sys.executable, "-c", "from pipeline.cli import main; raise SystemExit(main(['--help']))"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert "sigmd run" in done.stdout


def test_a_database_named_like_a_schema_is_refused_before_any_work(extract, tmp_path, capsys):
    code = main(["run", "--extract", str(extract), "--db", str(tmp_path / "cohort.duckdb")])
    assert code == 6
    assert "clashes with the schema" in capsys.readouterr().err
    assert not (tmp_path / "cohort.duckdb").exists()


def test_demo_generates_screens_and_shows_every_status(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--patients", "300"]) == 0
    printed = capsys.readouterr().out
    db = out / "sigmd.duckdb"
    assert str(db) in printed
    statuses = {s for (s,) in query(db, "select distinct status from cohort.screening")}
    assert statuses == {
        "under_min_age", "igm_not_low", "not_isolated", "excluded_drug", "excluded_malignancy",
        "excluded_other", "normalized", "single_low", "persistent",
    }  # fmt: skip
    assert (out / "extract" / "truth.csv").is_file()
    report = out / "sigmd-report.html"
    assert f"Analyst report: {report}" in printed
    assert report.is_file()


def test_generate_writes_a_parquet_extract_that_run_accepts(tmp_path, capsys):
    out = tmp_path / "gen"
    assert (
        main(
            [
                "generate",
                "--out",
                str(out),
                "--patients",
                "120",
                "--seed",
                "3",
                "--file-format",
                "parquet",
            ]
        )
        == 0
    )
    assert "planted" in capsys.readouterr().out
    assert (out / "labs.parquet").is_file()
    assert main(["run", "--extract", str(out), "--db", str(tmp_path / "g.duckdb")]) == 0
