"""The sections of the analyst report: each turns the database's numbers into shown counts.

A section is built by one function `(ReportData, Context) -> Section`, listed in `SECTIONS` in
the order the page shows them, and drawn by its own template `templates/sections/<id>.html.j2`.
To add a section, write both and append the function to `SECTIONS` (docs/report.md). Every
count passes through `ctx.suppress` before it reaches a template or a plot; differences and
percentages are taken from the shown numbers (`Suppressor.difference`, `.percent`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from pipeline.publish.changes import CHANGES, NEW_PATIENT, PERSISTENT
from pipeline.report import plots
from pipeline.report.data import ReportData
from pipeline.report.labels import (
    Band,
    Descriptions,
    band_label,
    band_of,
    window_end,
    window_start,
)
from pipeline.report.suppression import Shown, Suppressor

SEXES = ("F", "M", "U")
SEX_NAMES = {"F": "female", "M": "male", "U": "unknown"}
PRE_INDEX_STEPS = (2, 3, 4)  # later steps can only be judged for a patient with an index date
REPEAT_STATUSES = ("single_low", "normalized", "persistent")
LOG_BINS_PER_DECADE = 4


@dataclass(frozen=True)
class Context:
    """What every section builder gets besides the data."""

    suppress: Suppressor
    descriptions: Descriptions
    bands: list[Band]


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    caption: str  # one sentence: how to read the section
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def template(self) -> str:
        return f"sections/{self.id}.html.j2"


Builder = Callable[[ReportData, Context], Section]


def _count(ctx: Context, n: Any) -> Shown:
    return ctx.suppress.count(None if n is None else int(n))


def _step_label(row: dict[str, Any]) -> str:
    return f"{row['step']}. {row['step_name']}"


@dataclass(frozen=True)
class ShownStep:
    """One funnel step as the page shows it: remaining, and removed from the shown numbers."""

    row: dict[str, Any]
    remaining: Shown
    removed: Shown


def shown_funnel(data: ReportData, ctx: Context) -> tuple[Shown, list[ShownStep]]:
    """The patients listed and every step, each difference taken from the shown counts."""
    rows = data.attrition.to_dicts()
    listed = _count(ctx, rows[0]["remaining"] + rows[0]["removed"] if rows else 0)
    steps, before = [], listed
    for row in rows:
        remaining = _count(ctx, row["remaining"])
        steps.append(ShownStep(row, remaining, ctx.suppress.difference(before, remaining)))
        before = remaining
    return listed, steps


def funnel(data: ReportData, ctx: Context) -> Section:
    listed, shown = shown_funnel(data, ctx)
    first = shown[0].remaining if shown else listed
    steps = [
        {
            "step": s.row["step"],
            "name": s.row["step_name"],
            "status": s.row["status_on_failure"],
            "remaining": s.remaining,
            "removed": s.removed,
            "percent": ctx.suppress.percent(s.remaining, first),
        }
        for s in shown
    ]
    return Section(
        "funnel",
        "Screening funnel",
        "Read top to bottom: each box is a step of the screening definition with the patients "
        "who passed it and every earlier step; the box beside it holds the patients that step "
        "removed, who get the status shown.",
        {"listed": listed, "steps": steps, "final": shown[-1].remaining if shown else listed},
    )


def gains(data: ReportData, ctx: Context) -> Section:
    facts = data.gain_facts
    fail_columns = [c for c in facts.columns if c.startswith("fails_")]
    alone = facts.filter(pl.sum_horizontal(fail_columns) == 1) if fail_columns else facts
    rows = []
    for step in shown_funnel(data, ctx)[1][1:]:
        row, removed = step.row, step.removed
        status = row["status_on_failure"]
        prerequisite = row["step"] in PRE_INDEX_STEPS or f"fails_{status}" not in facts.columns
        if prerequisite:
            gain = removed
        else:
            gain = _count(ctx, alone.filter(pl.col(f"fails_{status}")).height)
        rows.append(
            {
                "label": _step_label(row),
                "status": status,
                "removed": removed,
                "gain": gain,
                "prerequisite": prerequisite,
            }
        )
    chart = plots.paired_bar_chart(
        [r["label"] for r in rows],
        [r["removed"] for r in rows],
        [r["gain"] for r in rows],
        names=("removed at this step", "removed by this rule alone"),
        min_cell=ctx.suppress.min_cell,
        xlabel="patients",
    )
    return Section(
        "gains",
        "What each rule removes on its own",
        "For each rule, the patients who fail that rule and no other (ATLAS's gain count): a "
        "large bar means the criterion matters; a rule with a small one changes little if dropped.",
        {"rows": rows, "chart": chart},
    )


def _with_bands(frame: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    labels = [
        b.label if (b := band_of(ctx.bands, m)) is not None else "unknown"
        for m in frame["age_months"].to_list()
    ]
    return frame.with_columns(pl.Series("band", labels, dtype=pl.String))


def demographics(data: ReportData, ctx: Context) -> Section:
    patients = _with_bands(data.patients, ctx)
    band_labels = [b.label for b in ctx.bands]
    rows: list[dict[str, Any]] = []
    for row in data.attrition.to_dicts():
        remaining = patients.filter(pl.col("failed_step") > row["step"])
        by_sex = dict(remaining.group_by("sex").len().iter_rows())
        by_band = dict(remaining.group_by("band").len().iter_rows())
        rows.append(
            {
                "label": _step_label(row),
                "total": _count(ctx, row["remaining"]),
                "sex": [_count(ctx, by_sex.get(s, 0)) for s in SEXES],
                "bands": [_count(ctx, by_band.get(b, 0)) for b in band_labels],
            }
        )
    chart = plots.heatmap(
        [r["label"].split(".")[0] for r in rows],
        band_labels,
        [r["bands"] for r in rows],
        min_cell=ctx.suppress.min_cell,
        colorbar_label="patients remaining",
    )
    return Section(
        "demographics",
        "Sex and age band at each step",
        "Each row counts the patients still in the funnel after that step, by sex and by age "
        "band (age at the index date, or at the first IgM result for patients without one); "
        "rounded cells need not add up to the row's total.",
        {
            "rows": rows,
            "sexes": [SEX_NAMES[s] for s in SEXES],
            "bands": band_labels,
            "chart": chart,
        },
    )


def _log_edges(values: list[float]) -> list[float]:
    positive = [v for v in values if v > 0] or [1.0]
    low = math.floor(math.log10(min(positive)) * LOG_BINS_PER_DECADE)
    high = math.floor(math.log10(max(positive)) * LOG_BINS_PER_DECADE) + 1
    return [10 ** (k / LOG_BINS_PER_DECADE) for k in range(low, high + 1)]


def igm_distribution(data: ReportData, ctx: Context) -> Section:
    lowest = _with_bands(data.lowest_igm, ctx)
    edges = _log_edges(lowest["value_mg_dl"].drop_nulls().to_list())
    first_edge = edges[0]
    bins = lowest.with_columns(
        bin=(
            (pl.col("value_mg_dl").clip(lower_bound=first_edge).log10() * LOG_BINS_PER_DECADE)
            .floor()
            .cast(pl.Int64)
            - round(math.log10(first_edge) * LOG_BINS_PER_DECADE)
        ).clip(upper_bound=len(edges) - 2)
    )
    panels, table = [], []
    severity = _with_bands(data.patients, ctx)
    for band in ctx.bands:
        in_band = bins.filter(pl.col("band") == band.label)
        counts = {(b, low): n for b, low, n in in_band.group_by("bin", "is_low").len().iter_rows()}
        n_bins = len(edges) - 1
        if in_band.height:
            panels.append(
                plots.Panel(
                    title=band.label,
                    edges=edges,
                    low=[_count(ctx, counts.get((i, True), 0)) for i in range(n_bins)],
                    not_low=[_count(ctx, counts.get((i, False), 0)) for i in range(n_bins)],
                    lower_limit=band.lower,
                )
            )
        sev = dict(
            severity.filter(pl.col("band") == band.label).group_by("severity").len().iter_rows()
        )
        table.append(
            {
                "band": band.label,
                "lower": band.lower,
                "patients": _count(ctx, in_band.height),
                "low": _count(ctx, in_band.filter(pl.col("is_low")).height),
                "complete": _count(ctx, sev.get("complete", 0)),
                "partial": _count(ctx, sev.get("partial", 0)),
            }
        )
    complete_below = float(data.criteria["complete_below_mg_dl"])
    chart = (
        plots.igm_histograms(
            panels,
            min_cell=ctx.suppress.min_cell,
            complete_below=complete_below,
            xlabel="lowest IgM (mg/dL, log scale)",
        )
        if panels
        else ""
    )
    return Section(
        "igm",
        "IgM by age band, against its lower limit",
        "Each panel counts patients by their lowest IgM (log scale; red: below the limit that "
        "applied to it, grey: not), with the age band's lower limit dashed and the "
        "complete-deficiency threshold dotted; the table adds complete and partial severity.",
        {"chart": chart, "rows": table, "complete_below": complete_below},
    )


def causes(data: ReportData, ctx: Context) -> Section:
    rows = []
    for row in data.causes.to_dicts():
        level = "category" if row["cause"] is None else "cause" if row["reason"] is None else "item"
        item = ""
        if level == "item":
            category, _, matched = row["reason"].partition(":")
            if category == "drug":
                # reason drug:<cause> means only a class-level code matched (SPEC §4)
                item = "a class code" if matched == row["cause"] else matched
            else:
                title = ctx.descriptions.diagnosis(matched)
                item = f"{matched} — {title}" if title else matched
        rows.append(
            {
                "level": level,
                "category": row["category"],
                "cause": ctx.descriptions.cause(row["cause"]),
                "item": item,
                "patients": _count(ctx, row["patients"]),
                "excluded": _count(ctx, row["patients_excluded"]),
            }
        )
    bars = [plots.Bar(r["cause"], r["patients"]) for r in rows if r["level"] == "cause"]
    chart = (
        plots.bar_chart(bars, min_cell=ctx.suppress.min_cell, xlabel="patients with the cause")
        if bars
        else ""
    )
    return Section(
        "causes",
        "Secondary causes found",
        "Patients with an index date in whom each cause was found in its window, by category, "
        "cause and the drug or code that matched (a patient can have several causes; "
        "'excluded' counts those whose status that category set).",
        {"rows": rows, "chart": chart},
    )


def repeat_edges(criteria: dict[str, Any]) -> list[int]:
    """Bin edges (days) of the repeat-test chart: the day counts of the criteria the run applied
    (audit.runs.criteria), namely the panel window, the persistence interval and the ends of the
    exclusion windows, so a site's own rules move the bins with them."""
    days = {criteria["panel_window_days"], criteria["repeat_low_min_days"]}
    for w in criteria["windows"]:
        days |= {w["days_before_index"], w["days_after_index"]}
    return sorted(int(d) for d in days if d is not None and d > 0)


