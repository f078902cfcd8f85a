"""The report's sections on small hand-made inputs: gain counts, bands, code titles."""

from __future__ import annotations

import csv
import dataclasses
import shutil

import polars as pl
import pytest

from pipeline.report.data import ReportData
from pipeline.report.labels import band_label, igm_bands, load_descriptions
from pipeline.report.sections import (
    Context,
    demographics,
    funnel,
    gains,
    provenance,
    repeat_edges,
    repeat_tests,
    since_last_delivery,
)
from pipeline.report.suppression import Suppressor
from pipeline.rules import DEFAULT_RULES_DIR, applied_criteria, load_rules
from pipeline.screen import funnel as funnel_steps

# The funnel's own steps (number, name, status of those it removes), as the engine defines them.
STEPS = list(funnel_steps.STEPS)
FAILS = ["drug", "malignancy", "other", "normalized", "single_low"]


def data(removed: list[int], fails: list[tuple[bool, ...]], listed: int = 1000) -> ReportData:
    remaining, rows = listed, []
    for (step, name, status), r in zip(STEPS, removed, strict=True):
        remaining -= r
        rows.append((step, name, status, remaining, r))
    attrition = pl.DataFrame(
        rows,
        schema=["step", "step_name", "status_on_failure", "remaining", "removed"],
        orient="row",
    )
    columns = [
        "fails_excluded_drug",
        "fails_excluded_malignancy",
        "fails_excluded_other",
        "fails_normalized",
        "fails_single_low",
    ]
    gain_facts = pl.DataFrame(fails, schema=columns, orient="row")
    patients = pl.DataFrame(
        {"status": ["persistent"] * 20, "severity": ["partial"] * 20, "sex": ["F"] * 12 + ["M"] * 8,
         "age_months": [400] * 20, "failed_step": [10] * 20}
    )  # fmt: skip
    empty = pl.DataFrame()
    return ReportData(
        run={"criteria": applied_criteria(load_rules()), "inputs": [], "run_number": 1},
        attrition=attrition,
        patients=patients,
        lowest_igm=empty,
        gain_facts=gain_facts,
        causes=empty,
        repeat_tests=empty,
        row_counts=empty,
        quarantine_reasons=empty,
        ignored_reasons=empty,
        status_changes=pl.DataFrame(
            schema={
                "change": pl.String,
                "previous_status": pl.String,
                "new_status": pl.String,
                "patients": pl.Int64,
            }
        ),
        previous_run_id=None,
    )


@pytest.fixture
def ctx() -> Context:
    criteria = applied_criteria(load_rules())
    return Context(Suppressor(), load_descriptions(), igm_bands(criteria))


def test_gain_counts_patients_who_fail_that_rule_and_no_other(ctx):
    # 30 fail only the drug rule, 12 fail drug and malignancy, 9 fail only single_low.
    fails = (
        [(True, False, False, False, False)] * 30
        + [(True, True, False, False, False)] * 12
        + [(False, False, False, False, True)] * 9
    )
    rows = {
        r["status"]: r
        for r in gains(data([100, 0, 500, 50, 42, 0, 0, 0, 9], fails), ctx).values["rows"]
    }
    assert rows["excluded_drug"]["gain"].text == "30"
    assert rows["excluded_malignancy"]["gain"].text == "0"  # never alone
    assert rows["single_low"]["gain"].text == "10"  # 9, rounded
    # Steps before the index date: their gain is what they remove (from the shown numbers).
    assert rows["igm_not_low"]["prerequisite"] and rows["igm_not_low"]["gain"].text == "500"


def test_funnel_removed_is_the_difference_of_the_shown_remaining(ctx):
    section = funnel(data([100, 3, 500, 50, 42, 0, 0, 0, 9], []), ctx)
    steps = section.values["steps"]
    assert section.values["listed"].text == "1,000"
    assert [s["remaining"].text for s in steps[:3]] == ["900", "895", "395"]
    # 900 -> 897 true, shown 900 -> 895: removed is 5 (the shown difference), never the true 3.
    assert steps[1]["removed"].text == "5"
    assert steps[0]["percent"] == "100%" and steps[2]["percent"] == "44%"


def test_demographics_counts_remaining_patients_by_sex_and_band(ctx):
    section = demographics(data([100, 0, 500, 50, 42, 0, 0, 0, 9], []), ctx)
    last = section.values["rows"][-1]
    assert [c.text for c in last["sex"]] == ["10", "10", "0"]  # 12 F and 8 M, rounded
    bands = section.values["bands"]
    assert bands[0] == "0–<5 mo" and bands[-1] == "≥18 y"
    assert last["bands"][-1].text == "20"


def test_provenance_quotes_the_windows_the_run_applied(ctx):
    section = provenance(data([0] * 9, []), ctx)
    windows = {w["cause"]: w for w in section.values["windows"]}
    assert windows["Clozapine"]["before"] == "index − 365 d"
    assert windows["Haematological malignancy"]["before"] == "any time before"
    assert windows["Haematological malignancy"]["after"] == "index + 365 d"


@pytest.mark.parametrize(
    ("age_from", "age_to", "label"),
    [(0, 5, "0–<5 mo"), (15, 24, "15 mo–<2 y"), (24, 48, "2–<4 y"), (216, None, "≥18 y")],
)
def test_band_labels_read_as_the_spec_writes_them(age_from, age_to, label):
    assert band_label(age_from, age_to) == label


