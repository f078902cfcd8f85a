"""SPEC §7 `sigmd explain`: one patient's trace, one test per kind of funnel step.

Each test screens a small per-patient table, publishes it, and reads the patient's trace back
from the database: the results with their units and limits, the partners of each low IgM and
why, the index date, causes with their windows, the persistence decision, status and severity.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.publish.publish import publish
from pipeline.report.explain import explain

PANEL = """
    patient | date       | test | value | unit  | specimen
    p1      | 2021-03-01 | IgM  | 0.25  | g/L   | s1
    p1      | 2021-03-01 | IgG  | 1000  | mg/dL | s1
    p1      | 2021-03-01 | IgA  | 200   | mg/dL | s1
"""


@pytest.fixture
def trace(screen, tmp_path: Path) -> Callable[..., str]:
    """Screen the tables, publish them, and return the trace of patient p1."""
    dbs = iter(range(1000))

    def run(patient: str = "p1", **tables: str) -> str:
        db = tmp_path / f"sigmd{next(dbs)}.duckdb"
        publish(screen(**tables).result, db)
        return explain(db, patient)

    return run


def test_results_show_unit_as_received_mg_dl_limits_and_their_source(trace):
    text = trace(
        labs="""
        patient | date       | test | value | unit  | ref_low | ref_high | specimen
        p1      | 2021-03-01 | IgM  | 0.25  | g/L   |         |          | s1
        p1      | 2021-03-01 | IgG  | 1000  | mg/dL | 700     | 1600     | s1
        p1      | 2021-03-01 | IgA  | 200   | mg/dL |         |          | s1
    """
    )
    assert "IgM  0.25 g/L = 25 mg/dL; limits 37–286 (table)" in text
    assert "IgG  1000 mg/dL = 1000 mg/dL; limits 700–1600 (lab)" in text
    assert ": LOW" in text


def test_under_min_age(trace):
    text = trace(
        labs="""
        patient | date       | test | value
        p1      | 1983-06-01 | IgM  | 20
    """
    )
    assert "before the minimum age: not counted" in text
    assert "Status: under_min_age" in text
    assert "2. have an IgM result at age ≥ min age: FAILED" in text


def test_igm_not_low(trace):
    text = trace(labs="patient | date | test | value\n p1 | 2021-03-01 | IgM | 80")
    assert "within limits" in text
    assert "Panels: each counted low IgM" in text and "none (no counted low IgM)" in text
    assert "Status: igm_not_low" in text
    assert "Severity: none" in text


def test_not_isolated_says_which_partner_failed_and_why_it_was_chosen(trace):
    text = trace(
        labs="""
        patient | date       | test | value | specimen
        p1      | 2021-03-01 | IgM  | 25    | s1
        p1      | 2021-03-01 | IgG  | 1000  | s2
        p1      | 2021-03-03 | IgG  | 700   | s1
        p1      | 2021-04-15 | IgA  | 200   |
    """
    )
    assert "IgG 2021-03-03 (same specimen, +2 d): NOT within limits" in text
    assert "IgA: none (no IgA on the same specimen or within ±30 d)" in text
    assert "-> not isolated" in text
    assert "Index date: none" in text
    assert "Status: not_isolated" in text


def test_nearest_partner_within_the_window(trace):
    text = trace(
        labs="""
        patient | date       | test | value
        p1      | 2021-03-01 | IgM  | 25
        p1      | 2021-02-20 | IgG  | 1000
        p1      | 2021-03-31 | IgA  | 200
    """
    )
    assert "IgG 2021-02-20 (nearest within ±30 d, -9 d): within limits" in text
    assert "IgA 2021-03-31 (nearest within ±30 d, +30 d): within limits" in text
    assert "Index date: 2021-03-01" in text


def test_excluded_drug_shows_the_exposure_its_window_and_days_from_index(trace):
    text = trace(
        labs=PANEL,
        medications="""
        patient | name      | start      | end
        p1      | Clozaril  | 2020-02-20 |
    """,
    )
    assert "drug:clozapine: Clozapine; matched Clozaril" in text
    assert "exposure 2020-02-20 – 2020-03-21, -375 d from index" in text
    assert "window index − 365 d … index" in text
    assert "Status: excluded_drug" in text


def test_excluded_malignancy_shows_the_code_title_and_window(trace):
    text = trace(
        labs=PANEL,
        diagnoses="""
        patient | code   | system | date
        p1      | C91.10 | ICD10  | 2015-05-01
    """,
    )
    assert (
        "malignancy:C91.10: Haematological malignancy; matched C91.10 (Chronic lymphocytic leukemia"
        in text
    )
    assert "window any time before … index + 365 d" in text
    assert "Status: excluded_malignancy" in text


def test_excluded_other(trace):
    text = trace(
        labs=PANEL,
        diagnoses="""
        patient | code | system | date
        p1      | 581.9 | ICD9  | 2021-05-01
    """,
    )
    assert "other:581.9: Nephrotic syndrome" in text
    assert "+61 d from index; window index − 180 d … index + 180 d" in text
    assert "Status: excluded_other" in text


def test_normalized(trace):
    text = trace(labs=PANEL + "    p1 | 2021-05-01 | IgM | 40 | mg/dL |\n")
    assert "Normalised: 2021-05-01" in text
    assert "Status: normalized" in text
    assert "8. did not normalise: FAILED" in text


def test_single_low(trace):
    text = trace(labs=PANEL + "    p1 | 2021-05-01 | IgM | 20 | mg/dL |\n")
    assert "Normalised: no" in text
    assert "Repeat low: none on or after 2021-05-30 (index + 90 d)" in text
    assert "Status: single_low" in text


def test_persistent_and_complete(trace):
    text = trace(labs=PANEL + "    p1 | 2021-05-30 | IgM | <4 | mg/dL |\n")
    assert "Repeat low: 2021-05-30 (90 d after index; needed on or after 2021-05-30, 90 d)" in text
    assert "Status: persistent" in text
    assert "Severity: complete" in text
    assert "9. have a repeat low ≥ 90 d after index: passed" in text


def test_site_rules_are_the_ones_quoted(screen, site_rules, tmp_path):
    rules = site_rules(
        "criteria.toml", lambda t: t.replace("repeat_low_min_days = 90", "repeat_low_min_days = 60")
    )
    result = screen(labs=PANEL + "    p1 | 2021-05-01 | IgM | 20 | mg/dL |\n", rules_dir=rules)
    db = tmp_path / "sigmd.duckdb"
    publish(result.result, db)
    text = explain(db, "p1")
    assert "repeat low ≥ 60 d after index" in text
    assert "Status: persistent" in text


def test_a_patient_with_only_quarantined_rows_is_explained_as_not_screened(trace):
    text = trace(
        patient="p2",
        labs="""
        patient | date       | test | value
        p1      | 2021-03-01 | IgM  | 25
        p2      | 2021-03-01 | IgM  | QNS
    """,
    )
    assert text.startswith("Not in the screening")
    assert "labs: labs.csv row 2: unparseable_value" in text


def test_an_unknown_id_is_one_line_and_exit_2(screen, tmp_path, capsys):
    db = tmp_path / "sigmd.duckdb"
    publish(screen(labs=PANEL).result, db)
    assert main(["explain", "--db", str(db), "nobody"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sigmd: error:")
    assert main(["explain", "--db", str(db), "p1"]) == 0
    assert "Status: single_low" in capsys.readouterr().out
