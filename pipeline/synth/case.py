"""A planted patient under construction: values and windows from the rules, rows to plant.

A scenario builds its patient through a `Case`: it asks for values relative to the rules ("a low
IgM at this age", "inside the clozapine window") and plants rows at day offsets from the case's
anchor. It marks the IgM row whose panel the screening must take as the index, so the truth
carries the index date the scenario planted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from pipeline.rules import Rules, Window
from pipeline.synth.dates import age_months
from pipeline.synth.measures import IG_NAMES, UNIT_DECIMALS, AgeLimits, format_number, unit_key
from pipeline.synth.rows import PatientRows, Row


@dataclass(kw_only=True)
class Case(PatientRows):
    """A planted patient under construction; day offsets are relative to its intended index."""

    rules: Rules
    limits: AgeLimits
    birth: date  # the effective birth date (mid-year when only the year is given)
    index_offset: int | None = None  # the day of the IgM marked as the index, if any

    # ---- values relative to the rules ----
    def band(self, analyte: str, offset: int = 0) -> tuple[float, float]:
        months = np.array([age_months(self.birth, self.day(offset))])
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
            (pl.col("analyte") == analyte) & (pl.col("unit_key") == unit_key(unit))
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

    # ---- the index ----
    def mark_index(self, offset: int) -> None:
        """The IgM planted at `offset` is the first isolated low panel: the index date."""
        if self.index_offset is not None:
            raise ValueError(f"{self.pid}: a patient has one index date")
        self.index_offset = offset

    @property
    def index_date(self) -> date | None:
        return None if self.index_offset is None else self.day(self.index_offset)

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
        index: bool = False,
    ) -> Row:
        """One immunoglobulin row; numbers are mg/dL, written in `unit`; text is kept as is.

        `index=True` marks this IgM as the index (see `mark_index`).
        """
        factor = self.unit_factor(analyte, unit)
        decimals = UNIT_DECIMALS.get(unit_key(unit), 2)

        def text(number: float | str) -> str:
            return number if isinstance(number, str) else format_number(number / factor, decimals)

        if index:
            if analyte != "igm":
                raise ValueError("only an IgM row can be the index")
            self.mark_index(offset)
        return self.lab(
            offset,
            self.rules.loinc[analyte],
            IG_NAMES[analyte],
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
        index: bool = False,
    ) -> str:
        """IgM, IgG and IgA from one specimen; IgG/IgA default to mid-range for the age.

        `index=True` marks the panel's IgM as the index.
        """
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
                index=index and analyte == "igm",
            )
        return specimen
