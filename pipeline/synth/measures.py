"""Immunoglobulin values in the rules' terms: age-band limits, unit factors, written numbers.

Planted and background values are chosen in mg/dL against the rules' reference-interval table,
then written in a unit of the rules' `units.csv` with that unit's usual number of decimals.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.rules import Rules

IG_NAMES = {"igm": "IgM", "igg": "IgG", "iga": "IgA"}
UNIT_DECIMALS = {"mg/dl": 0, "g/l": 2, "mg/l": 0, "iu/ml": 0, "g/dl": 3, "mg/ml": 2}


class AgeLimits:
    """The rules' age-band table (mg/dL), looked up by age in completed months."""

    def __init__(self, rules: Rules) -> None:
        self.bands: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for analyte in IG_NAMES:
            table = rules.reference_intervals.filter(pl.col("analyte") == analyte)
            table = table.sort("age_from_months")
            self.bands[analyte] = (
                table["age_from_months"].to_numpy(),
                # The generator draws values in floating point; exactness is the screening's job.
                table["lower_mg_dl"].cast(pl.Float64).to_numpy(),
                table["upper_mg_dl"].cast(pl.Float64).to_numpy(),
            )

    def lookup(self, analyte: str, age_months: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        starts, lower, upper = self.bands[analyte]
        band = np.searchsorted(starts, age_months, side="right") - 1
        return lower[band], upper[band]


def unit_key(unit: str) -> str:
    return unit.lower().replace(" ", "").replace("[iu]", "iu")


def unit_factors(rules: Rules, analyte: str, keys: list[str]) -> np.ndarray:
    """Factors to mg/dL of the given unit keys; a unit the rules lack is an error."""
    table = rules.units.filter(pl.col("analyte") == analyte)
    factors = dict(
        zip(
            table["unit_key"].to_list(),
            table["factor_to_mg_dl"].cast(pl.Float64).to_list(),
            strict=True,
        )
    )
    missing = [k for k in keys if k not in factors]
    if missing:
        raise ValueError(f"the rules have no unit {missing[0]} for {analyte}")
    return np.array([factors[k] for k in keys])


def format_number(value: float, decimals: int) -> str:
    text = f"{round(value, decimals):.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_values(values: np.ndarray, decimals: np.ndarray) -> pl.Series:
    """Numbers as text with 0, 1 or 2 decimals each (vectorised)."""
    frame = pl.DataFrame({"v": values, "d": decimals})
    return frame.select(
        pl.when(pl.col("d") == 0)
        .then(pl.col("v").round(0).cast(pl.Int64).cast(pl.String))
        .when(pl.col("d") == 1)
        .then(pl.col("v").round(1).cast(pl.String))
        .otherwise(pl.col("v").round(2).cast(pl.String))
    ).to_series()