def repeat_tests(data: ReportData, ctx: Context) -> Section:
    persistence_days = int(data.criteria["repeat_low_min_days"])
    edges = repeat_edges(data.criteria)
    labels = [f"{a + 1}–{b} d" for a, b in zip([0, *edges[:-1]], edges, strict=True)]
    labels += [f">{edges[-1] if edges else 0} d", "no repeat"]

    def bucket(days: int | None) -> int:
        if days is None:
            return len(labels) - 1
        return next((i for i, edge in enumerate(edges) if days <= edge), len(edges))

    tests = data.repeat_tests.to_dicts()
    groups: dict[str, list[Shown]] = {}
    for status in REPEAT_STATUSES:
        counts = [0] * len(labels)
        for t in tests:
            if t["status"] == status:
                counts[bucket(t["days_to_repeat"])] += 1
        groups[status] = [_count(ctx, n) for n in counts]
    chart = plots.binned_bars(labels, groups, min_cell=ctx.suppress.min_cell, ylabel="patients")
    return Section(
        "repeat",
        "Time from the index date to the repeat test",
        f"Patients who passed the exclusions, by the days from their index date to their next "
        f"IgM result; a repeat low needs at least {persistence_days} days to make a patient "
        f"persistent.",
        {"labels": labels, "groups": groups, "chart": chart},
    )


