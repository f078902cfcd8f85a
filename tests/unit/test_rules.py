"""The rules folder: loading, validation errors, hashing, and a site's own rules."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import duckdb
import pytest

from pipeline.cli import main
from pipeline.errors import RulesError
from pipeline.rules import DEFAULT_RULES_DIR, Rules, load_rules

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


# Every criterion counted in whole units: (section, key) as criteria.toml writes them.
WHOLE_CRITERIA = [
    ("age", "min_age_years"),
    ("age", "birth_year_month"),
    ("age", "birth_year_day"),
    ("panel", "window_days"),
    ("persistence", "repeat_low_min_days"),
    ("drugs", "exposure_days_without_end"),
    ("validation", "unknown_unit_min_rows"),
]


def set_criterion(folder: Path, section: str, key: str, value: str) -> None:
    """Rewrite `key = ...` inside `[section]` of the folder's criteria.toml."""
    path = folder / "criteria.toml"
    lines, current, done = path.read_text().splitlines(keepends=True), None, False
    for i, line in enumerate(lines):
        if line.startswith("["):
            current = line.strip()[1:-1]
        elif current == section and line.split("=")[0].strip() == key:
            lines[i], done = f"{key} = {value}\n", True
    assert done, (section, key)
    path.write_text("".join(lines))


def rules_field(key: str) -> str:
    return {"window_days": "panel_window_days"}.get(key, key)


def test_every_whole_criterion_is_covered():
    # Every `int` field of Rules is a whole-number criterion, and each is checked below.
    whole = {f.name for f in dataclasses.fields(Rules) if f.type == "int"}
    assert whole == {rules_field(key) for _, key in WHOLE_CRITERIA}


@pytest.mark.parametrize(("section", "key"), WHOLE_CRITERIA)
def test_a_whole_criterion_written_as_an_integer_is_accepted(site_rules, section, key):
    set_criterion(site_rules, section, key, "4")
    rules = load_rules(site_rules)
    value = getattr(rules, rules_field(key))
    assert value == 4 and isinstance(value, int)


@pytest.mark.parametrize(("section", "key"), WHOLE_CRITERIA)
@pytest.mark.parametrize("value", ["4.5", "4.0", "-4", '"4"', "true"])
def test_a_whole_criterion_that_is_not_a_non_negative_integer_is_refused(
    site_rules, section, key, value
):
    set_criterion(site_rules, section, key, value)
    with pytest.raises(RulesError) as refused:
        load_rules(site_rules)
    message = str(refused.value)
    assert message.startswith("criteria.toml: ")
    assert f"[{section}] {key} must be a whole number" in message
    assert "\n" not in message
    assert refused.value.exit_code == 3


@pytest.mark.parametrize(("key", "value"), [("birth_year_month", "0"), ("birth_year_day", "0")])
def test_a_birth_month_or_day_of_zero_is_refused(site_rules, key, value):
    set_criterion(site_rules, "age", key, value)
    with pytest.raises(RulesError, match=rf"\[age\] {key} must be a whole number >= 1"):
        load_rules(site_rules)


@pytest.mark.parametrize(("month", "day"), [("2", "29"), ("4", "31"), ("13", "1")])
def test_a_birth_day_that_is_not_a_day_of_every_year_is_refused(site_rules, month, day):
    set_criterion(site_rules, "age", "birth_year_month", month)
    set_criterion(site_rules, "age", "birth_year_day", day)
    with pytest.raises(RulesError, match="must name a day of every year"):
        load_rules(site_rules)


def test_a_site_cause_with_its_window_is_accepted(site_rules):
    drugs = site_rules / "codelists" / "drugs.csv"
    drugs.write_text(drugs.read_text() + "site_drug,examplumab,name,examplumab,site\n")
    windows = site_rules / "exclusion_windows.csv"
    windows.write_text(windows.read_text() + "site_drug,drug,365,0,site committee\n")
    assert "site_drug" in load_rules(site_rules).windows


@pytest.mark.parametrize(
    ("file", "row"),
    [
        ("codelists/drugs.csv", "site_drug,examplumab,name,examplumab,site\n"),
        ("codelists/diagnoses.csv", "site_disease,ICD10,D80,D80,include,site\n"),
        ("codelists/diagnoses.csv", "site_disease,ICD10,D80.1,D80.1,exclude,site\n"),
    ],
)
def test_a_code_list_cause_without_an_exclusion_window_is_refused(site_rules, file, row):
    path = site_rules / file
    path.write_text(path.read_text() + row)
    cause = row.split(",")[0]
    with pytest.raises(RulesError) as refused:
        load_rules(site_rules)
    message = str(refused.value)
    assert message == (
        f"{path}: column 'cause': cause '{cause}' has no row in exclusion_windows.csv"
    )
    assert refused.value.exit_code == 3


def test_a_cause_whose_window_row_is_removed_is_refused(site_rules):
    windows = site_rules / "exclusion_windows.csv"
    windows.write_text(
        "".join(r for r in windows.read_text().splitlines(True) if not r.startswith("clozapine,"))
    )
    with pytest.raises(RulesError, match=r"drugs\.csv.*cause 'clozapine' has no row"):
        load_rules(site_rules)


@pytest.mark.parametrize(
    ("file", "row", "window", "allowed"),
    [
        (
            "codelists/drugs.csv",
            "site_drug,examplumab,name,examplumab,site\n",
            "site_drug,other,365,0,site committee\n",
            "drug",
        ),
        (
            "codelists/diagnoses.csv",
            "site_disease,ICD10,D80,D80,include,site\n",
            "site_disease,drug,365,0,site committee\n",
            "malignancy or other",
        ),
    ],
)
def test_a_cause_whose_window_category_does_not_suit_its_list_is_refused(
    site_rules, file, row, window, allowed
):
    path = site_rules / file
    path.write_text(path.read_text() + row)
    windows = site_rules / "exclusion_windows.csv"
    windows.write_text(windows.read_text() + window)
    cause, category = window.split(",")[:2]
    with pytest.raises(RulesError) as refused:
        load_rules(site_rules)
    assert str(refused.value) == (
        f"{path}: column 'cause': cause '{cause}' has the category '{category}' in "
        f"exclusion_windows.csv; a cause of this list must be {allowed}"
    )
