"""`sigmd explain`: one patient's path through the screening, as plain text.

Everything comes from the published database (the rules the run actually applied are in
`audit.runs.criteria`): each immunoglobulin result with its unit as received, its value in
mg/dL, its limits and their source and what the screening made of it; for each counted low
IgM the IgG and IgA it was judged with and why those (same specimen, nearest within the panel
window, none); the index date; each secondary cause with its date, window and days from the
index date; the persistence decision with its dates; then the status and severity. This is an
internal tool: it prints one patient's values, and it is meant for the analyst's own screen.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.errors import NotFound
from pipeline.report.data import frame, open_database, read_run
from pipeline.report.labels import age_label, load_descriptions, window_end, window_start

ANALYTE_NAMES = {"igm": "IgM", "igg": "IgG", "iga": "IgA"}
MATCH_WHY = {
    "same_specimen": "same specimen",
    "nearest": "nearest within ±{window} d",
}
STATUS_MEANING = {
    "under_min_age": "no IgM result at or above the minimum age",
    "igm_not_low": "no counted IgM result below its lower limit",
    "not_isolated": "no low IgM with both IgG and IgA within their limits",
    "excluded_drug": "a drug cause lies in its window",
    "excluded_malignancy": "a malignancy lies in its window",
    "excluded_other": "another secondary cause lies in its window",
    "normalized": "an IgM on or after the index date is at or above its lower limit",
    "single_low": "no repeat low IgM far enough after the index date",
    "persistent": "passed every step: probable SIgMD",
}


def explain(db_path: Path | str, patient_id: str) -> str:
    """The trace of one patient; NotFound (exit 2) when the id is not in the database."""
    with open_database(db_path) as con:
        run = read_run(con, db_path)
        params = {"patient_id": patient_id}
        screening = frame(con, "explain_screening", **params).to_dicts()
        results = frame(con, "explain_ig_results", **params)
        quarantine = frame(con, "explain_quarantine", **params)
        if not screening:
            if results.is_empty() and quarantine.is_empty():
                raise NotFound("no patient with this id in the database", file=str(db_path))
            return "\n".join(_not_screened(results, quarantine))
        panels = frame(con, "explain_panels", **params)
        causes = frame(con, "explain_exclusions", **params)
        persistence = frame(con, "explain_persistence", **params).to_dicts()
        steps = frame(con, "attrition").to_dicts()
    lines = _trace(
        run,
        screening[0],
        results=results,
        panels=panels,
        causes=causes,
        persistence=persistence,
        quarantine=quarantine,
    )
    return "\n".join([*lines, *_funnel(steps, screening[0]["status"])])


def _funnel(steps: list[dict[str, Any]], status: str) -> list[str]:
    """The funnel steps in order: passed, up to the one that set the status."""
    lines = ["", "Funnel"]
    for step in steps:
        failed = step["status_on_failure"] == status
        mark = "FAILED" if failed else "passed"
        lines.append(f"  {step['step']}. {step['step_name']}: {mark}")
        if failed:
            break
    return lines


def _trace(
    run: dict[str, Any],
    patient: dict[str, Any],
    *,
    results: pl.DataFrame,
    panels: pl.DataFrame,
    causes: pl.DataFrame,
    persistence: list[dict[str, Any]],
    quarantine: pl.DataFrame,
) -> list[str]:
    criteria = run["criteria"]
    lines = [
        f"Patient {patient['patient_id']} (sex {patient['sex']})",
        f"Run {run['run_number']} ({run['run_id']}), rules {run['rules_version']}: "
        f"min age {criteria['min_age_years']} y, panel window ±{criteria['panel_window_days']} d, "
        f"repeat low ≥ {criteria['repeat_low_min_days']} d after index, "
        f"complete < {_num(criteria['complete_below_mg_dl'])} mg/dL",
        "",
        "Immunoglobulin results",
        *_results(results),
    ]
    lines += ["", "Panels: each counted low IgM judged with one IgG and one IgA"]
    lines += _panels(panels, criteria) or ["  none (no counted low IgM)"]
    index = patient["index_date"]
    lines += [
        "",
        f"Index date: {index} (first isolated low IgM panel; age {patient['age_at_index']} y)"
        if index
        else "Index date: none (no isolated low IgM panel)",
    ]
    if index:
        lines += ["", "Secondary causes (windows relative to the index date, both ends included)"]
        lines += _causes(causes, criteria) or ["  none found in any window"]
        lines += [
            "",
            "Persistence",
            *_persistence(persistence[0] if persistence else None, criteria),
        ]
    if not quarantine.is_empty():
        lines += ["", "Input rows quarantined (not screened)", *_quarantine(quarantine)]
    status = patient["status"]
    lines += [
        "",
        f"Status: {status} ({STATUS_MEANING.get(status, status)})",
        f"Severity: {patient['severity'] or 'none (no counted low IgM)'}",
    ]
    return lines


def _num(value: float | Decimal | None) -> str:
    """A number as written: 25, 0.29, 1719 (an exact decimal without its trailing zeros)."""
    if value is None:
        return "?"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return f"{value:g}"


def _judgement(r: dict[str, Any]) -> str:
    if r["is_undecided"]:
        return "undecided (the censored bound proves nothing)"
    if r["is_low"]:
        severity = ", complete" if r["is_complete"] else ""
        return f"LOW{severity}"
    if r["is_above_upper"]:
        return "above upper limit"
    if r["is_within_limits"]:
        return "within limits"
    if r["is_at_or_above_lower"]:
        return "at or above lower limit"
    return "not judged"


def _results(results: pl.DataFrame) -> list[str]:
    lines = []
    for r in results.to_dicts():
        value = f"{r['value_text']} {r['unit_received']}"
        mg = f"{'' if r['censor'] is None else r['censor']}{_num(r['value_mg_dl'])} mg/dL"
        limits = f"limits {_num(r['lower_mg_dl'])}–{_num(r['upper_mg_dl'])} ({r['limits_source']})"
        notes = []
        if not r["is_day_value"]:
            notes.append("same-day repeat, not the day's value")
        if r["analyte"] == "igm" and not r["is_counted"]:
            notes.append("before the minimum age: not counted")
        age = age_label(r["age_months"])
        lines.append(
            f"  {r['collected_date']}  {ANALYTE_NAMES.get(r['analyte'], r['analyte'])}  "
            f"{value} = {mg}; {limits}; age {age}: {_judgement(r)}"
            + (f" [{'; '.join(notes)}]" if notes else "")
            + (f" specimen {r['specimen_id']}" if r["specimen_id"] else "")
        )
    return lines or ["  none"]


def _partner(p: dict[str, Any], analyte: str, window: int) -> str:
    name = ANALYTE_NAMES[analyte]
    match = p[f"{analyte}_match"]
    if match is None:
        return f"{name}: none (no {name} on the same specimen or within ±{window} d)"
    days = p[f"{analyte}_days_from_igm"]
    why = MATCH_WHY.get(match, match).format(window=window)
    within = "within limits" if p[f"{analyte}_is_within_limits"] else "NOT within limits"
    return f"{name} {p[f'{analyte}_date']} ({why}, {days:+d} d): {within}"


def _panels(panels: pl.DataFrame, criteria: dict[str, Any]) -> list[str]:
    window = int(criteria["panel_window_days"])
    return [
        f"  IgM {p['igm_date']}: {_partner(p, 'igg', window)}; {_partner(p, 'iga', window)}"
        f" -> {'isolated' if p['is_isolated'] else 'not isolated'}"
        for p in panels.to_dicts()
    ]


def _window(criteria: dict[str, Any], cause: str) -> str:
    for w in criteria["windows"]:
        if w["cause"] == cause:
            return f"{window_start(w)} … {window_end(w)}"
    return "window not recorded"


def _causes(causes: pl.DataFrame, criteria: dict[str, Any]) -> list[str]:
    descriptions = load_descriptions()
    lines = []
    for c in causes.to_dicts():
        what = c["code"]
        if c["category"] != "drug":
            title = descriptions.diagnosis(c["code"])
            what = f"{c['code']} ({title})" if title else c["code"]
        when = f"{c['event_date']}"
        if c["exposure_end_date"] is not None:
            when = f"exposure {c['event_date']} – {c['exposure_end_date']}"
        lines.append(
            f"  {c['reason']}: {descriptions.cause(c['cause'])}; matched {what}; {when}, "
            f"{c['days_from_index']:+d} d from index; window {_window(criteria, c['cause'])} "
            f"[{c['source_file']} row {c['source_row']}]"
        )
    return lines


def _persistence(p: dict[str, Any] | None, criteria: dict[str, Any]) -> list[str]:
    if p is None:
        return ["  not judged"]
    days = criteria["repeat_low_min_days"]
    normalised: date | None = p["normalised_date"]
    repeat: date | None = p["repeat_low_date"]
    lines = [
        f"  Normalised: {normalised} (an IgM at or above its lower limit on or after the index date)"
        if normalised
        else "  Normalised: no (no IgM at or above its lower limit on or after the index date)",
        f"  Repeat low: {repeat} ({(repeat - p['index_date']).days} d after index; "
        f"needed on or after {p['repeat_low_from_date']}, {days} d)"
        if repeat
        else f"  Repeat low: none on or after {p['repeat_low_from_date']} (index + {days} d)",
    ]
    return lines


def _quarantine(quarantine: pl.DataFrame) -> list[str]:
    return [
        f"  {q['table_name']}: {q['source_file']} row {q['source_row']}: {q['reason']}"
        for q in quarantine.to_dicts()
    ]


def _not_screened(results: pl.DataFrame, quarantine: pl.DataFrame) -> list[str]:
    lines = ["Not in the screening: the patient has no IgM result that passed validation."]
    if not results.is_empty():
        lines += ["", "Immunoglobulin results", *_results(results)]
    if not quarantine.is_empty():
        lines += ["", "Input rows quarantined (not screened)", *_quarantine(quarantine)]
    return lines
