"""The CLI's messages say precisely what happened: a file given as the extract folder, a database
folder that the run created, and click's own usage errors in the same `sigmd: error:` form as
ours."""

from __future__ import annotations

import pytest

from pipeline.cli import main

pytestmark = pytest.mark.integration

LABS = """patient_id,collected_date,test_code,test_system,test_name,value,unit,ref_low,ref_high,specimen_id
p1,2020-01-10,2472-9,LOINC,IgM,25,mg/dL,,,s1
p1,2020-01-10,2465-3,LOINC,IgG,1000,mg/dL,,,s1
p1,2020-01-10,2458-8,LOINC,IgA,200,mg/dL,,,s1
"""
PATIENTS = "patient_id,birth_date,sex\np1,1980-01-01,F\n"


@pytest.mark.parametrize("source_format", ["canonical", "mimic-iv", "omop"])
def test_a_file_given_as_the_extract_says_it_is_a_file(tmp_path, capsys, source_format):
    labs = tmp_path / "labs.csv"
    labs.write_text(LABS)
    db = tmp_path / "sigmd.duckdb"
    code = main(["run", "--extract", str(labs), "--db", str(db), "--format", source_format])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"sigmd: error: {labs}: is a file, not an extract folder "
        "(give the folder that holds the tables)"
    ]
    assert not db.exists()


def test_a_missing_extract_folder_still_says_not_found(tmp_path, capsys):
    assert (
        main(["run", "--extract", str(tmp_path / "nope"), "--db", str(tmp_path / "s.duckdb")]) == 2
    )
    assert "extract folder not found" in capsys.readouterr().err


def test_the_summary_says_when_the_database_folder_was_created(tmp_path, capsys):
    extract = tmp_path / "extract"
    extract.mkdir()
    (extract / "labs.csv").write_text(LABS)
    (extract / "patients.csv").write_text(PATIENTS)
    db = tmp_path / "new" / "cohort" / "sigmd.duckdb"
    assert main(["run", "--extract", str(extract), "--db", str(db)]) == 0
    assert f"Cohort database: {db} (created the folder {db.parent})" in capsys.readouterr().out
    assert main(["run", "--extract", str(extract), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert f"Cohort database: {db}\n" in out  # the folder existed this time


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--extract", "x"], "Missing option '--db'."),
        (["run", "--extract", "x", "--db", "s.duckdb", "--bogus"], "No such option '--bogus'."),
        (["nope"], "No such command 'nope'."),
        (["generate", "--out", "x", "--patients", "0"], "Invalid value for '--patients'"),
        (
            ["run", "--extract", "x", "--db", "s.duckdb", "--format", "csv"],
            "Invalid value for '--format'",
        ),
    ],
)
def test_usage_errors_carry_the_same_prefix_as_ours(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("Usage: sigmd")
    assert err[1].startswith("Try 'sigmd") and err[1].endswith("--help' for help.")
    assert err[2].startswith(f"sigmd: error: {message}")
    assert len(err) == 3
