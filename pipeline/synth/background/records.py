"""Background patients, medications and diagnoses rows.

Sex is written in several spellings. Medications are common drugs (and a few exclusion drugs,
harmless without an index); diagnoses are common conditions, ICD-9-CM before October 2015 and
ICD-10 after, some undotted, with code systems spelt in several ways.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.synth.background.people import People, patient_ids
from pipeline.synth.dates import ICD10_FROM, LAST_DAY, days

_SEX_SPELLINGS = ("F", "M", "female", "male", "Female", "Male", "f", "m", "U")
_SEX_WEIGHTS = (0.34, 0.33, 0.07, 0.07, 0.05, 0.05, 0.04, 0.04, 0.01)
# name, ATC, route. Some are exclusion drugs: harmless here, as no background patient has an index.
_DRUGS = (
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
_DIAGNOSES = (
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


def _pick(rng: np.random.Generator, options: tuple[str, ...], size: int) -> pl.Series:
    return pl.Series(options, dtype=pl.String).gather(rng.integers(0, len(options), size))


def patients_table(rng: np.random.Generator, people: People, width: int) -> pl.DataFrame:
    n = people.nums.size
    sex = rng.choice(len(_SEX_SPELLINGS), size=n, p=np.array(_SEX_WEIGHTS) / sum(_SEX_WEIGHTS))
    year_only = pl.Series(people.year_only)
    return pl.DataFrame({"num": people.nums}).with_columns(
        patient_id=patient_ids(people.nums, width),
        birth_date=pl.when(year_only.not_()).then(pl.Series(people.birth).cast(pl.String)),
        birth_year=pl.when(year_only).then(
            pl.Series(people.birth.astype("datetime64[Y]").astype(np.int64) + 1970).cast(pl.String)
        ),
        sex=pl.Series(_SEX_SPELLINGS, dtype=pl.String).gather(sex),
    )


def medications_table(rng: np.random.Generator, people: People, width: int) -> pl.DataFrame:
    patients = np.repeat(np.arange(people.nums.size), rng.poisson(1.2, people.nums.size))
    drug = rng.integers(0, len(_DRUGS), patients.size)
    start = people.pickdays(rng, patients)
    duration = rng.integers(7, 730, patients.size).astype("timedelta64[D]")
    end = np.minimum(start + duration, days(LAST_DAY))
    has_end = pl.Series(rng.random(patients.size) < 0.7)

    def column(i: int) -> pl.Series:
        return pl.Series([d[i] for d in _DRUGS], dtype=pl.String).gather(drug)

    return pl.DataFrame({"num": people.nums[patients]}).with_columns(
        patient_id=patient_ids(people.nums[patients], width),
        drug_name=column(0),
        drug_code=column(1),
        drug_system=pl.lit("ATC"),
        start_date=pl.Series(start).cast(pl.String),
        end_date=pl.when(has_end).then(pl.Series(end).cast(pl.String)),
        route=column(2),
    )


def diagnoses_table(rng: np.random.Generator, people: People, width: int) -> pl.DataFrame:
    patients = np.repeat(np.arange(people.nums.size), rng.poisson(1.5, people.nums.size))
    pick = rng.integers(0, len(_DIAGNOSES), patients.size)
    when = people.pickdays(rng, patients)
    icd9 = pl.Series(when < days(ICD10_FROM))
    undotted = pl.Series(rng.random(patients.size) < 0.2)
    icd10_code = pl.Series([d[0] for d in _DIAGNOSES], dtype=pl.String).gather(pick)
    icd9_code = pl.Series([d[1] for d in _DIAGNOSES], dtype=pl.String).gather(pick)
    code = pl.when(icd9).then(icd9_code).otherwise(icd10_code)
    return pl.DataFrame({"num": people.nums[patients]}).with_columns(
        patient_id=patient_ids(people.nums[patients], width),
        code=pl.when(undotted).then(code.str.replace(".", "", literal=True)).otherwise(code),
        code_system=pl.when(icd9)
        .then(_pick(rng, _ICD9_SPELLINGS, patients.size))
        .otherwise(_pick(rng, _ICD10_SPELLINGS, patients.size)),
        diagnosis_date=pl.Series(when).cast(pl.String),
    )
