"""One chunk of the background population: every table's rows and the chunk's truth.

The chunk's rows carry a `num` column (the patient number) so they can be merged with the
planted rows and sorted. A background patient with an IgM row is `igm_not_low` if any IgM was
taken at the minimum age or later, else `under_min_age`; it never has an index date.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.rules import Rules
from pipeline.synth.background.immunoglobulins import ig_labs
from pipeline.synth.background.labs import antigen_labs, other_labs
from pipeline.synth.background.people import People, make_people, patient_ids
from pipeline.synth.background.records import diagnoses_table, medications_table, patients_table
from pipeline.synth.measures import AgeLimits


def background_chunk(
    rng: np.random.Generator,
    nums: np.ndarray,
    *,
    rules: Rules,
    limits: AgeLimits,
    other_labs_per_patient: float,
    p_tested: float,
    width: int,
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Every table's rows (with a `num` column for ordering) and the truth of one chunk."""
    people = make_people(rng, nums, rules)
    ig, igm_patient, igm_age = ig_labs(rng, people, rules, limits, p_tested)
    labs = pl.concat(
        [other_labs(rng, people, other_labs_per_patient), ig, antigen_labs(rng, people)]
    )
    # Real extracts repeat some rows verbatim; the screening drops exact duplicates.
    labs = pl.concat([labs, labs.filter(pl.Series(rng.random(labs.height) < 0.002))])
    visit = labs["visit"].to_numpy()
    patient = labs["p"].to_numpy()
    visit_number = visit - people.visit_start[patient]
    labs = labs.with_columns(
        num=pl.Series(nums[patient]),
        patient_id=patient_ids(nums[patient], width),
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
        "patients": patients_table(rng, people, width),
        "medications": medications_table(rng, people, width),
        "diagnoses": diagnoses_table(rng, people, width),
    }
    return tables, _truth(people, igm_patient, igm_age, rules, width)


def _truth(
    people: People, igm_patient: np.ndarray, igm_age: np.ndarray, rules: Rules, width: int
) -> pl.DataFrame:
    """Background IgM is never low: tested at min age or later -> igm_not_low, else under."""
    oldest = np.full(people.nums.size, -1, dtype=np.int64)
    np.maximum.at(oldest, igm_patient, igm_age)
    tested = np.flatnonzero(oldest >= 0)
    counted = oldest[tested] >= rules.min_age_years * 12
    return pl.DataFrame({"num": people.nums[tested]}).with_columns(
        patient_id=patient_ids(people.nums[tested], width),
        status=pl.when(pl.Series(counted))
        .then(pl.lit("igm_not_low"))
        .otherwise(pl.lit("under_min_age")),
        severity=pl.lit(None, pl.String),
        index_date=pl.lit(None, pl.String),
        scenario=pl.lit("background"),
    )
