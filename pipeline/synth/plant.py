"""The planted patients: one per scenario, its rows and the truth it plants.

Each patient gets a random anchor (its intended index date) in June 2018 - December 2022, a
random adult age unless the scenario fixes one, sometimes only a birth year, and a sex in one
of several spellings; then the scenario writes its rows. Its truth is the scenario's status and
severity, and the date of the IgM the scenario marked as the index.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from pipeline.rules import Rules
from pipeline.synth.case import Case
from pipeline.synth.dates import ANCHOR_FIRST, ANCHOR_LAST
from pipeline.synth.layout import TABLE_COLUMNS
from pipeline.synth.measures import AgeLimits
from pipeline.synth.scenarios import SCENARIOS, Scenario
from pipeline.synth.truth import TRUTH_COLUMNS

_PLANTED_SEXES = ("F", "M", "female", "Male", "f", "m", "FEMALE", "male", "U")


def plant(
    rules: Rules, limits: AgeLimits, seed: int, nums: np.ndarray, width: int
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Build every scenario's rows; returns the tables (with `num`) and the planted truth."""
    rng = np.random.default_rng([seed, 2])
    rows: dict[str, list[dict[str, object]]] = {t: [] for t in TABLE_COLUMNS}
    truth = []
    for k, (scenario, num) in enumerate(zip(SCENARIOS, nums.tolist(), strict=True)):
        pid = f"P{num:0{width}d}"
        case, birth, year_only = _build(scenario, rules, limits, rng, pid)
        rows["patients"].append(
            {
                "num": num,
                "patient_id": pid,
                "birth_date": None if year_only else birth.isoformat(),
                "birth_year": str(birth.year) if year_only else None,
                "sex": _PLANTED_SEXES[k % len(_PLANTED_SEXES)],
            }
        )
        for table, table_rows in (
            ("labs", case.labs),
            ("medications", case.medications),
            ("diagnoses", case.diagnoses),
        ):
            rows[table].extend({"num": num, **row} for row in table_rows)
        truth.append({"num": num, **_truth_row(scenario, case)})
    schema = {"num": pl.Int64} | dict.fromkeys(TRUTH_COLUMNS, pl.String)
    tables = {
        table: pl.DataFrame(
            table_rows, schema={"num": pl.Int64} | dict.fromkeys(TABLE_COLUMNS[table], pl.String)
        )
        for table, table_rows in rows.items()
    }
    return tables, pl.DataFrame(truth, schema=schema)


def _build(
    scenario: Scenario, rules: Rules, limits: AgeLimits, rng: np.random.Generator, pid: str
) -> tuple[Case, date, bool]:
    """The scenario's patient: its case (rows written), real birth date and birth-year flag."""
    span = (ANCHOR_LAST - ANCHOR_FIRST).days
    anchor = ANCHOR_FIRST + timedelta(days=int(rng.integers(0, span + 1)))
    age = scenario.age_years
    if age is None:
        age = float(rng.integers(25, 80)) + float(rng.random())
    birth = anchor - timedelta(days=round(age * 365.25))
    birth = birth.replace(day=min(birth.day, 28))
    year_only = scenario.birth_year_only
    if year_only is None:
        year_only = bool(rng.random() < 0.2)
    # The screening takes a birth year as the rules' mid-year day: so do the planted values.
    effective = (
        date(birth.year, rules.birth_year_month, rules.birth_year_day) if year_only else birth
    )
    case = Case(rules=rules, limits=limits, pid=pid, anchor=anchor, birth=effective, rng=rng)
    scenario.build(case)
    return case, birth, year_only


def _truth_row(scenario: Scenario, case: Case) -> dict[str, str | None]:
    """The outcome the scenario plants; its index date is the IgM it marked as the index."""
    index = case.index_date
    if scenario.has_index != (index is not None):
        expected = "marks" if scenario.has_index else "does not mark"
        raise ValueError(
            f"scenario {scenario.name}: status {scenario.status}, so it {expected} an index IgM"
        )
    return {
        "patient_id": case.pid,
        "status": scenario.status,
        "severity": scenario.severity,
        "index_date": None if index is None else index.isoformat(),
        "scenario": scenario.name,
    }
