"""Background lab rows besides total immunoglobulins: common tests and antigen-specific IgM.

Common tests carry plausible units, normal or log-normal values and, on 70 % of rows, the lab's
reference range. Antigen-specific IgM (CMV, EBV VCA, RF) is not total IgM: a decoy the
screening must ignore.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.synth.background.people import People
from pipeline.synth.measures import format_values

# code, name, unit, centre, spread, decimals, ref_low, ref_high, weight, log-normal
OTHER_TESTS = (
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
ANTIGEN_IGM = (
    ("7853-5", "CMV IgM Ab", "AU/mL", 8.0),
    ("5159-9", "EBV VCA IgM Ab", "U/mL", 10.0),
    ("11573-3", "Rheumatoid factor IgM", "IU/mL", 6.0),
)


def other_labs(rng: np.random.Generator, people: People, per_patient: float) -> pl.DataFrame:
    counts = rng.poisson(per_patient, people.nums.size)
    patients = np.repeat(np.arange(people.nums.size), counts)
    weights = np.array([t[8] for t in OTHER_TESTS], dtype=float)
    test = rng.choice(len(OTHER_TESTS), size=patients.size, p=weights / weights.sum())
    centre = np.array([t[3] for t in OTHER_TESTS])[test]
    spread = np.array([t[4] for t in OTHER_TESTS])[test]
    lognormal = np.array([t[9] for t in OTHER_TESTS])[test]
    z = rng.standard_normal(patients.size)
    value = np.where(lognormal, centre * np.exp(spread * z), centre + spread * z)
    value = np.maximum(value, centre * 0.05)
    decimals = np.array([t[5] for t in OTHER_TESTS])[test]
    with_ref = rng.random(patients.size) < 0.7

    def column(i: int) -> pl.Series:
        return pl.Series([t[i] for t in OTHER_TESTS], dtype=pl.String).gather(test)

    return pl.DataFrame(
        {
            "p": patients,
            "visit": people.pick_visits(rng, patients),
            "test_code": column(0),
            "test_system": pl.Series(["LOINC"] * patients.size, dtype=pl.String),
            "test_name": column(1),
            "value": format_values(value, decimals),
            "unit": column(2),
            "ref_low": column(6),
            "ref_high": column(7),
        }
    ).with_columns(
        pl.when(pl.Series(with_ref)).then(pl.col("ref_low")).alias("ref_low"),
        pl.when(pl.Series(with_ref)).then(pl.col("ref_high")).alias("ref_high"),
    )


def antigen_labs(rng: np.random.Generator, people: People) -> pl.DataFrame:
    patients = np.flatnonzero(rng.random(people.nums.size) < 0.03)
    test = rng.integers(0, len(ANTIGEN_IGM), patients.size)
    median = np.array([t[3] for t in ANTIGEN_IGM])[test]
    value = median * np.exp(0.8 * rng.standard_normal(patients.size))

    def column(i: int) -> pl.Series:
        return pl.Series([t[i] for t in ANTIGEN_IGM], dtype=pl.String).gather(test)

    return pl.DataFrame(
        {
            "p": patients,
            "visit": people.pick_visits(rng, patients),
            "test_code": column(0),
            "test_system": pl.Series(["LOINC"] * patients.size, dtype=pl.String),
            "test_name": column(1),
            "value": format_values(value, np.ones(patients.size, dtype=np.int64)),
            "unit": column(2),
            "ref_low": pl.Series([None] * patients.size, dtype=pl.String),
            "ref_high": pl.Series([None] * patients.size, dtype=pl.String),
        }
    )
