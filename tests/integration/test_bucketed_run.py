"""`sigmd run --buckets N` and `sigmd partition` end to end: the same database as one bucket.

The published database of a bucketed run equals the one of `--buckets 1` in every table of
every schema, row for row, except the columns that time the run. Refusals give the same exit
code and the same one line, and leave neither a database nor a work folder behind.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
from helpers.databases import all_tables

from pipeline.cli import main
from pipeline.synth import generate_extract

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).parents[1] / "fixtures" / "broken"
DEMO = Path(__file__).parents[2] / ".." / "shared" / "data" / "mimic-iv-demo-2.2"


def test_a_bucketed_run_publishes_the_database_of_one_bucket(tmp_path: Path, capsys):
    extract = tmp_path / "extract"
    generate_extract(extract, 400, seed=11, split_labs=2)
    with (extract / "labs_part-02.csv").open("a") as labs:  # quarantined rows, a duplicate
        labs.write("P0000001,2021-07-05,2472-9,LOINC,IgM,QNS,mg/dL,,,\n")
        labs.write("nobody,2021-07-05,2472-9,LOINC,IgM,20,mg/dL,,,\n")
        labs.write(" P0000001 ,2021-07-04,2472-9,LOINC,IgM,23,mg/dL,,,S0000001001\n")
    whole, bucketed = tmp_path / "one" / "sigmd.duckdb", tmp_path / "many" / "sigmd.duckdb"
    assert main(["run", "--extract", str(extract), "--db", str(whole)]) == 0
    assert main(["run", "--extract", str(extract), "--db", str(bucketed), "--buckets", "5"]) == 0
    expected, got = all_tables(whole), all_tables(bucketed)
    assert got.keys() == expected.keys()
    assert {"cohort.screening", "cohort.exclusions", "audit.quarantine"} <= set(got)
    for name, rows in expected.items():
        assert got[name] == rows, name
    assert len(got["cohort.screening"]) > 100
    assert len(got["cohort.exclusions"]) > 0 and len(got["audit.quarantine"]) > 0
    # The run-scoped work folder (under the Data Docs' .work folder) is gone after the run.
    assert not (bucketed.parent / "sigmd-validation" / ".work").exists()


@pytest.mark.skipif(not DEMO.is_dir(), reason="the MIMIC-IV demo is not next to the repository")
def test_a_bucketed_run_of_another_format_reads_through_its_adapter_first(tmp_path: Path):
    whole, bucketed = tmp_path / "one.duckdb", tmp_path / "many.duckdb"
    common = ["run", "--format", "mimic-iv", "--extract", str(DEMO)]
    assert main([*common, "--db", str(whole)]) == 0
    assert main([*common, "--db", str(bucketed), "--buckets", "3"]) == 0
    assert all_tables(bucketed) == all_tables(whole)


def test_partition_command_reports_rows_in_and_out(tmp_path: Path, capsys):
    extract = tmp_path / "extract"
    generate_extract(extract, 50, seed=2)
    out = tmp_path / "part"
    assert main(["partition", "--extract", str(extract), "--out", str(out), "--buckets", "4"]) == 0
    printed = capsys.readouterr().out.splitlines()
    labs = next(line for line in printed if line.startswith("labs:"))
    read, written, buckets = (int(w) for w in labs.split() if w.isdigit())
    assert read == written > 0 and buckets == 4
    assert sorted(p.name for p in out.iterdir()) == [
        *(f"bucket={k}" for k in range(4)),
        "partition.json",
    ]


REFUSED = sorted(
    p.name
    for p in CORPUS.iterdir()
    if p.is_dir()
    and not p.name.startswith("_")
    and tomllib.loads((p / "expected.toml").read_text())["outcome"] == "refused"
)


@pytest.mark.parametrize("defect", REFUSED)
def test_a_bucketed_run_refuses_what_a_whole_run_refuses_with_the_same_line(
    defect: str, tmp_path: Path, capsys
):
    expected = tomllib.loads((CORPUS / defect / "expected.toml").read_text())
    extract = tmp_path / "extract"
    shutil.copytree(CORPUS / "_base", extract)
    for name in expected.get("delete", []):
        (extract / name).unlink()
    for path in (CORPUS / defect).iterdir():
        if path.name != "expected.toml":
            shutil.copy(path, extract / path.name)
    db = tmp_path / "out" / "sigmd.duckdb"
    capsys.readouterr()
    code = main(["run", "--extract", str(extract), "--db", str(db), "--buckets", "3"])
    err = capsys.readouterr().err
    assert code == expected["exit_code"]
    message = expected["message"].replace("{extract}", str(extract))
    assert err.strip().splitlines() == [f"sigmd: error: {message}"]
    assert not db.exists()
    work = db.parent / "sigmd-validation" / ".work"
    assert not work.exists() or list(work.iterdir()) == []


def test_retrying_one_bucket_redoes_that_bucket_only(tmp_path: Path):
    from pipeline.run import stages

    extract = tmp_path / "extract"
    generate_extract(extract, 80, seed=9)
    work, db = tmp_path / "work", tmp_path / "out" / "sigmd.duckdb"
    parts = stages.partition(str(extract), str(work), 3)
    assert [p["bucket"] for p in parts] == [0, 1, 2]
    done = [stages.screen_bucket(str(work), p["bucket"]) for p in parts]

    def inodes() -> list[int]:
        return [(Path(d["path"]) / "bucket.json").stat().st_ino for d in done]

    before = inodes()
    (work / "buckets" / ".bucket=1.writing-killed").mkdir()  # a killed attempt's leftovers
    assert stages.screen_bucket(str(work), 1) == done[1]
    after = inodes()
    assert [after[0], after[2]] == [before[0], before[2]]
    assert after[1] != before[1]

    checked = stages.merge_and_check(str(work), str(db), [d["path"] for d in reversed(done)])
    assert checked["success"]
    stages.publish(str(work), str(db))
    assert main(["run", "--extract", str(extract), "--db", str(tmp_path / "cli.duckdb")]) == 0
    assert all_tables(db) == all_tables(tmp_path / "cli.duckdb")