CHANGE_WORDS = {
    "new_patient": "new patient",
    "status_changed": "status changed",
    "severity_changed": "severity changed (same status)",
    "no_longer_in_extract": "no longer in the extract",
}


def since_last_delivery(data: ReportData, ctx: Context) -> Section:
    changes = data.status_changes
    rows = [
        {
            "change": r["change"],
            "label": CHANGE_WORDS.get(r["change"], r["change"]),
            "previous": r["previous_status"],
            "new": r["new_status"],
            "patients": _count(ctx, r["patients"]),
        }
        for r in changes.to_dicts()
    ]
    totals = dict(changes.group_by("change").agg(pl.col("patients").sum()).iter_rows())
    # Newly persistent: persistent now, and not before (new patients included); one count of the
    # true rows, suppressed once, never a sum of shown cells.
    new_persistent = changes.filter(
        (pl.col("new_status") == PERSISTENT)
        & pl.col("previous_status").ne_missing(pl.lit(PERSISTENT))
    )["patients"].sum()
    run_id, previous = data.run["run_id"], data.previous_run_id
    if previous is None:
        caption = (
            f"This run ({run_id}) is the first publish of this database, so there was nothing "
            f"to compare with and every patient it screened counts as {NEW_PATIENT}, by status."
        )
    else:
        caption = (
            f"This run ({run_id}) compared with the previously published run ({previous}): "
            "patients per kind of change and previous → new status (unchanged patients are "
            "not counted), then those newly persistent."
        )
    return Section(
        "since",
        "Since the last delivery",
        caption,
        {
            "run_id": run_id,
            "previous_run_id": previous,
            "rows": rows,
            "totals": [
                {"label": CHANGE_WORDS[c], "patients": _count(ctx, totals.get(c, 0))}
                for c in CHANGES
            ],
            "new_persistent": _count(ctx, new_persistent),
        },
    )


