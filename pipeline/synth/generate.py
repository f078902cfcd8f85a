"""Write a synthetic extract: planted patients and the background, chunk by chunk, and truth.

Planted patient numbers are drawn at random among all numbers, so planted patients are
interleaved with the background. Each chunk of patient numbers is generated, merged with the
planted rows that fall in it, sorted and appended to the table files before the next chunk is
made, so memory stays flat however many patients are asked for. All randomness comes from
generators seeded by `seed` (and the chunk), so one seed gives byte-identical files.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.result import STATUSES
from pipeline.rules import Rules, load_rules
from pipeline.synth.background import background_chunk, ig_tested_share
from pipeline.synth.layout import FILE_FORMATS, SORT_BY, TABLE_COLUMNS, check_out_dir, table_paths
from pipeline.synth.measures import AgeLimits
from pipeline.synth.plant import plant
from pipeline.synth.scenarios import SCENARIOS
from pipeline.synth.truth import write_truth
from pipeline.synth.writer import TableWriter, write_split

_CHUNK_PATIENTS = 20_000


@dataclass(frozen=True)
class GenerateSummary:
    out_dir: Path
    n_patients: int
    n_lab_rows: int
    n_planted: int
    status_counts: dict[str, int]


@dataclass(frozen=True)
class _Plan:
    """What every chunk needs: the settings, and the planted rows to merge in."""

    seed: int
    rules: Rules
    limits: AgeLimits
    other_labs_per_patient: float
    p_tested: float
    width: int
    is_planted: np.ndarray  # indexed by patient number
    planted: dict[str, pl.DataFrame]
    planted_truth: pl.DataFrame


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
    _check_arguments(n_patients, file_format, other_labs_per_patient, split_labs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = table_paths(out, file_format, split_labs)
    check_out_dir(out, paths)
    n_total = max(n_patients, len(SCENARIOS))
    plan = _plan(rules or load_rules(), seed, n_total, other_labs_per_patient)

    writers = {
        t: [TableWriter(p, TABLE_COLUMNS[t], file_format) for p in ps] for t, ps in paths.items()
    }
    truth_parts = []
    try:
        for lo, hi in _chunks(n_total):
            tables, truth = _chunk(plan, lo, hi)
            truth_parts.extend(truth)
            for table, frame in tables.items():
                write_split(writers[table], frame)
    finally:
        for group in writers.values():
            for writer in group:
                writer.close()

    truth_frame = pl.concat(truth_parts)
    write_truth(truth_frame, out)
    counts = dict(truth_frame.group_by("status").len().iter_rows())
    return GenerateSummary(
        out_dir=out,
        n_patients=n_total,
        n_lab_rows=sum(w.rows for w in writers["labs"]),
        n_planted=len(SCENARIOS),
        status_counts={s: int(counts.get(s, 0)) for s in STATUSES},
    )


def _check_arguments(
    n_patients: int, file_format: str, other_labs_per_patient: float, split_labs: int
) -> None:
    if file_format not in FILE_FORMATS:
        raise ValueError(f"file_format must be one of {', '.join(FILE_FORMATS)}")
    if split_labs < 1:
        raise ValueError("split_labs must be at least 1")
    if n_patients < 0 or other_labs_per_patient < 0:
        raise ValueError("n_patients and other_labs_per_patient must not be negative")


def _plan(rules: Rules, seed: int, n_total: int, other_labs_per_patient: float) -> _Plan:
    """Draw the planted patient numbers and build the planted rows."""
    limits = AgeLimits(rules)
    width = max(7, len(str(n_total)))
    planted_nums = np.random.default_rng([seed, 0]).choice(
        np.arange(1, n_total + 1), size=len(SCENARIOS), replace=False
    )
    planted, planted_truth = plant(rules, limits, seed, planted_nums, width)
    is_planted = np.zeros(n_total + 1, dtype=bool)
    is_planted[planted_nums] = True
    return _Plan(
        seed=seed,
        rules=rules,
        limits=limits,
        other_labs_per_patient=other_labs_per_patient,
        p_tested=ig_tested_share(other_labs_per_patient),
        width=width,
        is_planted=is_planted,
        planted=planted,
        planted_truth=planted_truth,
    )


def _chunks(n_total: int) -> Iterator[tuple[int, int]]:
    for lo in range(1, n_total + 1, _CHUNK_PATIENTS):
        yield lo, min(lo + _CHUNK_PATIENTS, n_total + 1)


def _chunk(plan: _Plan, lo: int, hi: int) -> tuple[dict[str, pl.DataFrame], list[pl.DataFrame]]:
    """Patient numbers lo .. hi-1: every table's rows, sorted, and their truth."""
    nums = np.arange(lo, hi)
    background = nums[~plan.is_planted[lo:hi]]
    tables: dict[str, list[pl.DataFrame]] = {t: [] for t in TABLE_COLUMNS}
    truth_parts = []
    if background.size:
        made, truth = background_chunk(
            np.random.default_rng([plan.seed, 1, lo]),
            background,
            rules=plan.rules,
            limits=plan.limits,
            other_labs_per_patient=plan.other_labs_per_patient,
            p_tested=plan.p_tested,
            width=plan.width,
        )
        truth_parts.append(truth)
        for table, frame in made.items():
            tables[table].append(frame.select("num", *TABLE_COLUMNS[table]))
    in_chunk = pl.col("num").is_between(lo, hi - 1)
    for table, frame in plan.planted.items():
        tables[table].append(frame.filter(in_chunk))
    truth_parts.append(plan.planted_truth.filter(in_chunk))
    merged = {
        table: pl.concat(frames).sort(SORT_BY[table], maintain_order=True)
        for table, frames in tables.items()
    }
    return merged, truth_parts
