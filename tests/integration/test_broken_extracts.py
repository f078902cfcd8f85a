"""The corpus of broken extracts (tests/fixtures/broken/): one test per defect.

Each refused extract must give its one-line message, its exit code and leave the published
database byte-for-byte unchanged; each row-level defect must quarantine exactly its rows with
its reason while the run goes on and publishes.
"""

from __future__ import annotations

import hashlib
import shutil
import tomllib
from pathlib import Path

import duckdb
import pytest

from pipeline.cli import main

CORPUS = Path(__file__).parents[1] / "fixtures" / "broken"
BASE = CORPUS / "_base"
DEFECTS = sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith("_"))


def build(defect: str, folder: Path) -> dict:
    """The base extract with the defect's files laid over it; returns expected.toml."""
    expected = tomllib.loads((CORPUS / defect / "expected.toml").read_text())
    shutil.copytree(BASE, folder)
    for name in expected.get("delete", []):
        (folder / name).unlink()
    for path in (CORPUS / defect).iterdir():
        if path.name != "expected.toml":
            shutil.copy(path, folder / path.name)
    return expected


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """A database published from the valid base extract, copied for each test."""
    db = tmp_path_factory.mktemp("published") / "sigmd.duckdb"
    assert main(["run", "--extract", str(BASE), "--db", str(db)]) == 0
    return db


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_corpus_has_a_defect_per_kind():
    kinds = {tomllib.loads((CORPUS / d / "expected.toml").read_text())["outcome"] for d in DEFECTS}
    assert kinds == {"refused", "quarantined", "ignored", "published"}
    assert len(DEFECTS) >= 30


@pytest.mark.parametrize("defect", DEFECTS)
def test_broken_extract(defect, tmp_path, published, capsys):
    extract = tmp_path / "extract"
    expected = build(defect, extract)
    db = tmp_path / "sigmd.duckdb"
    shutil.copy(published, db)
    before = digest(db)
    capsys.readouterr()

    code = main(["run", "--extract", str(extract), "--db", str(db)])
    err = capsys.readouterr().err

    if expected["outcome"] == "refused":
        assert code == expected["exit_code"]
        message = expected["message"].replace("{extract}", str(extract))
        assert err.strip().splitlines() == [f"sigmd: error: {message}"]
        assert "Traceback" not in err
        assert digest(db) == before, "a refused extract changed the published database"
        return

    assert code == 0, err
    with duckdb.connect(str(db), read_only=True) as con:
        quarantine = con.sql(
            "select table_name, reason, count(*) from audit.quarantine group by all order by all"
        ).fetchall()
        ignored = {
            (t, r): n
            for t, r, n in con.sql(
                "select table_name, reason, rows from audit.ignored "
                "where run_number = (select max(run_number) from audit.runs)"
            ).fetchall()
        }
        [(n_runs,)] = con.sql("select count(*) from audit.runs").fetchall()
    assert n_runs == 2
    if expected["outcome"] == "quarantined":
        wanted = [(expected["table"], expected["reason"], expected["rows"])]
        wanted += [tuple(row) for row in expected.get("also", [])]
        assert quarantine == sorted(wanted)
    else:
        assert quarantine == []
    if expected["outcome"] == "ignored":
        assert ignored[(expected["table"], expected["reason"])] == expected["rows"]
