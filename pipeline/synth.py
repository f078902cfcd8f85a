"""Synthetic canonical extracts with planted truth.

`generate_extract` writes an extract folder in the canonical layout of SPEC §2 (`labs`,
`patients`, `medications`, `diagnoses`) plus `truth.csv`: for every patient with an IgM result,
the status and severity the screening must find. Two populations share the folder:

- *planted* patients, one per entry of `SCENARIOS`, each built to exercise one rule of SPEC §3
  (a window edge, a unit, a censored value, a decoy that must not change the outcome). Their
  values and dates are derived from the rules object (age-band limits, windows, thresholds,
  unit factors), so the truth still holds for a site's rules wherever the scenario makes sense;
- a *background* population, generated with numpy in chunks of patients and streamed to disk,
  whose immunoglobulins lie safely inside the age-band limits (status `igm_not_low`, or
  `under_min_age` for children tested only before the minimum age), among many other common lab
  tests, medications and diagnoses. Without a low IgM there is no index date, so their drugs and
  diagnoses cannot change their status.

All randomness comes from generators seeded by `seed` (and the chunk), and gzip headers carry
no time stamp, so one seed gives byte-identical files. `truth.csv` has no table prefix, so the
extract reader ignores it.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import IO, cast

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import SigmdError
from pipeline.result import STATUSES
from pipeline.rules import Rules, Window, load_rules

FILE_FORMATS = ("csv", "csv.gz", "parquet")
TRUTH_FILE = "truth.csv"
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "labs": (
        "patient_id",
        "collected_date",
        "test_code",
        "test_system",
        "test_name",
        "value",
        "unit",
        "ref_low",
        "ref_high",
        "specimen_id",
    ),
    "patients": ("patient_id", "birth_date", "birth_year", "sex"),
    "medications": (
        "patient_id",
        "drug_name",
        "drug_code",
        "drug_system",
        "start_date",
        "end_date",
        "route",
    ),
    "diagnoses": ("patient_id", "code", "code_system", "diagnosis_date"),
}
TRUTH_COLUMNS = ("patient_id", "status", "severity", "scenario")
# Rows are written per patient in time order, as an extract query would return them.
_SORT_BY = {
    "labs": ["num", "collected_date"],
    "patients": ["num"],
    "medications": ["num", "start_date"],
    "diagnoses": ["num", "diagnosis_date"],
}

FIRST_DAY = date(2015, 1, 1)
LAST_DAY = date(2024, 12, 31)
# Planted index dates fall here, so that offsets of -1100 .. +600 days stay within 2015-2024.
_ANCHOR_FIRST = date(2018, 6, 1)
_ANCHOR_LAST = date(2022, 12, 31)
# The US switched from ICD-9-CM to ICD-10-CM on 1 Oct 2015: earlier background codes are ICD-9.
_ICD10_FROM = date(2015, 10, 1)
_CHUNK_PATIENTS = 20_000
_IG_SHARE = 0.03  # immunoglobulin rows among all lab rows, as in a general hospital extract


@dataclass(frozen=True)
class GenerateSummary:
    out_dir: Path
    n_patients: int
    n_lab_rows: int
    n_planted: int
    status_counts: dict[str, int]


# --------------------------------------------------------------------------------------------
# Planted scenarios
# --------------------------------------------------------------------------------------------

LabRow = dict[str, str | None]
_IG_NAMES = {"igm": "IgM", "igg": "IgG", "iga": "IgA"}
_UNIT_DECIMALS = {"mg/dl": 0, "g/l": 2, "mg/l": 0, "iu/ml": 0, "g/dl": 3, "mg/ml": 2}


@dataclass(frozen=True)
class Scenario:
    """One planted patient: the rule it exercises and the outcome SPEC §3 gives it."""

    name: str
    status: str
    severity: str | None
    rule: str
    age_years: float | None  # None: an adult of random age
    birth_year_only: bool | None  # None: decided at random
    build: Callable[[Case], None]


SCENARIOS: list[Scenario] = []


def _scenario(
    status: str,
    severity: str | None,
    rule: str,
    *,
    age: float | None = None,
    birth_year_only: bool | None = None,
) -> Callable[[Callable[[Case], None]], Callable[[Case], None]]:
    def register(build: Callable[[Case], None]) -> Callable[[Case], None]:
        name = build.__name__.lstrip("_")
        SCENARIOS.append(Scenario(name, status, severity, rule, age, birth_year_only, build))
        return build

    return register


def _unit_key(unit: str) -> str:
    return unit.lower().replace(" ", "").replace("[iu]", "iu")


class _Limits:
    """The rules' age-band table (mg/dL), looked up by age in completed months."""

    def __init__(self, rules: Rules) -> None:
        self.bands: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for analyte in _IG_NAMES:
            table = rules.reference_intervals.filter(pl.col("analyte") == analyte)
            table = table.sort("age_from_months")
            self.bands[analyte] = (
                table["age_from_months"].to_numpy(),
                table["lower_mg_dl"].to_numpy(),
                table["upper_mg_dl"].to_numpy(),
            )

    def lookup(self, analyte: str, age_months: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        starts, lower, upper = self.bands[analyte]
        band = np.searchsorted(starts, age_months, side="right") - 1
        return lower[band], upper[band]


def _age_months(birth: date, on: date) -> int:
    """Completed months, as the screening counts age."""
    return (on.year - birth.year) * 12 + on.month - birth.month - (on.day < birth.day)


def _format_number(value: float, decimals: int) -> str:
    text = f"{round(value, decimals):.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass
class Case:
    """A planted patient under construction; day offsets are relative to its intended index."""

    rules: Rules
    limits: _Limits
    pid: str
    anchor: date
    birth: date  # the effective birth date (mid-year when only the year is given)
    rng: np.random.Generator
    labs: list[LabRow] = field(default_factory=list)
    medications: list[LabRow] = field(default_factory=list)
    diagnoses: list[LabRow] = field(default_factory=list)
    n_specimens: int = 0

    # ---- values relative to the rules ----
    def band(self, analyte: str, offset: int = 0) -> tuple[float, float]:
        months = np.array([_age_months(self.birth, self.day(offset))])
        lower, upper = self.limits.lookup(analyte, months)
        return float(lower[0]), float(upper[0])

    def lower(self, analyte: str = "igm", offset: int = 0) -> float:
        return self.band(analyte, offset)[0]

    def upper(self, analyte: str = "igm", offset: int = 0) -> float:
        return self.band(analyte, offset)[1]

    def normal(self, analyte: str = "igm", offset: int = 0) -> float:
        """Well inside the limits (the middle 30 % of the interval)."""
        lower, upper = self.band(analyte, offset)
        return float(round(lower + (0.35 + 0.3 * self.rng.random()) * (upper - lower)))

    def low(self, offset: int = 0) -> float:
        """A partial low IgM: clearly below the lower limit, clearly above 'complete'."""
        value = float(round(self.lower("igm", offset) * (0.45 + 0.2 * self.rng.random())))
        if value < self.rules.complete_below_mg_dl + 2:
            raise ValueError(
                "the rules' IgM lower limit is too close to 'complete' for a partial low"
            )
        return value

    def below(self, analyte: str, offset: int = 0) -> float:
        """A low IgG or IgA, which makes the panel not isolated."""
        return float(round(self.lower(analyte, offset) * (0.6 + 0.2 * self.rng.random())))

    @property
    def complete(self) -> str:
        """A censored IgM whose bound proves a complete deficiency (`<5`)."""
        return f"<{self.rules.complete_below_mg_dl:g}"

    def unit_factor(self, analyte: str, unit: str) -> float:
        units = self.rules.units.filter(
            (pl.col("analyte") == analyte) & (pl.col("unit_key") == _unit_key(unit))
        )
        if units.is_empty():
            raise ValueError(f"the rules have no unit {unit} for {analyte}")
        return float(units["factor_to_mg_dl"][0])

    def code_list_value(self, cause: str, match: str, prefer: str | None = None) -> str | None:
        """A value (name or code) of the rules' drug list for a cause; None if it has none.

        Scenarios that name drugs beyond the few every site's list is sure to hold read them
        here, so a site's own list still gets consistent truth.
        """
        rows = self.rules.drugs.filter((pl.col("cause") == cause) & (pl.col("match") == match))
        values = rows["value"].to_list()
        if prefer in values:
            return prefer
        return values[0] if values else None

    def fallback_drug(self) -> None:
        """Clozapine within its window: excludes with any rules, for a scenario whose drug a
        site's list lacks."""
        self.drug("Clozapine 100 mg tablet", self.before_inside("clozapine", 100), route="oral")

    # ---- windows ----
    def window(self, cause: str) -> Window:
        return self.rules.windows[cause]

    def before_inside(self, cause: str, days: int) -> int:
        before = self.window(cause).days_before
        return -days if before is None else -min(days, before)

    def before_outside(self, cause: str, margin: int) -> int:
        before = self.window(cause).days_before
        if before is None:
            raise ValueError(f"the rules' window for {cause} has no start: nothing lies before it")
        return -(before + margin)

    def after_inside(self, cause: str, days: int) -> int:
        return min(days, self.window(cause).days_after)

    def after_outside(self, cause: str, margin: int) -> int:
        return self.window(cause).days_after + margin

    # ---- rows ----
    def day(self, offset: int) -> date:
        return self.anchor + timedelta(days=offset)

    def specimen(self) -> str:
        self.n_specimens += 1
        return f"S{self.pid[1:]}{self.n_specimens:03d}"

    def draw_time(self) -> str | None:
        if self.rng.random() < 0.4:
            return f"{int(self.rng.integers(6, 20)):02d}:{int(self.rng.integers(0, 60)):02d}"
        return None

    def when(self, offset: int, time: str | None) -> str:
        day = self.day(offset).isoformat()
        return f"{day}T{time}:00" if time else day

    def lab(
        self,
        offset: int,
        code: str,
        name: str,
        value: str,
        unit: str,
        *,
        system: str | None = "LOINC",
        ref: tuple[str, str] | None = None,
        specimen: str | None = None,
        time: str | None = None,
    ) -> LabRow:
        row: LabRow = {
            "patient_id": self.pid,
            "collected_date": self.when(offset, time),
            "test_code": code,
            "test_system": system,
            "test_name": name,
            "value": value,
            "unit": unit,
            "ref_low": ref[0] if ref else None,
            "ref_high": ref[1] if ref else None,
            "specimen_id": specimen,
        }
        self.labs.append(row)
        return row

    def ig(
        self,
        analyte: str,
        offset: int,
        value: float | str,
        *,
        unit: str = "mg/dL",
        ref: tuple[float, float] | None = None,
        specimen: str | None = None,
        time: str | None = None,
        system: str | None = "LOINC",
    ) -> LabRow:
        """One immunoglobulin row; numbers are mg/dL, written in `unit`; text is kept as is."""
        factor = self.unit_factor(analyte, unit)
        decimals = _UNIT_DECIMALS.get(_unit_key(unit), 2)

        def text(number: float | str) -> str:
            return number if isinstance(number, str) else _format_number(number / factor, decimals)

        return self.lab(
            offset,
            self.rules.loinc[analyte],
            _IG_NAMES[analyte],
            text(value),
            unit,
            system=system,
            ref=(text(ref[0]), text(ref[1])) if ref else None,
            specimen=specimen or self.specimen(),
            time=time,
        )

    def panel(
        self,
        offset: int,
        igm: float | str,
        *,
        igg: float | str | None = None,
        iga: float | str | None = None,
        unit: str = "mg/dL",
        igm_unit: str | None = None,
        refs: bool | dict[str, tuple[float, float]] = False,
        system: str | None = "LOINC",
        time: str | None = None,
    ) -> str:
        """IgM, IgG and IgA from one specimen; IgG/IgA default to mid-range for the age."""
        specimen = self.specimen()
        time = time or self.draw_time()
        for analyte, value in (("igm", igm), ("igg", igg), ("iga", iga)):
            ref: tuple[float, float] | None = None
            if refs is True:
                ref = self.band(analyte, offset)
            elif isinstance(refs, dict):
                ref = refs.get(analyte)
            self.ig(
                analyte,
                offset,
                self.normal(analyte, offset) if value is None else value,
                unit=(igm_unit or unit) if analyte == "igm" else unit,
                ref=ref,
                specimen=specimen,
                time=time,
                system=system,
            )
        return specimen

    def drug(
        self,
        name: str | None,
        start: int,
        end: int | None = None,
        *,
        code: str | None = None,
        system: str | None = None,
        route: str | None = None,
    ) -> None:
        self.medications.append(
            {
                "patient_id": self.pid,
                "drug_name": name,
                "drug_code": code,
                "drug_system": system or ("ATC" if code else None),
                "start_date": self.day(start).isoformat(),
                "end_date": None if end is None else self.day(end).isoformat(),
                "route": route,
            }
        )

    def diagnosis(self, code: str, system: str, offset: int) -> None:
        self.diagnoses.append(
            {
                "patient_id": self.pid,
                "code": code,
                "code_system": system,
                "diagnosis_date": self.day(offset).isoformat(),
            }
        )


# ---- under_min_age --------------------------------------------------------------------------


@_scenario("under_min_age", None, "low IgM only before min_age_years: not counted", age=2.5)
def _toddler_low_igm(c: Case) -> None:
    c.panel(0, c.low())


@_scenario("under_min_age", None, "infant age bands; every IgM before the minimum age", age=0.6)
def _infant_repeated_low_igm(c: Case) -> None:
    c.panel(0, c.low())
    c.panel(300, c.low(300))


@_scenario("under_min_age", None, "a complete '<5' before the minimum age: no severity", age=3.3)
def _preschooler_censored_complete(c: Case) -> None:
    c.panel(0, c.complete)


# ---- igm_not_low ----------------------------------------------------------------------------


@_scenario("igm_not_low", None, "IgM within the table limits")
def _adult_normal_igm(c: Case) -> None:
    c.panel(0, c.normal())
    c.panel(400, c.normal("igm", 400))


@_scenario("igm_not_low", None, "lab-first limits: below the table limit, above the lab's own")
def _lab_limits_say_normal(c: Case) -> None:
    lower = c.lower()
    c.panel(0, round(lower * 0.8), refs={"igm": (round(lower * 0.6), c.upper())})


@_scenario("igm_not_low", None, "g/L (x100) with lab limits in g/L: the raw '1.5' is not low")
def _igm_in_g_per_l(c: Case) -> None:
    c.panel(0, c.normal(), unit="g/L", refs=True)


@_scenario("igm_not_low", None, "IgM in IU/mL (x0.847) above the lower limit")
def _igm_in_iu_per_ml(c: Case) -> None:
    c.panel(0, c.lower() * 1.3, igm_unit="IU/mL")


@_scenario("igm_not_low", None, "censored '<50' with lower limit 37 is undecided, not low")
def _censored_between_limits(c: Case) -> None:
    c.panel(0, f"<{round(c.lower() * 1.35)}")


@_scenario("igm_not_low", None, "censored '>300' is above the upper limit")
def _censored_above_upper(c: Case) -> None:
    c.panel(0, f">{round(c.upper() * 1.05)}")


@_scenario(
    "igm_not_low", None, "low IgM at age 3 not counted; the result at age 4+ is normal", age=3.0
)
def _low_only_before_min_age(c: Case) -> None:
    c.panel(0, c.low())
    c.panel(600, c.normal("igm", 600))


@_scenario(
    "igm_not_low", None, "antigen-specific IgM (CMV, EBV, RF) and a local-code IgM are ignored"
)
def _antigen_specific_igm_decoys(c: Case) -> None:
    specimen = c.panel(0, c.normal())
    c.lab(0, "7853-5", "CMV IgM Ab", "3.1", "AU/mL", specimen=specimen)
    c.lab(0, "5159-9", "EBV VCA IgM Ab", "8", "U/mL", specimen=specimen)
    c.lab(0, "11573-3", "Rheumatoid factor IgM", "4", "IU/mL", specimen=specimen)
    # A local code without a site mapping is ignored, however low its value.
    c.lab(200, "IGM", "IgM", _format_number(c.low(200), 0), "mg/dL", system="LOCAL")


@_scenario(
    "igm_not_low", None, "same-day repeats: the lowest row is the day's value, with its own limits"
)
def _same_day_lowest_keeps_its_lab_limits(c: Case) -> None:
    lower = c.lower()
    c.panel(0, round(lower * 0.8), refs={"igm": (round(lower * 0.6), c.upper())}, time="08:05")
    # Low against the table, but it is not the day's value: the lower row above is.
    c.ig("igm", 0, round(lower * 0.92), time="16:40")


@_scenario("igm_not_low", None, "IgM equal to the lower limit is not low (strictly below)")
def _igm_at_lower_limit(c: Case) -> None:
    c.panel(0, c.lower())


@_scenario("igm_not_low", None, "secondary causes are searched only for patients with an index")
def _causes_without_low_igm(c: Case) -> None:
    c.panel(0, c.normal())
    c.drug("Clozapine 100 mg tablet", -100, None, route="oral")
    c.diagnosis("C91.10", "ICD10", -300)


# ---- not_isolated ---------------------------------------------------------------------------


@_scenario("not_isolated", "partial", "IgG below its limit in the same specimen")
def _low_igg_same_specimen(c: Case) -> None:
    c.panel(0, c.low(), igg=c.below("igg"))


@_scenario("not_isolated", "complete", "IgA below its limit; '<5' makes it complete")
def _low_iga_complete(c: Case) -> None:
    c.panel(0, c.complete, iga=c.below("iga"))


@_scenario("not_isolated", "partial", "IgM measured without IgG or IgA")
def _igm_without_igg_iga(c: Case) -> None:
    c.ig("igm", 0, c.low())


@_scenario("not_isolated", "partial", "IgG/IgA one day beyond the +/-30 d panel window")
def _igg_iga_one_day_too_late(c: Case) -> None:
    c.ig("igm", 0, c.low())
    days = c.rules.panel_window_days + 1
    specimen = c.specimen()
    c.ig("igg", days, c.normal("igg", days), specimen=specimen)
    c.ig("iga", days, c.normal("iga", days), specimen=specimen)


@_scenario("not_isolated", "partial", "IgA '>299' with limits 61-356 is undecided, not in range")
def _iga_censored_undecided(c: Case) -> None:
    c.panel(0, c.low(), iga=f">{round(c.upper('iga') * 0.84)}")


@_scenario("not_isolated", "partial", "same-day IgG repeats: the lowest (low) one is judged")
def _same_day_igg_lowest_wins(c: Case) -> None:
    specimen = c.panel(0, c.low(), time="09:00")
    c.ig("igg", 0, c.below("igg"), specimen=specimen, time="15:30")


@_scenario("not_isolated", "partial", "nearest IgG/IgA tie (-10 d, +10 d): the earlier (low IgA)")
def _nearest_tie_goes_to_earlier_low(c: Case) -> None:
    c.ig("igm", 0, c.low())
    before, after = c.specimen(), c.specimen()
    c.ig("igg", -10, c.normal("igg", -10), specimen=before)
    c.ig("iga", -10, c.below("iga", -10), specimen=before)
    c.ig("igg", 10, c.normal("igg", 10), specimen=after)
    c.ig("iga", 10, c.normal("iga", 10), specimen=after)


@_scenario("not_isolated", "complete", "no index: any counted low result sets severity")
def _complete_severity_without_index(c: Case) -> None:
    c.panel(0, c.low(), igg=c.below("igg"))
    c.panel(200, f"< {c.rules.complete_below_mg_dl - 1:g}", igg=c.below("igg", 200))


@_scenario("not_isolated", "partial", "drug and HIV ignored: no isolated panel, no index")
def _causes_ignored_without_index(c: Case) -> None:
    c.panel(0, c.low(), iga=c.below("iga"))
    c.drug("Clozapine 100 mg tablet", -100, None, route="oral")
    c.diagnosis("B20", "ICD10", -500)


# ---- excluded_drug --------------------------------------------------------------------------


@_scenario("excluded_drug", "partial", "clozapine exposure inside index-365 d .. index")
def _clozapine_in_window(c: Case) -> None:
    c.panel(0, c.low())
    c.drug("Clozapine 100 mg tablet", c.before_inside("clozapine", 200), -10, route="oral")


@_scenario("excluded_drug", "complete", "brand name (Clozaril), no end date: start + 30 d")
def _clozapine_brand_without_end_date(c: Case) -> None:
    c.panel(0, c.complete)
    c.drug("Clozaril 25 mg", -20, None, route="PO")


@_scenario("excluded_drug", "partial", "anti-epileptic by name (divalproex) and ATC N03AG01")
def _divalproex_by_name_and_atc(c: Case) -> None:
    c.panel(0, c.low())
    start = c.before_inside("antiepileptic", 300)
    c.drug("Divalproex sodium ER 500 mg", start, 100, code="N03AG01", route="oral")


@_scenario("excluded_drug", "partial", "oral prednisone within index-90 d .. index")
def _oral_prednisone_within_90_days(c: Case) -> None:
    c.panel(0, c.low())
    start = c.before_inside("systemic_corticosteroid", 60)
    c.drug("Prednisone 20 mg tablet", start, start + 30, route="oral")


@_scenario(
    "excluded_drug", "partial", "no end date: [start, start+30 d] touches index-90 d (inclusive)"
)
def _prednisone_no_end_date_reaches_window(c: Case) -> None:
    c.panel(0, c.low())
    days = c.rules.exposure_days_without_end
    c.drug("Prednisone 5 mg tablet", c.before_outside("systemic_corticosteroid", days), route="PO")


@_scenario("excluded_drug", "partial", "systemic steroid by ATC class H02AB only, intravenous")
def _steroid_by_atc_class_intravenous(c: Case) -> None:
    c.panel(0, c.low())
    # A name that matches no ingredient: only the ATC class code (H02AB04) can match.
    c.drug("IV steroid 125 mg vial", -10, -8, code="H02AB04", route="intravenous")


@_scenario("excluded_drug", "partial", "drug and malignancy: the drug step comes first")
def _drug_before_malignancy(c: Case) -> None:
    c.panel(0, c.low())
    c.drug("Clozapine 100 mg tablet", -100, None, route="oral")
    c.diagnosis("C91.10", "ICD10", -500)


@_scenario("excluded_drug", "partial", "a complete low before the index does not set the severity")
def _complete_before_index_partial_after(c: Case) -> None:
    c.panel(-60, c.complete, igg=c.below("igg", -60))
    c.panel(0, c.low())
    c.drug("Clozapine 50 mg tablet", -150, -50, route="oral")


@_scenario("excluded_drug", "partial", "B-cell depleting infusion 600 d before (730 d window)")
def _b_cell_depleting_within_two_years(c: Case) -> None:
    c.panel(0, c.low())
    name = c.code_list_value("b_cell_depleting", "name", prefer="rituximab")
    if name is None:
        c.fallback_drug()
        return
    day = c.before_inside("b_cell_depleting", 600)
    c.drug(f"{name.capitalize()} 1000 mg infusion", day, day, route="intravenous")


@_scenario("excluded_drug", "partial", "methotrexate by subcutaneous route: systemic")
def _methotrexate_subcutaneous(c: Case) -> None:
    c.panel(0, c.low())
    name = c.code_list_value("immunosuppressant", "name", prefer="methotrexate")
    if name is None:
        c.fallback_drug()
        return
    start = c.before_inside("immunosuppressant", 40)
    c.drug(f"{name.capitalize()} 15 mg/0.3 mL auto-injector", start, route="subcutaneous")


@_scenario("excluded_drug", "partial", "clozapine by RxNorm ingredient code, no drug name")
def _clozapine_by_rxnorm_code(c: Case) -> None:
    c.panel(0, c.low())
    code = c.code_list_value("clozapine", "rxnorm")
    if code is None:
        c.fallback_drug()
        return
    c.drug(None, c.before_inside("clozapine", 50), -20, code=code, system="RxNorm", route="oral")


@_scenario("excluded_drug", "complete", "IVIG brand 150 d before (180 d window)")
def _immunoglobulin_replacement_in_window(c: Case) -> None:
    c.panel(0, c.complete)
    name = c.code_list_value("immunoglobulin_replacement", "name", prefer="gammagard")
    if name is None:
        c.fallback_drug()
        return
    day = c.before_inside("immunoglobulin_replacement", 150)
    c.drug(f"{name.capitalize()} 10% 30 g", day, day, route="intravenous")


# ---- excluded_malignancy --------------------------------------------------------------------


@_scenario("excluded_malignancy", "partial", "haematological C91.10 years before the index")
def _leukaemia_years_before(c: Case) -> None:
    c.panel(0, c.low())
    c.diagnosis("C91.10", "ICD10", c.before_inside("haematological_malignancy", 1100))


@_scenario("excluded_malignancy", "partial", "undotted C8330 within index+365 d")
def _lymphoma_undotted_after_index(c: Case) -> None:
    c.panel(0, c.low())
    c.diagnosis("C8330", "ICD10", c.after_inside("haematological_malignancy", 200))


@_scenario("excluded_malignancy", "complete", "MGUS D47.2 coded as 'ICD-10-CM'")
def _mgus_icd10cm(c: Case) -> None:
    c.panel(0, c.complete)
    c.diagnosis("D47.2", "ICD-10-CM", -30)


@_scenario("excluded_malignancy", "partial", "ICD-9 238.71 lies in the range 238.4-238.7")
def _icd9_sub_code_in_range(c: Case) -> None:
    c.panel(0, c.low())
    c.diagnosis("238.71", "ICD9", -100)


@_scenario("excluded_malignancy", "partial", "other malignancy C50.911 within index-365 d")
def _solid_tumour_within_year_before(c: Case) -> None:
    c.panel(0, c.low())
    c.diagnosis("C50.911", "ICD10", c.before_inside("other_malignancy", 200))


@_scenario("excluded_malignancy", "partial", "other malignancy ICD-9 174.9 within index+365 d")
def _solid_tumour_icd9_after_index(c: Case) -> None:
    c.panel(0, c.low())
    c.diagnosis("174.9", "ICD-9-CM", c.after_inside("other_malignancy", 300))


@_scenario("excluded_malignancy", "partial", "neuroendocrine C7A.010, lower-case 'icd10'")
def _neuroendocrine_c7a(c: Case) -> None:
    c.panel(0, c.low())
    c.diagnosis("C7A.010", "icd10", -10)


@_scenario("excluded_malignancy", "partial", "malignancy and HIV: the malignancy step first")
def _malignancy_before_other_cause(c: Case) -> None:
    c.panel(0, c.low())
    c.diagnosis("C50.911", "ICD10", -100)
    c.diagnosis("B20", "ICD10", -500)


# ---- excluded_other -------------------------------------------------------------------------


@_scenario("excluded_other", "partial", "HIV B20 any time before the index")
def _hiv_years_before(c: Case) -> None:
    c.panel(0, c.low())
    c.diagnosis("B20", "ICD10", c.before_inside("hiv", 900))


@_scenario("excluded_other", "partial", "transplant status, undotted Z940, 'ICD-10'")
def _transplant_status_undotted(c: Case) -> None:
    c.panel(0, c.low())
    c.diagnosis("Z940", "ICD-10", c.before_inside("transplant", 400))


@_scenario("excluded_other", "complete", "immunodeficiency due to drugs D84.821")
def _immunodeficiency_due_to_drugs(c: Case) -> None:
    c.panel(0, c.complete)
    c.diagnosis("D84.821", "ICD-10-CM", c.before_inside("other_immunodeficiency", 20))


@_scenario("excluded_other", "partial", "nephrotic syndrome ICD-9 581.9 within index+180 d")
def _nephrotic_icd9_after_index(c: Case) -> None:
    c.panel(0, c.low())
    c.diagnosis("581.9", "ICD9", c.after_inside("nephrotic_syndrome", 150))


@_scenario("excluded_other", "partial", "protein-losing enteropathy K90.89, 'ICD10CM'")
def _protein_losing_enteropathy(c: Case) -> None:
    c.panel(0, c.low())
    c.diagnosis("K90.89", "ICD10CM", c.before_inside("protein_losing_enteropathy", 100))


@_scenario("excluded_other", "partial", "asymptomatic HIV, ICD-9 V08, 'ICD-9'")
def _hiv_icd9_v08(c: Case) -> None:
    c.panel(0, c.low())
    c.diagnosis("V08", "ICD-9", c.before_inside("hiv", 700))


# ---- normalized -----------------------------------------------------------------------------


@_scenario("normalized", "partial", "an IgM at or above the lower limit after the index")
def _normal_igm_after_index(c: Case) -> None:
    c.panel(0, c.low())
    c.ig("igm", 60, c.normal("igm", 60))


@_scenario("normalized", "partial", "normalised, then low again at +200 d: still normalised")
def _normal_then_low_again(c: Case) -> None:
    c.panel(0, c.low())
    c.ig("igm", 60, c.normal("igm", 60))
    c.panel(200, c.low(200))


@_scenario("normalized", "partial", "follow-up below the table limit but within the lab's")
def _normal_by_lab_limit(c: Case) -> None:
    c.panel(0, c.low())
    lower = c.lower("igm", 100)
    c.ig("igm", 100, round(lower * 0.9), ref=(round(lower * 0.8), c.upper("igm", 100)))


@_scenario("normalized", "complete", "'<5' at index, normal follow-up in g/L")
def _complete_then_normal_in_g_per_l(c: Case) -> None:
    c.panel(0, c.complete)
    c.ig("igm", 120, c.normal("igm", 120), unit="g/L", ref=c.band("igm", 120))


@_scenario("normalized", "partial", "censored '>50' proves at or above the lower limit 37")
def _censored_above_lower_after_index(c: Case) -> None:
    c.panel(0, c.low())
    c.ig("igm", 150, f">{round(c.lower('igm', 150) * 1.35)}")


# ---- single_low -----------------------------------------------------------------------------


@_scenario("single_low", "partial", "one isolated low panel, no follow-up")
def _single_low_panel(c: Case) -> None:
    c.panel(0, c.low())


@_scenario("single_low", "partial", "repeat low 89 d after the index: one day short of 90")
def _repeat_low_one_day_short(c: Case) -> None:
    c.panel(0, c.low())
    days = c.rules.repeat_low_min_days - 1
    c.ig("igm", days, c.low(days))


@_scenario("single_low", "complete", "'<5' isolated panel: complete")
def _single_complete(c: Case) -> None:
    c.panel(0, c.complete)


@_scenario("single_low", "partial", "follow-up '<50' is undecided: neither normal nor low")
def _undecided_followup(c: Case) -> None:
    c.panel(0, c.low())
    c.ig("igm", 120, f"<{round(c.lower('igm', 120) * 1.35)}")


@_scenario("single_low", "partial", "oral prednisone ended 91 d before the index")
def _prednisone_ended_91_days_before(c: Case) -> None:
    c.panel(0, c.low())
    end = c.before_outside("systemic_corticosteroid", 1)
    c.drug("Prednisone 10 mg tablet", end - 100, end, route="oral")


@_scenario("single_low", "partial", "inhaled, nasal, eye and skin steroids never count")
def _local_route_steroids(c: Case) -> None:
    c.panel(0, c.low())
    c.drug("Budesonide inhaler 200 mcg", -30)
    c.drug("Fluticasone propionate 250 mcg", -40, code="R03BA05", route="inhaled")
    c.drug("Hydrocortisone cream 1%", -20, code="H02AB09")
    c.drug("Prednisolone acetate 1% eye drops", -15, code="H02AB06", route="ophthalmic")
    c.drug("Prednisone", -25, -5, code="H02AB07", route="nasal")


@_scenario("single_low", "partial", "clozapine ended 366 d before the index")
def _clozapine_ended_before_window(c: Case) -> None:
    c.panel(0, c.low())
    end = c.before_outside("clozapine", 1)
    c.drug("Clozapine 100 mg tablet", end - 200, end, route="oral")


@_scenario("single_low", "partial", "B-cell depleting infusion 800 d before (730 d window)")
def _b_cell_depleting_before_window(c: Case) -> None:
    c.panel(0, c.low())
    name = c.code_list_value("b_cell_depleting", "name", prefer="rituximab")
    if name is not None:
        day = c.before_outside("b_cell_depleting", 70)
        c.drug(f"{name.capitalize()} 1000 mg infusion", day, day, route="intravenous")


@_scenario("single_low", "partial", "clozapine started the day after the index")
def _clozapine_started_after_index(c: Case) -> None:
    c.panel(0, c.low())
    c.drug("Clozapine 100 mg tablet", 1, None, route="oral")


@_scenario("single_low", "partial", "other malignancy 400 d before, haematological 400 d after")
def _cancers_outside_windows(c: Case) -> None:
    c.panel(0, c.low())
    c.diagnosis("C18.9", "ICD10", c.before_outside("other_malignancy", 35))
    c.diagnosis("C91.10", "ICD10", c.after_outside("haematological_malignancy", 35))


@_scenario("single_low", "partial", "D80.4 / 279.03 (SIgMD itself) and Z85.3 do not exclude")
def _own_diagnosis_codes_not_excluded(c: Case) -> None:
    c.panel(0, c.low())
    c.diagnosis("D80.4", "ICD10", -100)
    c.diagnosis("279.03", "ICD9", -50)
    c.diagnosis("Z85.3", "ICD10", -30)


@_scenario("single_low", "partial", "HIV after the index, nephrotic 200 d before: outside")
def _other_causes_outside_windows(c: Case) -> None:
    c.panel(0, c.low())
    c.diagnosis("B20", "ICD10", c.after_outside("hiv", 30))
    c.diagnosis("N04.9", "ICD10", c.before_outside("nephrotic_syndrome", 20))


@_scenario("single_low", "partial", "nearest IgG/IgA tie (-10 d, +10 d): the earlier (normal)")
def _nearest_tie_goes_to_earlier_normal(c: Case) -> None:
    c.ig("igm", 0, c.low())
    before, after = c.specimen(), c.specimen()
    c.ig("igg", -10, c.normal("igg", -10), specimen=before)
    c.ig("iga", -10, c.normal("iga", -10), specimen=before)
    c.ig("igg", 10, c.below("igg", 10), specimen=after)
    c.ig("iga", 10, c.normal("iga", 10), specimen=after)


@_scenario("single_low", "partial", "same specimen (+3 d) beats a nearer low IgG (+1 d)")
def _same_specimen_beats_nearest(c: Case) -> None:
    specimen = c.specimen()
    c.ig("igm", 0, c.low(), specimen=specimen)
    other = c.specimen()
    c.ig("igg", 1, c.below("igg", 1), specimen=other)
    c.ig("iga", 1, c.normal("iga", 1), specimen=other)
    c.ig("igg", 3, c.normal("igg", 3), specimen=specimen)
    c.ig("iga", 3, c.normal("iga", 3), specimen=specimen)


@_scenario("single_low", "partial", "index = first isolated panel; steroid 100 d before it")
def _index_at_first_isolated_panel(c: Case) -> None:
    c.panel(-60, c.low(-60), iga=c.below("iga", -60))
    c.panel(0, c.low())
    # Within 90 d of the earlier, non-isolated low: it must not be taken as the index.
    start = c.before_outside("systemic_corticosteroid", 20)
    c.drug("Prednisone 20 mg tablet", start, start + 10, route="oral")


@_scenario("single_low", "partial", "IgG/IgA exactly 30 d after the IgM: in the panel window")
def _igg_iga_exactly_30_days_later(c: Case) -> None:
    c.ig("igm", 0, c.low())
    days = c.rules.panel_window_days
    specimen = c.specimen()
    c.ig("igg", days, c.normal("igg", days), specimen=specimen)
    c.ig("iga", days, c.normal("iga", days), specimen=specimen)


# ---- persistent -----------------------------------------------------------------------------


@_scenario("persistent", "partial", "isolated low panels at index and +180 d")
def _persistent_panels(c: Case) -> None:
    c.panel(0, c.low())
    c.panel(180, c.low(180))


@_scenario("persistent", "partial", "repeat low exactly 90 d after the index")
def _repeat_low_exactly_90_days(c: Case) -> None:
    c.panel(0, c.low())
    days = c.rules.repeat_low_min_days
    c.ig("igm", days, c.low(days))


@_scenario("persistent", "partial", "the repeat low needs no IgG/IgA")
def _repeat_low_without_igg_iga(c: Case) -> None:
    c.panel(0, c.low())
    c.ig("igm", 200, c.low(200))


@_scenario("persistent", "complete", "'<5' at index and '< 4' (with a space) at +120 d")
def _complete_censored(c: Case) -> None:
    c.panel(0, c.complete)
    c.ig("igm", 120, f"< {c.rules.complete_below_mg_dl - 1:g}")


@_scenario("persistent", "complete", "IU/mL: '40' is low (33.9 mg/dL), '5' is complete")
def _iu_per_ml_values(c: Case) -> None:
    c.panel(0, c.lower() * 0.92, igm_unit="IU/mL")
    c.ig("igm", 150, c.rules.complete_below_mg_dl * 0.85, unit="IU/mL")


@_scenario("persistent", "partial", "g/L values with lab limits in g/L on every row")
def _g_per_l_with_lab_limits(c: Case) -> None:
    c.panel(0, c.low(), unit="g/L", refs=True)
    c.ig("igm", 200, c.low(200), unit="g/L", ref=c.band("igm", 200))


@_scenario(
    "persistent", "partial", "age 5: IgG/IgA normal for the 4-7 y band, low for adults", age=5.5
)
def _child_band_age_5(c: Case) -> None:
    def child(analyte: str) -> float:
        lower, upper = c.band(analyte)
        return float(round(lower + 0.1 * (upper - lower)))

    c.panel(0, c.low(), igg=child("igg"), iga=child("iga"))
    c.ig("igm", 120, c.low(120))


@_scenario(
    "persistent",
    "partial",
    "age 11: IgM 39 is low for the 10-13 y band (41), not for adults",
    age=11.5,
)
def _child_band_age_11(c: Case) -> None:
    c.panel(0, c.lower() - 2)
    c.ig("igm", 120, c.lower("igm", 120) - 2)


@_scenario("persistent", "partial", "same-day follow-up repeats: the lower (low) value wins")
def _same_day_repeat_lowest_wins(c: Case) -> None:
    c.panel(0, c.low())
    c.ig("igm", 150, c.normal("igm", 150), time="08:10")
    c.ig("igm", 150, c.low(150), time="13:40")


@_scenario("persistent", "partial", "exact duplicate rows (also after trimming spaces) dropped")
def _exact_duplicate_rows(c: Case) -> None:
    c.panel(0, c.low())
    c.labs.append(dict(c.labs[-3]))
    padded = dict(c.labs[-2])
    padded["value"] = f" {padded['value']} "
    padded["unit"] = f"{padded['unit']} "
    c.labs.append(padded)
    c.ig("igm", 100, c.low(100))
    c.labs.append(dict(c.labs[-1]))


@_scenario("persistent", "partial", "IgG below the table limit but within the lab's own limits")
def _igg_within_lab_limits(c: Case) -> None:
    lower, upper = c.band("igg")
    c.panel(0, c.low(), igg=round(lower * 0.9), refs={"igg": (round(lower * 0.85), upper)})
    c.ig("igm", 120, c.low(120))


@_scenario("persistent", "partial", "birth_year only (age from 1 July)", birth_year_only=True)
def _birth_year_only_patient(c: Case) -> None:
    c.panel(0, c.low())
    c.panel(150, c.low(150))


@_scenario("persistent", "partial", "a normal IgM before the index does not normalise")
def _normal_before_index(c: Case) -> None:
    c.panel(-300, c.normal("igm", -300))
    c.panel(0, c.low())
    c.ig("igm", 100, c.low(100))


@_scenario("persistent", "partial", "test_system 'LN', 'loinc' and empty; datetimes")
def _loinc_spellings_and_times(c: Case) -> None:
    c.panel(0, c.low(), system="LN", time="09:30")
    c.panel(120, c.low(120), system=None, time="23:55")
    c.ig("igm", 240, c.low(240), system="loinc", time="00:05")


# --------------------------------------------------------------------------------------------
# Background population (vectorised)
# --------------------------------------------------------------------------------------------

# code, name, unit, centre, spread, decimals, ref_low, ref_high, weight, log-normal
_OTHER_TESTS = (
    ("2951-2", "Sodium", "mmol/L", 139.0, 3.0, 0, "135", "145", 10, False),
    ("2823-3", "Potassium", "mmol/L", 4.2, 0.45, 1, "3.5", "5.1", 10, False),
    ("2075-0", "Chloride", "mmol/L", 103.0, 3.0, 0, "98", "107", 8, False),
    ("2028-9", "Carbon dioxide", "mmol/L", 25.0, 2.5, 0, "22", "29", 7, False),
    ("3094-0", "Urea nitrogen", "mg/dL", 15.0, 0.35, 0, "7", "20", 8, True),
    ("2160-0", "Creatinine", "mg/dL", 0.95, 0.3, 2, "0.60", "1.30", 10, True),
    ("2345-7", "Glucose", "mg/dL", 100.0, 0.2, 0, "70", "99", 9, True),
    ("17861-6", "Calcium", "mg/dL", 9.4, 0.45, 1, "8.6", "10.3", 6, False),
    ("718-7", "Hemoglobin", "g/dL", 13.4, 1.7, 1, "12.0", "17.5", 9, False),
    ("4544-3", "Hematocrit", "%", 40.5, 4.5, 1, "36.0", "50.0", 6, False),
    ("6690-2", "Leukocytes", "10*3/uL", 7.2, 0.3, 1, "4.0", "11.0", 9, True),
    ("777-3", "Platelets", "10*3/uL", 250.0, 0.25, 0, "150", "400", 8, True),
    ("789-8", "Erythrocytes", "10*6/uL", 4.6, 0.5, 2, "4.20", "5.90", 5, False),
    ("1742-6", "ALT", "U/L", 24.0, 0.45, 0, "7", "56", 6, True),
    ("1920-8", "AST", "U/L", 24.0, 0.4, 0, "10", "40", 5, True),
    ("6768-6", "Alkaline phosphatase", "U/L", 80.0, 0.3, 0, "44", "147", 4, True),
    ("1975-2", "Bilirubin, total", "mg/dL", 0.6, 0.45, 1, "0.1", "1.2", 4, True),
    ("1751-7", "Albumin", "g/dL", 4.0, 0.45, 1, "3.5", "5.0", 5, False),
    ("2885-2", "Protein, total", "g/dL", 7.0, 0.55, 1, "6.0", "8.3", 3, False),
    ("1988-5", "C reactive protein", "mg/L", 3.0, 1.2, 1, "0.0", "10.0", 5, True),
    ("4548-4", "Hemoglobin A1c", "%", 5.8, 0.12, 1, "4.0", "5.6", 3, True),
    ("3016-3", "TSH", "m[IU]/L", 1.8, 0.5, 2, "0.40", "4.00", 3, True),
    ("2093-3", "Cholesterol", "mg/dL", 190.0, 0.18, 0, None, "200", 3, True),
)
# Antigen-specific IgM: not total immunoglobulin, must be ignored (code, name, unit, median).
_ANTIGEN_IGM = (
    ("7853-5", "CMV IgM Ab", "AU/mL", 8.0),
    ("5159-9", "EBV VCA IgM Ab", "U/mL", 10.0),
    ("11573-3", "Rheumatoid factor IgM", "IU/mL", 6.0),
)
_IG_TEST_NAMES = {
    "igm": ("IgM", "Immunoglobulin M", "IgM, serum", "IMMUNOGLOBULIN M (IGM)"),
    "igg": ("IgG", "Immunoglobulin G", "IgG, serum", "IMMUNOGLOBULIN G (IGG)"),
    "iga": ("IgA", "Immunoglobulin A", "IgA, serum", "IMMUNOGLOBULIN A (IGA)"),
}
# unit spelling -> (unit key in units.csv, decimals); IU/mL is IgM only, mg/L stands in for IgG/IgA.
_IG_UNITS = {
    "igm": (("mg/dL", "mg/dl", "MG/DL"), ("g/L", "g/l"), ("IU/mL", "[IU]/mL")),
    "igg": (("mg/dL", "mg/dl", "MG/DL"), ("g/L", "g/l"), ("mg/L",)),
    "iga": (("mg/dL", "mg/dl", "MG/DL"), ("g/L", "g/l"), ("mg/L",)),
}
_SEX_SPELLINGS = ("F", "M", "female", "male", "Female", "Male", "f", "m", "U")
_SEX_WEIGHTS = (0.34, 0.33, 0.07, 0.07, 0.05, 0.05, 0.04, 0.04, 0.01)
_PLANTED_SEXES = ("F", "M", "female", "Male", "f", "m", "FEMALE", "male", "U")
# name, ATC, route. Some are exclusion drugs: harmless here, as no background patient has an index.
_BACKGROUND_DRUGS = (
    ("Atorvastatin 20 mg tablet", "C10AA05", "oral"),
    ("Metformin 500 mg tablet", "A10BA02", "oral"),
    ("Amlodipine 5 mg tablet", "C08CA01", "oral"),
    ("Lisinopril 10 mg tablet", "C09AA03", "oral"),
    ("Omeprazole 20 mg capsule", "A02BC01", "oral"),
    ("Levothyroxine 50 mcg tablet", "H03AA01", "oral"),
    ("Salbutamol inhaler 100 mcg", "R03AC02", "inhaled"),
    ("Paracetamol 500 mg tablet", "N02BE01", "oral"),
    ("Amoxicillin 500 mg capsule", "J01CA04", "oral"),
    ("Sertraline 50 mg tablet", "N06AB06", "oral"),
    ("Enoxaparin 40 mg injection", "B01AB05", "subcutaneous"),
    ("Insulin glargine 100 units/mL", "A10AE04", "subcutaneous"),
    ("Fluticasone nasal spray", "R01AD08", "nasal"),
    ("Prednisone 5 mg tablet", "H02AB07", "oral"),
    ("Valproate 500 mg tablet", "N03AG01", "oral"),
)
# (ICD-10, ICD-9); the ICD-9 code is used for diagnoses dated before October 2015.
_BACKGROUND_DIAGNOSES = (
    ("I10", "401.9"),
    ("E11.9", "250.00"),
    ("E78.5", "272.4"),
    ("J45.909", "493.90"),
    ("K21.9", "530.81"),
    ("M54.50", "724.2"),
    ("F32.9", "311"),
    ("N18.3", "585.3"),
    ("J44.9", "496"),
    ("E03.9", "244.9"),
    ("J06.9", "465.9"),
    ("Z00.00", "V70.0"),
    ("C50.911", "174.9"),
)
_ICD10_SPELLINGS = ("ICD10", "ICD-10-CM", "icd10")
_ICD9_SPELLINGS = ("ICD9", "ICD-9-CM")

# Expected immunoglobulin rows per tested background patient (see _background_labs):
# 1.4 panels, each IgM+IgG+IgA (90 %), IgM only (7 %) or IgG+IgA only (3 %).
_IG_ROWS_PER_TESTED = 1.4 * (0.90 * 3 + 0.07 * 1 + 0.03 * 2)


def _days(d: date) -> np.datetime64:
    return np.datetime64(d.isoformat(), "D")


def _ymd(year: np.ndarray, month: np.ndarray | int, day: np.ndarray | int) -> np.ndarray:
    months = ((year - 1970) * 12 + np.asarray(month) - 1).astype("datetime64[M]")
    return months.astype("datetime64[D]") + (np.asarray(day) - 1).astype("timedelta64[D]")


def _months_between(birth: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Completed months between datetime64[D] arrays (vectorised `_age_months`)."""

    def split(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        month_start = d.astype("datetime64[M]")
        year = d.astype("datetime64[Y]").astype(np.int64) + 1970
        month = month_start.astype(np.int64) % 12 + 1
        day = (d - month_start.astype("datetime64[D]")).astype(np.int64) + 1
        return year, month, day

    by, bm, bd = split(birth)
    oy, om, od = split(on)
    return (oy - by) * 12 + (om - bm) - (od < bd)


def _pick(rng: np.random.Generator, options: tuple[str, ...], size: int) -> pl.Series:
    return pl.Series(options, dtype=pl.String).gather(rng.integers(0, len(options), size))


def _format_values(values: np.ndarray, decimals: np.ndarray) -> pl.Series:
    frame = pl.DataFrame({"v": values, "d": decimals})
    return frame.select(
        pl.when(pl.col("d") == 0)
        .then(pl.col("v").round(0).cast(pl.Int64).cast(pl.String))
        .when(pl.col("d") == 1)
        .then(pl.col("v").round(1).cast(pl.String))
        .otherwise(pl.col("v").round(2).cast(pl.String))
    ).to_series()


@dataclass
class _People:
    """Background patients of one chunk, as arrays indexed by position."""

    nums: np.ndarray
    birth: np.ndarray  # datetime64[D], real
    effective_birth: np.ndarray  # datetime64[D], as the screening computes it
    year_only: np.ndarray
    visit_start: np.ndarray  # first visit of each patient in the visit arrays
    n_visits: np.ndarray
    visit_day: np.ndarray  # datetime64[D]
    visit_time: pl.Series  # "" or "THH:MM:00"
    first_day: np.ndarray
    span: np.ndarray  # days available from first_day to LAST_DAY

    def pick_visits(self, rng: np.random.Generator, patients: np.ndarray) -> np.ndarray:
        offset = (rng.random(patients.size) * self.n_visits[patients]).astype(np.int64)
        return self.visit_start[patients] + offset

    def pick_days(self, rng: np.random.Generator, patients: np.ndarray) -> np.ndarray:
        offset = (rng.random(patients.size) * self.span[patients]).astype(np.int64)
        return self.first_day[patients] + offset.astype("timedelta64[D]")


def _people(rng: np.random.Generator, nums: np.ndarray, rules: Rules) -> _People:
    n = nums.size
    child = rng.random(n) < 0.2
    year = np.where(child, rng.integers(2005, 2023, n), rng.integers(1930, 2002, n))
    # Days 1-28 only: every month has them, so completed months are unambiguous.
    birth = _ymd(year, rng.integers(1, 13, n), rng.integers(1, 29, n))
    year_only = rng.random(n) < 0.15
    mid_year = _ymd(year, rules.birth_year_month, rules.birth_year_day)
    effective = np.where(year_only, mid_year, birth)
    first_day = np.maximum(np.maximum(birth, effective), _days(FIRST_DAY)) + np.timedelta64(1, "D")
    span = (_days(LAST_DAY) - first_day).astype(np.int64) + 1
    n_visits = 1 + rng.poisson(3.0, n)
    visit_patient = np.repeat(np.arange(n), n_visits)
    visit_start = np.concatenate(([0], np.cumsum(n_visits)[:-1])).astype(np.int64)
    offsets = (rng.random(visit_patient.size) * span[visit_patient]).astype(np.int64)
    visit_day = first_day[visit_patient] + offsets.astype("timedelta64[D]")
    timed = rng.random(visit_patient.size) < 0.35
    times = pl.DataFrame(
        {
            "t": timed,
            "h": rng.integers(6, 21, visit_patient.size),
            "m": rng.integers(0, 60, visit_patient.size),
        }
    ).select(
        pl.when(pl.col("t"))
        .then(
            pl.format(
                "T{}:{}:00",
                pl.col("h").cast(pl.String).str.zfill(2),
                pl.col("m").cast(pl.String).str.zfill(2),
            )
        )
        .otherwise(pl.lit(""))
    )
    return _People(
        nums=nums,
        birth=birth,
        effective_birth=effective,
        year_only=year_only,
        visit_start=visit_start,
        n_visits=n_visits,
        visit_day=visit_day,
        visit_time=times.to_series(),
        first_day=first_day,
        span=span,
    )


def _other_labs(rng: np.random.Generator, people: _People, per_patient: float) -> pl.DataFrame:
    counts = rng.poisson(per_patient, people.nums.size)
    patients = np.repeat(np.arange(people.nums.size), counts)
    weights = np.array([t[8] for t in _OTHER_TESTS], dtype=float)
    test = rng.choice(len(_OTHER_TESTS), size=patients.size, p=weights / weights.sum())
    centre = np.array([t[3] for t in _OTHER_TESTS])[test]
    spread = np.array([t[4] for t in _OTHER_TESTS])[test]
    lognormal = np.array([t[9] for t in _OTHER_TESTS])[test]
    z = rng.standard_normal(patients.size)
    value = np.where(lognormal, centre * np.exp(spread * z), centre + spread * z)
    value = np.maximum(value, centre * 0.05)
    decimals = np.array([t[5] for t in _OTHER_TESTS])[test]
    with_ref = rng.random(patients.size) < 0.7

    def column(i: int) -> pl.Series:
        return pl.Series([t[i] for t in _OTHER_TESTS], dtype=pl.String).gather(test)

    return pl.DataFrame(
        {
            "p": patients,
            "visit": people.pick_visits(rng, patients),
            "test_code": column(0),
            "test_system": pl.Series(["LOINC"] * patients.size, dtype=pl.String),
            "test_name": column(1),
            "value": _format_values(value, decimals),
            "unit": column(2),
            "ref_low": column(6),
            "ref_high": column(7),
        }
    ).with_columns(
        pl.when(pl.Series(with_ref)).then(pl.col("ref_low")).alias("ref_low"),
        pl.when(pl.Series(with_ref)).then(pl.col("ref_high")).alias("ref_high"),
    )


def _ig_labs(
    rng: np.random.Generator,
    people: _People,
    rules: Rules,
    limits: _Limits,
    p_tested: float,
) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """Immunoglobulin panels safely inside the age-band limits.

    Returns the rows, and for every IgM row its patient position and age in months (for the
    truth: a patient tested only before the minimum age is under_min_age).
    """
    n = people.nums.size
    n_panels = np.where(rng.random(n) < p_tested, 1 + rng.poisson(0.4, n), 0)
    panel_patient = np.repeat(np.arange(n), n_panels)
    size = panel_patient.size
    panel_visit = people.pick_visits(rng, panel_patient)
    kind = rng.random(size)
    has = {
        "igm": kind < 0.97,
        "igg": (kind < 0.90) | (kind >= 0.97),
        "iga": (kind < 0.90) | (kind >= 0.97),
    }
    # One lab per panel: its unit family (mg/dL, g/L, IU/mL or mg/L), unit spelling, naming
    # style, code-system spelling, and whether it prints its reference limits.
    panel_conventions = {
        "family": np.searchsorted([0.7, 0.9], rng.random(size), side="right"),
        "spelling": rng.integers(0, 3, size),
        "name": rng.integers(0, 4, size),
        "system": np.searchsorted([0.85, 0.9, 0.95], rng.random(size), side="right"),
        "with_ref": rng.random(size) < 0.45,
    }
    frames = []
    igm_patient = igm_age = np.empty(0, dtype=np.int64)
    for analyte in ("igm", "igg", "iga"):
        rows = has[analyte]
        patients, visits = panel_patient[rows], panel_visit[rows]
        conventions = {k: v[rows] for k, v in panel_conventions.items()}
        age = _months_between(people.effective_birth[patients], people.visit_day[visits])
        lower, upper = limits.lookup(analyte, age)
        # The middle half of the interval: far from both limits, whatever the unit rounding.
        mg_dl = lower + rng.uniform(0.25, 0.75, patients.size) * (upper - lower)
        if analyte == "igm":
            # A few high IgM values: realistic, and still not low.
            high = rng.random(patients.size) < 0.04
            mg_dl = np.where(high, upper * rng.uniform(1.05, 1.6, patients.size), mg_dl)
            igm_patient, igm_age = patients, age
        else:
            # IgG/IgA outside their limits do not matter without a low IgM.
            out = rng.random(patients.size) < 0.05
            side = rng.random(patients.size) < 0.5
            mg_dl = np.where(out, np.where(side, 0.8 * lower, 1.15 * upper), mg_dl)
        frames.append(
            _ig_frame(
                rules,
                analyte,
                patients=patients,
                visits=visits,
                mg_dl=mg_dl,
                lower=lower,
                upper=upper,
                conventions=conventions,
            )
        )
    return pl.concat(frames), igm_patient, igm_age


def _ig_frame(
    rules: Rules,
    analyte: str,
    *,
    patients: np.ndarray,
    visits: np.ndarray,
    mg_dl: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    conventions: dict[str, np.ndarray],
) -> pl.DataFrame:
    """Write mg/dL values and table limits in each panel's unit, as text."""
    families = _IG_UNITS[analyte]
    keys = [_unit_key(f[0]) for f in families]
    family = conventions["family"]
    factor = _unit_factors(rules, analyte, keys)[family]
    decimals = np.array([_UNIT_DECIMALS[k] for k in keys])[family]
    spellings = pl.Series([f[i % len(f)] for f in families for i in range(3)], dtype=pl.String)
    with_ref = pl.Series(conventions["with_ref"])
    return pl.DataFrame(
        {
            "p": patients,
            "visit": visits,
            "test_code": pl.Series([rules.loinc[analyte]] * patients.size, dtype=pl.String),
            "test_system": pl.Series(["LOINC", "LN", "loinc", None], dtype=pl.String).gather(
                conventions["system"]
            ),
            "test_name": pl.Series(_IG_TEST_NAMES[analyte], dtype=pl.String).gather(
                conventions["name"]
            ),
            "value": _format_values(mg_dl / factor, decimals),
            "unit": spellings.gather(family * 3 + conventions["spelling"]),
            "ref_low": _format_values(lower / factor, decimals),
            "ref_high": _format_values(upper / factor, decimals),
        }
    ).with_columns(
        pl.when(with_ref).then(pl.col("ref_low")).alias("ref_low"),
        pl.when(with_ref).then(pl.col("ref_high")).alias("ref_high"),
    )


def _unit_factors(rules: Rules, analyte: str, keys: list[str]) -> np.ndarray:
    table = rules.units.filter(pl.col("analyte") == analyte)
    factors = dict(
        zip(table["unit_key"].to_list(), table["factor_to_mg_dl"].to_list(), strict=True)
    )
    missing = [k for k in keys if k not in factors]
    if missing:
        raise ValueError(f"the rules have no unit {missing[0]} for {analyte}")
    return np.array([factors[k] for k in keys])


def _antigen_labs(rng: np.random.Generator, people: _People) -> pl.DataFrame:
    patients = np.flatnonzero(rng.random(people.nums.size) < 0.03)
    test = rng.integers(0, len(_ANTIGEN_IGM), patients.size)
    median = np.array([t[3] for t in _ANTIGEN_IGM])[test]
    value = median * np.exp(0.8 * rng.standard_normal(patients.size))

    def column(i: int) -> pl.Series:
        return pl.Series([t[i] for t in _ANTIGEN_IGM], dtype=pl.String).gather(test)

    return pl.DataFrame(
        {
            "p": patients,
            "visit": people.pick_visits(rng, patients),
            "test_code": column(0),
            "test_system": pl.Series(["LOINC"] * patients.size, dtype=pl.String),
            "test_name": column(1),
            "value": _format_values(value, np.ones(patients.size, dtype=np.int64)),
            "unit": column(2),
            "ref_low": pl.Series([None] * patients.size, dtype=pl.String),
            "ref_high": pl.Series([None] * patients.size, dtype=pl.String),
        }
    )


def _patient_ids(nums: np.ndarray | pl.Series, width: int) -> pl.Expr:
    return pl.format("P{}", pl.lit(pl.Series(nums)).cast(pl.String).str.zfill(width))


def _background(
    rng: np.random.Generator,
    nums: np.ndarray,
    *,
    rules: Rules,
    limits: _Limits,
    other_labs_per_patient: float,
    p_tested: float,
    width: int,
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Every table's rows (with a `num` column for ordering) and the truth of one chunk."""
    people = _people(rng, nums, rules)
    ig, igm_patient, igm_age = _ig_labs(rng, people, rules, limits, p_tested)
    labs = pl.concat(
        [_other_labs(rng, people, other_labs_per_patient), ig, _antigen_labs(rng, people)]
    )
    # Real extracts repeat some rows verbatim; the screening drops exact duplicates.
    labs = pl.concat([labs, labs.filter(pl.Series(rng.random(labs.height) < 0.002))])
    visit = labs["visit"].to_numpy()
    patient = labs["p"].to_numpy()
    visit_number = visit - people.visit_start[patient]
    labs = labs.with_columns(
        num=pl.Series(nums[patient]),
        patient_id=_patient_ids(nums[patient], width),
        collected_date=pl.Series(people.visit_day[visit]).cast(pl.String)
        + people.visit_time.gather(visit),
        specimen_id=pl.format(
            "S{}{}",
            pl.lit(pl.Series(nums[patient])).cast(pl.String).str.zfill(width),
            pl.lit(pl.Series(visit_number)).cast(pl.String).str.zfill(3),
        ),
    )
    tables = {
        "labs": labs,
        "patients": _background_patients(rng, people, width),
        "medications": _background_medications(rng, people, width),
        "diagnoses": _background_diagnoses(rng, people, width),
    }
    return tables, _background_truth(people, igm_patient, igm_age, rules, width)


def _background_patients(rng: np.random.Generator, people: _People, width: int) -> pl.DataFrame:
    n = people.nums.size
    sex = rng.choice(len(_SEX_SPELLINGS), size=n, p=np.array(_SEX_WEIGHTS) / sum(_SEX_WEIGHTS))
    year_only = pl.Series(people.year_only)
    return pl.DataFrame({"num": people.nums}).with_columns(
        patient_id=_patient_ids(people.nums, width),
        birth_date=pl.when(year_only.not_()).then(pl.Series(people.birth).cast(pl.String)),
        birth_year=pl.when(year_only).then(
            pl.Series(people.birth.astype("datetime64[Y]").astype(np.int64) + 1970).cast(pl.String)
        ),
        sex=pl.Series(_SEX_SPELLINGS, dtype=pl.String).gather(sex),
    )


def _background_medications(rng: np.random.Generator, people: _People, width: int) -> pl.DataFrame:
    patients = np.repeat(np.arange(people.nums.size), rng.poisson(1.2, people.nums.size))
    drug = rng.integers(0, len(_BACKGROUND_DRUGS), patients.size)
    start = people.pick_days(rng, patients)
    duration = rng.integers(7, 730, patients.size).astype("timedelta64[D]")
    end = np.minimum(start + duration, _days(LAST_DAY))
    has_end = pl.Series(rng.random(patients.size) < 0.7)

    def column(i: int) -> pl.Series:
        return pl.Series([d[i] for d in _BACKGROUND_DRUGS], dtype=pl.String).gather(drug)

    return pl.DataFrame({"num": people.nums[patients]}).with_columns(
        patient_id=_patient_ids(people.nums[patients], width),
        drug_name=column(0),
        drug_code=column(1),
        drug_system=pl.lit("ATC"),
        start_date=pl.Series(start).cast(pl.String),
        end_date=pl.when(has_end).then(pl.Series(end).cast(pl.String)),
        route=column(2),
    )


def _background_diagnoses(rng: np.random.Generator, people: _People, width: int) -> pl.DataFrame:
    patients = np.repeat(np.arange(people.nums.size), rng.poisson(1.5, people.nums.size))
    pick = rng.integers(0, len(_BACKGROUND_DIAGNOSES), patients.size)
    when = people.pick_days(rng, patients)
    icd9 = pl.Series(when < _days(_ICD10_FROM))
    undotted = pl.Series(rng.random(patients.size) < 0.2)
    icd10_code = pl.Series([d[0] for d in _BACKGROUND_DIAGNOSES], dtype=pl.String).gather(pick)
    icd9_code = pl.Series([d[1] for d in _BACKGROUND_DIAGNOSES], dtype=pl.String).gather(pick)
    code = pl.when(icd9).then(icd9_code).otherwise(icd10_code)
    return pl.DataFrame({"num": people.nums[patients]}).with_columns(
        patient_id=_patient_ids(people.nums[patients], width),
        code=pl.when(undotted).then(code.str.replace(".", "", literal=True)).otherwise(code),
        code_system=pl.when(icd9)
        .then(_pick(rng, _ICD9_SPELLINGS, patients.size))
        .otherwise(_pick(rng, _ICD10_SPELLINGS, patients.size)),
        diagnosis_date=pl.Series(when).cast(pl.String),
    )


def _background_truth(
    people: _People, igm_patient: np.ndarray, igm_age: np.ndarray, rules: Rules, width: int
) -> pl.DataFrame:
    """Background IgM is never low: tested at min age or later -> igm_not_low, else under."""
    oldest = np.full(people.nums.size, -1, dtype=np.int64)
    np.maximum.at(oldest, igm_patient, igm_age)
    tested = np.flatnonzero(oldest >= 0)
    counted = oldest[tested] >= rules.min_age_years * 12
    return pl.DataFrame({"num": people.nums[tested]}).with_columns(
        patient_id=_patient_ids(people.nums[tested], width),
        status=pl.when(pl.Series(counted))
        .then(pl.lit("igm_not_low"))
        .otherwise(pl.lit("under_min_age")),
        severity=pl.lit(None, pl.String),
        scenario=pl.lit("background"),
    )


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


class _TableWriter:
    """Appends chunks to one table file, every column as text (CSV, gzipped CSV or Parquet)."""

    def __init__(self, path: Path, columns: tuple[str, ...], file_format: str) -> None:
        self.path = path
        self.columns = columns
        self.file_format = file_format
        self.rows = 0
        self._schema = pa.schema([(c, pa.string()) for c in columns])
        self._raw: IO[bytes] | None = None
        self._csv: IO[bytes] | None = None
        self._parquet: pq.ParquetWriter | None = None

    def write(self, frame: pl.DataFrame) -> None:
        frame = frame.select(pl.col(c).cast(pl.String) for c in self.columns)
        if self.file_format == "parquet":
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, self._schema, compression="zstd")
            self._parquet.write_table(frame.to_arrow().cast(self._schema))
        else:
            header = self._csv is None
            if self._csv is None:
                self._raw = self.path.open("wb")
                # mtime=0 and no file name in the gzip header: same seed, same bytes.
                self._csv = self._raw
                if self.file_format == "csv.gz":
                    zipped = gzip.GzipFile(
                        filename="", mode="wb", fileobj=self._raw, mtime=0, compresslevel=6
                    )
                    self._csv = cast(IO[bytes], zipped)
            frame.write_csv(self._csv, include_header=header)
        self.rows += frame.height

    def close(self) -> None:
        if self._csv is None and self._parquet is None:
            self.write(pl.DataFrame({c: pl.Series([], dtype=pl.String) for c in self.columns}))
        if self._parquet is not None:
            self._parquet.close()
        if self._csv is not None and self._csv is not self._raw:
            self._csv.close()
        if self._raw is not None:
            self._raw.close()


def _table_paths(out_dir: Path, file_format: str, split_labs: int) -> dict[str, list[Path]]:
    paths = {t: [out_dir / f"{t}.{file_format}"] for t in TABLE_COLUMNS}
    if split_labs > 1:
        paths["labs"] = [
            out_dir / f"labs_part-{i:02d}.{file_format}" for i in range(1, split_labs + 1)
        ]
    return paths


def _check_out_dir(out_dir: Path, paths: dict[str, list[Path]]) -> None:
    """Refuse to mix with another extract's tables, which the reader would pick up too."""
    ours = {p.name for group in paths.values() for p in group}
    pattern = re.compile(rf"^({'|'.join(TABLE_COLUMNS)})([_\-.].*)?\.(csv|csv\.gz|parquet)$", re.I)
    strangers = sorted(
        p.name for p in out_dir.iterdir() if pattern.match(p.name) and p.name not in ours
    )
    if strangers:
        raise SigmdError(
            f"already holds other extract tables ({', '.join(strangers)}); use an empty folder",
            file=str(out_dir),
        )


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def _plant(
    rules: Rules, limits: _Limits, seed: int, nums: np.ndarray, width: int
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Build every scenario's rows; returns the tables (with `num`) and the planted truth."""
    rng = np.random.default_rng([seed, 2])
    span = (_ANCHOR_LAST - _ANCHOR_FIRST).days
    rows: dict[str, list[dict[str, object]]] = {t: [] for t in TABLE_COLUMNS}
    truth = []
    for k, (scenario, num) in enumerate(zip(SCENARIOS, nums.tolist(), strict=True)):
        pid = f"P{num:0{width}d}"
        anchor = _ANCHOR_FIRST + timedelta(days=int(rng.integers(0, span + 1)))
        age = scenario.age_years
        if age is None:
            age = float(rng.integers(25, 80)) + float(rng.random())
        birth = anchor - timedelta(days=round(age * 365.25))
        birth = birth.replace(day=min(birth.day, 28))
        year_only = scenario.birth_year_only
        if year_only is None:
            year_only = bool(rng.random() < 0.2)
        effective = (
            date(birth.year, rules.birth_year_month, rules.birth_year_day) if year_only else birth
        )
        case = Case(rules, limits, pid, anchor, effective, rng)
        scenario.build(case)
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
        truth.append(
            {
                "num": num,
                "patient_id": pid,
                "status": scenario.status,
                "severity": scenario.severity,
                "scenario": scenario.name,
            }
        )
    schema = {"num": pl.Int64} | dict.fromkeys(TRUTH_COLUMNS, pl.String)
    tables = {
        table: pl.DataFrame(
            table_rows, schema={"num": pl.Int64} | dict.fromkeys(TABLE_COLUMNS[table], pl.String)
        )
        for table, table_rows in rows.items()
    }
    return tables, pl.DataFrame(truth, schema=schema)


def _ig_tested_share(other_labs_per_patient: float) -> float:
    """Share of background patients with immunoglobulin tests so that Ig rows are ~3 %."""
    other = other_labs_per_patient + 0.03  # antigen-specific IgM decoys
    ig_rows = _IG_SHARE / (1 - _IG_SHARE) * other
    return float(np.clip(ig_rows / _IG_ROWS_PER_TESTED, 0.02, 1.0))


def _chunks(n_total: int) -> Iterator[tuple[int, int]]:
    for lo in range(1, n_total + 1, _CHUNK_PATIENTS):
        yield lo, min(lo + _CHUNK_PATIENTS, n_total + 1)


def generate_extract(
    out_dir: Path | str,
    n_patients: int,
    *,
    seed: int = 0,
    rules: Rules | None = None,
    file_format: str = "csv",
    other_labs_per_patient: float = 30.0,
    split_labs: int = 1,
) -> GenerateSummary:
    """Write a synthetic canonical extract and its `truth.csv` into `out_dir`.

    Every scenario of `SCENARIOS` is planted once; the remaining `n_patients - len(SCENARIOS)`
    patients are background. When `n_patients` is smaller than the planted set, all scenarios
    are planted anyway and the extract holds `len(SCENARIOS)` patients.
    """
    if file_format not in FILE_FORMATS:
        raise ValueError(f"file_format must be one of {', '.join(FILE_FORMATS)}")
    if split_labs < 1:
        raise ValueError("split_labs must be at least 1")
    if n_patients < 0 or other_labs_per_patient < 0:
        raise ValueError("n_patients and other_labs_per_patient must not be negative")
    rules = rules or load_rules()
    limits = _Limits(rules)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = _table_paths(out, file_format, split_labs)
    _check_out_dir(out, paths)

    n_total = max(n_patients, len(SCENARIOS))
    width = max(7, len(str(n_total)))
    planted_nums = np.random.default_rng([seed, 0]).choice(
        np.arange(1, n_total + 1), size=len(SCENARIOS), replace=False
    )
    planted, planted_truth = _plant(rules, limits, seed, planted_nums, width)
    is_planted = np.zeros(n_total + 1, dtype=bool)
    is_planted[planted_nums] = True
    p_tested = _ig_tested_share(other_labs_per_patient)

    writers = {
        t: [_TableWriter(p, TABLE_COLUMNS[t], file_format) for p in ps] for t, ps in paths.items()
    }
    truth_parts = []
    try:
        for lo, hi in _chunks(n_total):
            nums = np.arange(lo, hi)
            background = nums[~is_planted[lo:hi]]
            tables: dict[str, list[pl.DataFrame]] = {t: [] for t in TABLE_COLUMNS}
            if background.size:
                rng = np.random.default_rng([seed, 1, lo])
                made, truth = _background(
                    rng,
                    background,
                    rules=rules,
                    limits=limits,
                    other_labs_per_patient=other_labs_per_patient,
                    p_tested=p_tested,
                    width=width,
                )
                truth_parts.append(truth)
                for table, frame in made.items():
                    tables[table].append(frame.select("num", *TABLE_COLUMNS[table]))
            in_chunk = pl.col("num").is_between(lo, hi - 1)
            for table, frame in planted.items():
                tables[table].append(frame.filter(in_chunk))
            truth_parts.append(planted_truth.filter(in_chunk))
            for table, frames in tables.items():
                merged = pl.concat(frames).sort(_SORT_BY[table], maintain_order=True)
                _write_split(writers[table], merged)
    finally:
        for group in writers.values():
            for writer in group:
                writer.close()

    truth_frame = pl.concat(truth_parts).sort("num").select(TRUTH_COLUMNS)
    truth_frame.write_csv(out / TRUTH_FILE)
    counts = dict(truth_frame.group_by("status").len().iter_rows())
    return GenerateSummary(
        out_dir=out,
        n_patients=n_total,
        n_lab_rows=sum(w.rows for w in writers["labs"]),
        n_planted=len(SCENARIOS),
        status_counts={s: int(counts.get(s, 0)) for s in STATUSES},
    )


def _write_split(writers: list[_TableWriter], frame: pl.DataFrame) -> None:
    """Spread a chunk's rows over the table's files in contiguous slices."""
    bounds = np.linspace(0, frame.height, len(writers) + 1).astype(np.int64)
    for writer, start, stop in zip(writers, bounds[:-1], bounds[1:], strict=True):
        writer.write(frame.slice(int(start), int(stop - start)))


def read_truth(extract_dir: Path | str) -> pl.DataFrame:
    """The planted truth of a generated extract (severity null where empty)."""
    return pl.read_csv(
        Path(extract_dir) / TRUTH_FILE, schema=dict.fromkeys(TRUTH_COLUMNS, pl.String)
    )
