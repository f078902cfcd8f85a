"""The truth file: for every patient with an IgM result, the outcome the screening must find.

`truth.csv` has no table prefix, so the extract reader ignores it. Its `index_date` is the date
of the IgM the scenario planted as the first isolated low panel (statuses from excluded_drug
on), empty for the other statuses and for every background patient.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

TRUTH_FILE = "truth.csv"
TRUTH_COLUMNS = ("patient_id", "status", "severity", "index_date", "scenario")


def write_truth(truth: pl.DataFrame, out_dir: Path) -> None:
    """Write the truth rows (all text, ISO dates) in patient number order."""
    truth.sort("num").select(TRUTH_COLUMNS).write_csv(out_dir / TRUTH_FILE)


def read_truth(extract_dir: Path | str) -> pl.DataFrame:
    """The planted truth of a generated extract (severity and index_date null where empty)."""
    truth = pl.read_csv(
        Path(extract_dir) / TRUTH_FILE, schema=dict.fromkeys(TRUTH_COLUMNS, pl.String)
    )
    return truth.with_columns(pl.col("index_date").str.to_date("%Y-%m-%d"))
