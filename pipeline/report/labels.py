"""Words for codes: cause names, ICD code titles and age-band labels, for the report and explain.

Cause names (`antiepileptic` -> "Anti-epileptic drugs") and the titles of the ICD codes in the
diagnosis ranges ship as data under `pipeline/rules/descriptions/`, with their source. A code
is described by its longest prefix that has a title (C91.10 -> C9110, else C911, else C91), so
every code in a range finds at least its category. Age bands are the IgM reference-interval
bands of the criteria the run applied, recorded in `audit.runs.criteria`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pipeline.rules import DEFAULT_RULES_DIR

DESCRIPTIONS_DIR = DEFAULT_RULES_DIR / "descriptions"
MONTHS_PER_YEAR = 12


@dataclass(frozen=True)
class Descriptions:
    causes: dict[str, str] = field(default_factory=dict)
    icd: dict[tuple[str, str], str] = field(default_factory=dict)  # (ICD10|ICD9, undotted code)

    def cause(self, cause: str | None) -> str:
        if cause is None:
            return ""
        return self.causes.get(cause, cause.replace("_", " "))

    def code(self, system: str, code: str) -> str | None:
        """The title of a dotted or undotted code (longest prefix with a title), or None."""
        key = code.upper().replace(".", "").strip()
        for n in range(len(key), 2, -1):
            title = self.icd.get((system.upper(), key[:n]))
            if title is not None:
                return title
        return None

    def diagnosis(self, code: str) -> str | None:
        """The title of a diagnosis code whose system is not recorded: the ICD-10 and ICD-9 codes
        of our ranges share no prefix (C, D, B20, Z, N04, K90 against digits, V08, V42)."""
        for system in ("ICD10", "ICD9"):
            title = self.code(system, code)
            if title is not None:
                return title
        return None


@cache
def load_descriptions(directory: Path = DESCRIPTIONS_DIR) -> Descriptions:
    causes: dict[str, str] = {}
    icd: dict[tuple[str, str], str] = {}
    with (directory / "causes.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            causes[row["cause"]] = row["label"]
    with (directory / "icd.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            icd[(row["code_system"].upper(), row["code"].upper())] = row["description"]
    return Descriptions(causes, icd)


def months_label(months: int) -> str:
    if months % MONTHS_PER_YEAR == 0:
        return f"{months // MONTHS_PER_YEAR} y"
    return f"{months} mo"


def age_label(months: int) -> str:
    """'32 y 10 mo', '4 y', '7 mo': an age in completed months, as a person reads it."""
    years, rest = divmod(months, MONTHS_PER_YEAR)
    if years and rest:
        return f"{years} y {rest} mo"
    return months_label(months)


def band_label(age_from: int, age_to: int | None) -> str:
    """'5–<9 mo', '2–<4 y', '≥18 y': the bands as SPEC §3 writes them."""
    if age_to is None:
        return f"≥{months_label(age_from)}"
    start, end = months_label(age_from), months_label(age_to)
    if age_from == 0 or start.split()[1] == end.split()[1]:
        start = str(age_from if end.endswith("mo") else age_from // MONTHS_PER_YEAR)
    return f"{start}–<{end}"


@dataclass(frozen=True)
class Band:
    age_from: int
    age_to: int | None
    lower: float
    upper: float

    @property
    def label(self) -> str:
        return band_label(self.age_from, self.age_to)

    def holds(self, months: int) -> bool:
        return months >= self.age_from and (self.age_to is None or months < self.age_to)


def igm_bands(criteria: dict[str, Any]) -> list[Band]:
    """The IgM reference-interval bands the run applied, youngest first."""
    rows = [r for r in criteria["reference_intervals"] if r["analyte"] == "igm"]
    return [
        # the exact limits as floats: only drawn and printed here, never compared with a result
        Band(
            r["age_from_months"],
            r["age_to_months"],
            float(r["lower_mg_dl"]),
            float(r["upper_mg_dl"]),
        )
        for r in sorted(rows, key=lambda r: r["age_from_months"])
    ]


def band_of(bands: list[Band], months: int | None) -> Band | None:
    if months is None:
        return None
    return next((b for b in bands if b.holds(months)), None)


def window_start(window: dict[str, Any]) -> str:
    """Where a cause's window starts, relative to the index date (audit.runs.criteria)."""
    before = window["days_before_index"]
    return "any time before" if before is None else f"index − {before} d"


def window_end(window: dict[str, Any]) -> str:
    after = window["days_after_index"]
    return f"index + {after} d" if after else "index"
