"""Background patients of one chunk: births, visit days and times, as numpy arrays.

80 % adults and 20 % children, born on days 1-28 (so completed months are unambiguous), 15 %
with only a birth year. Every lab row of a background patient belongs to one of its visits,
which fall in 2015-2024 after birth; medications and diagnoses pick days in the same span.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipeline.rules import Rules
from pipeline.synth.dates import FIRST_DAY, LAST_DAY, days, ymd


@dataclass
class People:
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

    def pickdays(self, rng: np.random.Generator, patients: np.ndarray) -> np.ndarray:
        offset = (rng.random(patients.size) * self.span[patients]).astype(np.int64)
        return self.first_day[patients] + offset.astype("timedelta64[D]")


def make_people(rng: np.random.Generator, nums: np.ndarray, rules: Rules) -> People:
    n = nums.size
    child = rng.random(n) < 0.2
    year = np.where(child, rng.integers(2005, 2023, n), rng.integers(1930, 2002, n))
    # Days 1-28 only: every month has them, so completed months are unambiguous.
    birth = ymd(year, rng.integers(1, 13, n), rng.integers(1, 29, n))
    year_only = rng.random(n) < 0.15
    mid_year = ymd(year, rules.birth_year_month, rules.birth_year_day)
    effective = np.where(year_only, mid_year, birth)
    first_day = np.maximum(np.maximum(birth, effective), days(FIRST_DAY)) + np.timedelta64(1, "D")
    span = (days(LAST_DAY) - first_day).astype(np.int64) + 1
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
    return People(
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


def patient_ids(nums: np.ndarray | pl.Series, width: int) -> pl.Expr:
    return pl.format("P{}", pl.lit(pl.Series(nums)).cast(pl.String).str.zfill(width))
