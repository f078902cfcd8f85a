"""The extract's calendar and completed-month arithmetic, for single dates and numpy arrays.

Every generated date lies in 2015-2024. Ages are counted in completed months, as the screening
counts them, so a planted value is judged against the age band the engine will pick.
"""

from __future__ import annotations

from datetime import date

import numpy as np

FIRST_DAY = date(2015, 1, 1)
LAST_DAY = date(2024, 12, 31)
# Planted index dates fall here, so that offsets of -1100 .. +600 days stay within 2015-2024.
ANCHOR_FIRST = date(2018, 6, 1)
ANCHOR_LAST = date(2022, 12, 31)
# The US switched from ICD-9-CM to ICD-10-CM on 1 Oct 2015: earlier background codes are ICD-9.
ICD10_FROM = date(2015, 10, 1)


def age_months(birth: date, on: date) -> int:
    """Completed months, as the screening counts age."""
    return (on.year - birth.year) * 12 + on.month - birth.month - (on.day < birth.day)


def days(d: date) -> np.datetime64:
    return np.datetime64(d.isoformat(), "D")


def ymd(year: np.ndarray, month: np.ndarray | int, day: np.ndarray | int) -> np.ndarray:
    """datetime64[D] dates from year, month and day arrays."""
    months = ((year - 1970) * 12 + np.asarray(month) - 1).astype("datetime64[M]")
    return months.astype("datetime64[D]") + (np.asarray(day) - 1).astype("timedelta64[D]")


def months_between(birth: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Completed months between datetime64[D] arrays (vectorised `age_months`)."""

    def split(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        month_start = d.astype("datetime64[M]")
        year = d.astype("datetime64[Y]").astype(np.int64) + 1970
        month = month_start.astype(np.int64) % 12 + 1
        day = (d - month_start.astype("datetime64[D]")).astype(np.int64) + 1
        return year, month, day

    by, bm, bd = split(birth)
    oy, om, od = split(on)
    return (oy - by) * 12 + (om - bm) - (od < bd)
