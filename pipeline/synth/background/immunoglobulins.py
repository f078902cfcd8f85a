"""Background immunoglobulin panels, safely inside the age-band limits.

A share of patients is tested, so that Ig rows are about 3 % of all lab rows. Each panel comes
from one lab with its own conventions: unit family and spelling, naming style, code-system
spelling, and whether it prints its reference limits. IgM is never low, so no background
patient has an index date.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.rules import Rules
from pipeline.synth.background.people import People
from pipeline.synth.dates import months_between
from pipeline.synth.measures import UNIT_DECIMALS, AgeLimits, format_values, unit_factors, unit_key

_IG_SHARE = 0.03  # immunoglobulin rows among all lab rows, as in a general hospital extract
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
# Expected immunoglobulin rows per tested background patient (see `ig_labs`):
# 1.4 panels, each IgM+IgG+IgA (90 %), IgM only (7 %) or IgG+IgA only (3 %).
_IG_ROWS_PER_TESTED = 1.4 * (0.90 * 3 + 0.07 * 1 + 0.03 * 2)


def ig_tested_share(other_labs_per_patient: float) -> float:
    """Share of background patients with immunoglobulin tests so that Ig rows are ~3 %."""
    other = other_labs_per_patient + 0.03  # antigen-specific IgM decoys
    ig_rows = _IG_SHARE / (1 - _IG_SHARE) * other
    return float(np.clip(ig_rows / _IG_ROWS_PER_TESTED, 0.02, 1.0))


def ig_labs(
    rng: np.random.Generator,
    people: People,
    rules: Rules,
    limits: AgeLimits,
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
        age = months_between(people.effective_birth[patients], people.visit_day[visits])
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
    keys = [unit_key(f[0]) for f in families]
    family = conventions["family"]
    factor = unit_factors(rules, analyte, keys)[family]
    decimals = np.array([UNIT_DECIMALS[k] for k in keys])[family]
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
            "value": format_values(mg_dl / factor, decimals),
            "unit": spellings.gather(family * 3 + conventions["spelling"]),
            "ref_low": format_values(lower / factor, decimals),
            "ref_high": format_values(upper / factor, decimals),
        }
    ).with_columns(
        pl.when(with_ref).then(pl.col("ref_low")).alias("ref_low"),
        pl.when(with_ref).then(pl.col("ref_high")).alias("ref_high"),
    )