def accounting(data: ReportData, ctx: Context) -> Section:
    tables = [
        {
            "table": r["table_name"],
            **{k: _count(ctx, r[k]) for k in ("read", "used", "quarantined", "ignored")},
        }
        for r in data.row_counts.to_dicts()
    ]

    def reasons(frame: pl.DataFrame) -> list[dict[str, Any]]:
        return [
            {"table": r["table_name"], "reason": r["reason"], "rows": _count(ctx, r["rows"])}
            for r in frame.to_dicts()
        ]

    return Section(
        "accounting",
        "Row accounting and quarantine",
        "For every input table, rows read = used + quarantined + ignored (after rounding the "
        "parts need not add up); below, why rows were quarantined or set aside.",
        {
            "tables": tables,
            "quarantine": reasons(data.quarantine_reasons),
            "ignored": reasons(data.ignored_reasons),
        },
    )


def provenance(data: ReportData, ctx: Context) -> Section:
    run, criteria = data.run, data.criteria
    windows = [
        {
            "cause": ctx.descriptions.cause(w["cause"]),
            "category": w["category"],
            "before": window_start(w),
            "after": window_end(w),
        }
        for w in criteria["windows"]
    ]
    intervals = sorted(
        criteria["reference_intervals"], key=lambda r: (r["analyte"], r["age_from_months"])
    )
    return Section(
        "provenance",
        "Run provenance and criteria applied",
        "What was screened (input files and their SHA-256), with which code and rules, and "
        "the numbers of the screening definition as this run applied them.",
        {
            "run": run,
            "inputs": run["inputs"] or [],
            "criteria": criteria,
            "windows": windows,
            "intervals": [
                {**r, "band": band_label(r["age_from_months"], r["age_to_months"])}
                for r in intervals
            ],
        },
    )


SECTIONS: list[Builder] = [
    funnel,
    gains,
    demographics,
    igm_distribution,
    causes,
    repeat_tests,
    since_last_delivery,
    accounting,
    provenance,
]
