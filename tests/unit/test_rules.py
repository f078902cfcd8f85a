"""The rules folder: loading, validation errors, hashing, and a site's own rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from pipeline.cli import main
from pipeline.errors import RulesError
from pipeline.rules import DEFAULT_RULES_DIR, load_rules

LABS = """patient_id,collected_date,test_code,value,unit,specimen_id
p1,2020-01-10,2472-9,25,mg/dL,s1
p1,2020-01-10,2465-3,1000,mg/dL,s1
p1,2020-01-10,2458-8,200,mg/dL,s1
"""


def statuses(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select patient_id, status from cohort.screening").fetchall()


@pytest.fixture
def site_rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def test_default_rules_load_with_every_analyte_band_and_window():
    rules = load_rules()
    assert rules.loinc == {"igm": "2472-9", "igg": "2465-3", "iga": "2458-8"}
    assert set(rules.reference_intervals["analyte"]) == {"igm", "igg", "iga"}
    assert {w.category for w in rules.windows.values()} == {"drug", "malignancy", "other"}
    assert set(rules.drugs["cause"]) <= {
        c for c, w in rules.windows.items() if w.category == "drug"
    }
    assert set(rules.diagnoses["cause"]) <= {
        c for c, w in rules.windows.items() if w.category != "drug"
    }
    assert len(rules.sha256) == 64


def test_the_hash_changes_with_any_byte_of_the_rules(site_rules):
    before = load_rules(site_rules).sha256
    (site_rules / "codelists" / "local_routes.csv").write_text(
        (site_rules / "codelists" / "local_routes.csv").read_text() + "route,buccal,\n"
    )
    assert load_rules(site_rules).sha256 != before


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("criteria.toml", "min_age_years = 4", "min_age_years = -4", "min_age_years"),
        ("criteria.toml", "[panel]", "[panels]", "[panel]"),
        ("reference_intervals.csv", "igm,216,,37,286", "igm,220,,37,286", "contiguous"),
        ("units.csv", "*,g/L,100", "*,g/L,lots", "expected type"),
        (
            "codelists/drugs.csv",
            "cause,ingredient,match,value",
            "cause,ingredient,kind,value",
            "match",
        ),
    ],
)
def test_a_broken_rules_folder_fails_with_one_line_naming_the_file(
    site_rules, file, old, new, message
):
    path = site_rules / file
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    with pytest.raises(RulesError, match=message):
        load_rules(site_rules)


def test_a_site_raising_the_minimum_age_changes_the_outcome(site_rules, tmp_path, capsys):
    extract = tmp_path / "extract"
    extract.mkdir()
    (extract / "labs.csv").write_text(LABS)
    (extract / "patients.csv").write_text("patient_id,birth_date,sex\np1,2014-06-01,F\n")
    assert main(["run", "--extract", str(extract), "--db", str(tmp_path / "a.duckdb")]) == 0
    assert statuses(tmp_path / "a.duckdb") == [("p1", "single_low")]
    criteria = site_rules / "criteria.toml"
    criteria.write_text(criteria.read_text().replace("min_age_years = 4", "min_age_years = 6"))
    assert (
        main(
            [
                "run",
                "--extract",
                str(extract),
                "--db",
                str(tmp_path / "b.duckdb"),
                "--rules",
                str(site_rules),
            ]
        )
        == 0
    )
    assert statuses(tmp_path / "b.duckdb") == [("p1", "under_min_age")]


def test_a_missing_rules_folder_exits_with_the_rules_error_code(tmp_path, capsys):
    code = main(
        [
            "run",
            "--extract",
            str(tmp_path),
            "--db",
            str(tmp_path / "x.duckdb"),
            "--rules",
            str(tmp_path / "nope"),
        ]
    )
    assert code == 3
    assert "rules folder not found" in capsys.readouterr().err