def test_codes_are_described_by_their_longest_prefix_with_a_title():
    titles = load_descriptions()
    assert titles.code("ICD10", "C91.10").startswith("Chronic lymphocytic leukemia")
    assert titles.code("ICD10", "C91.1ZZ").startswith("Chronic lymphocytic leukemia")  # C911
    assert titles.code("ICD9", "204.10") is not None
    assert titles.diagnosis("238.71") is not None
    assert titles.diagnosis("Z99.9") is None  # not in any range: no title shipped
    assert titles.cause("antiepileptic") == "Anti-epileptic drugs"
    assert titles.cause("site_specific_cause") == "site specific cause"


def test_every_code_range_and_cause_of_the_rules_has_words():
    titles = load_descriptions()
    with (DEFAULT_RULES_DIR / "codelists" / "diagnoses.csv").open() as fh:
        for row in csv.DictReader(fh):
            for code in (row["range_start"], row["range_end"]):
                assert titles.code(row["code_system"], code), (row["code_system"], code)
    for cause in load_rules().windows:
        assert cause in titles.causes, cause


def changes(rows: list[tuple[str, str | None, str | None, int]], previous: str | None = "r1"):
    frame = pl.DataFrame(
        rows, schema=["change", "previous_status", "new_status", "patients"], orient="row"
    )
    base = data([0] * 9, [])
    run = {**base.run, "run_id": "r2"}
    return dataclasses.replace(base, run=run, status_changes=frame, previous_run_id=previous)


def test_since_last_delivery_suppresses_each_count_and_sums_before_suppressing(ctx):
    section = since_last_delivery(
        changes(
            [
                ("new_patient", None, "persistent", 3),
                ("status_changed", "single_low", "persistent", 6),
                ("status_changed", "persistent", "excluded_drug", 40),
                ("severity_changed", "persistent", "persistent", 2),
            ]
        ),
        ctx,
    )
    v = section.values
    assert [str(r["patients"]) for r in v["rows"]] == ["≤7", "≤7", "40", "≤7"]
    # 3 + 6 newly persistent, counted from the true rows: 9 shows as 10, not as two ≤7
    assert str(v["new_persistent"]) == "10"
    totals = {t["label"]: str(t["patients"]) for t in v["totals"]}
    assert totals == {
        "new patient": "≤7",
        "status changed": "45",
        "severity changed (same status)": "≤7",
        "no longer in the extract": "0",
    }
    assert "r1" in section.caption and "r2" in section.caption
    exact = Context(Suppressor(enabled=False), ctx.descriptions, ctx.bands)
    unsuppressed = since_last_delivery(changes([("new_patient", None, "persistent", 3)]), exact)
    assert str(unsuppressed.values["new_persistent"]) == "3"


def test_since_last_delivery_on_a_first_publish_says_every_patient_is_new(ctx):
    section = since_last_delivery(changes([("new_patient", None, "single_low", 12)], None), ctx)
    assert "first publish" in section.caption and "new_patient" in section.caption
    assert section.values["previous_run_id"] is None


def repeats(criteria: dict, days: list[int | None]) -> ReportData:
    frame = pl.DataFrame(
        {"status": ["single_low"] * len(days), "days_to_repeat": days},
        schema={"status": pl.String, "days_to_repeat": pl.Int64},
    )
    base = data([0] * 9, [])
    return dataclasses.replace(base, run={**base.run, "criteria": criteria}, repeat_tests=frame)


def test_the_repeat_bins_of_the_default_rules_are_pinned():
    criteria = applied_criteria(load_rules())
    assert repeat_edges(criteria) == [30, 90, 180, 365, 730]
    exact = Context(Suppressor(enabled=False), load_descriptions(), igm_bands(criteria))
    section = repeat_tests(repeats(criteria, [1, 30, 31, 90, 91, 731, None]), exact)
    assert section.values["labels"] == [
        "1–30 d", "31–90 d", "91–180 d", "181–365 d", "366–730 d", ">730 d", "no repeat"
    ]  # fmt: skip
    assert [str(n) for n in section.values["groups"]["single_low"]] == [
        "2", "2", "1", "0", "0", "1", "1"
    ]  # fmt: skip


def test_a_site_criterion_moves_the_repeat_bins(tmp_path):
    site_rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, site_rules, ignore=shutil.ignore_patterns("__pycache__"))
    criteria = site_rules / "criteria.toml"
    criteria.write_text(
        criteria.read_text()
        .replace("window_days = 30", "window_days = 14")
        .replace("repeat_low_min_days = 90", "repeat_low_min_days = 60")
    )
    windows = site_rules / "exclusion_windows.csv"
    windows.write_text(
        windows.read_text().replace("b_cell_depleting,drug,730,0", "b_cell_depleting,drug,1095,0")
    )
    applied = applied_criteria(load_rules(site_rules))
    assert repeat_edges(applied) == [14, 60, 90, 180, 365, 1095]
    section = repeat_tests(
        repeats(applied, [61]),
        Context(Suppressor(enabled=False), load_descriptions(), igm_bands(applied)),
    )
    assert section.values["labels"][:3] == ["1–14 d", "15–60 d", "61–90 d"]
    assert section.values["labels"][-2] == ">1095 d"
    assert [str(n) for n in section.values["groups"]["single_low"]][2] == "1"  # 61 d: 61–90 d
    assert "at least 60 days" in section.caption
