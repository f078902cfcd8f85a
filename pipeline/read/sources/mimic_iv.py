"""Read the MIMIC-IV `hosp` module into the canonical extract (SPEC §2).

`--extract` is a MIMIC-IV root (the folder holding `hosp/`), or the `hosp/` folder itself. Each
canonical table comes from one MIMIC table, row for row, so the audit's row counts are those of
the MIMIC files; the small dictionary tables are joined on a de-duplicated key.

- labs: `labevents` (+ `d_labitems` for the test name). The test is the `itemid` under the
  test system `MIMIC-IV`; the bundled mapping `rules/mappings/mimic-iv.csv` maps the total IgM,
  IgG and IgA items to LOINC, so every other item (antibody tests, CSF and body-fluid IgG) is an
  unmapped local code. The value is the text `value` (so `<5` keeps its censoring), else
  `valuenum`; the unit is `valueuom`, the limits `ref_range_lower`/`ref_range_upper`.
- patients: `patients`. Only an age is known (`anchor_age` in `anchor_year`), so the birth year
  is `anchor_year - anchor_age` (the true year may be one earlier) and the screening takes the
  birth date as 1 July of it.
- medications: `prescriptions` (`drug` as the name, `route`, `starttime`/`stoptime`, NDC).
- diagnoses: `diagnoses_icd` (`icd_code` as given, `icd_version` 9/10), dated by the admission
  time of their `hadm_id` in `admissions`.

Only the columns named here are read from the large tables.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.errors import ExtractRefused
from pipeline.read.sources.files import Extract, TableSpec, input_files, not_a_folder, read_table
from pipeline.read.sources.shape import find_tables, lookup, text, to_canonical
from pipeline.rules import DEFAULT_RULES_DIR

LAYOUT = "MIMIC-IV"
# The test system of every lab row: the bundled mapping file maps its itemids to LOINC.
TEST_SYSTEM = "MIMIC-IV"
DEFAULT_MAPPING = DEFAULT_RULES_DIR / "mappings" / "mimic-iv.csv"

TABLES: dict[str, TableSpec] = {
    "labevents": TableSpec(
        required=("subject_id", "itemid", "charttime", "valueuom"),
        optional=("value", "valuenum", "specimen_id", "ref_range_lower", "ref_range_upper"),
        mandatory=True,
    ),
    "d_labitems": TableSpec(required=("itemid", "label"), optional=(), mandatory=False),
    "patients": TableSpec(
        required=("subject_id", "gender", "anchor_age", "anchor_year"), optional=(), mandatory=True
    ),
    "prescriptions": TableSpec(
        required=("subject_id", "drug", "starttime"),
        optional=("stoptime", "route", "ndc"),
        mandatory=False,
    ),
    "diagnoses_icd": TableSpec(
        required=("subject_id", "hadm_id", "icd_code", "icd_version"), optional=(), mandatory=False
    ),
    "admissions": TableSpec(required=("hadm_id", "admittime"), optional=(), mandatory=False),
}
REQUIRED_ANY = {"labevents": (("value", "valuenum"),)}


def read_mimic_iv(directory: Path) -> Extract:
    hosp = hosp_folder(directory)
    mandatory = [name for name, spec in TABLES.items() if spec.mandatory]
    paths = find_tables(hosp, tuple(TABLES), mandatory, LAYOUT)
    if paths["diagnoses_icd"] and not paths["admissions"]:
        raise ExtractRefused(
            "table 'admissions' not found: it dates the diagnoses of 'diagnoses_icd' "
            "(expected admissions.csv.gz, admissions.csv or admissions.parquet)",
            file=str(hosp),
        )
    if not paths["diagnoses_icd"]:
        paths["admissions"] = []  # nothing to date: not read
    source = {
        name: read_table(name, paths[name], spec, REQUIRED_ANY.get(name, ()))
        for name, spec in TABLES.items()
        if paths[name]
    }
    tables = {
        "labs": labs(source["labevents"], source.get("d_labitems")),
        "patients": patients(source["patients"]),
        "medications": medications(source["prescriptions"]) if "prescriptions" in source else None,
        "diagnoses": (
            diagnoses(source["diagnoses_icd"], source["admissions"])
            if "diagnoses_icd" in source
            else None
        ),
    }
    return Extract(
        tables=tables,
        hashing=input_files({name: p for name, p in paths.items() if p}),
        directory=directory,
        default_mapping=DEFAULT_MAPPING,
    )


def hosp_folder(directory: Path) -> Path:
    """The `hosp` module folder of a MIMIC-IV root (or the folder itself if it is `hosp`)."""
    if not directory.is_dir():
        raise not_a_folder(directory)
    hosp = directory / "hosp"
    if hosp.is_dir():
        return hosp
    if any(p.name.lower().startswith("labevents") for p in directory.iterdir()):
        return directory
    raise ExtractRefused(
        "not a MIMIC-IV root: no 'hosp' folder (and no labevents table here)",
        file=str(directory),
    )


def labs(labevents: pl.LazyFrame, d_labitems: pl.LazyFrame | None) -> pl.LazyFrame:
    if d_labitems is not None:
        labevents = lookup(
            labevents,
            d_labitems.with_columns(text("itemid").alias("itemid")),
            key=text("itemid"),
            table_key="itemid",
            columns={"label": "_label"},
        )
    else:
        labevents = labevents.with_columns(pl.lit(None, pl.String).alias("_label"))
    return to_canonical(
        labevents,
        "labs",
        {
            "patient_id": pl.col("subject_id"),
            "collected_date": pl.col("charttime"),
            "test_code": pl.col("itemid"),
            "test_system": pl.lit(TEST_SYSTEM),
            "test_name": pl.col("_label"),
            # The text keeps censoring (`<5`); valuenum only when there is no text.
            "value": pl.coalesce(text("value"), text("valuenum")),
            "unit": pl.col("valueuom"),
            "ref_low": pl.col("ref_range_lower"),
            "ref_high": pl.col("ref_range_upper"),
            "specimen_id": pl.col("specimen_id"),
        },
    )


def patients(frame: pl.LazyFrame) -> pl.LazyFrame:
    year = text("anchor_year").cast(pl.Int32, strict=False)
    age = text("anchor_age").cast(pl.Int32, strict=False)
    return to_canonical(
        frame,
        "patients",
        {
            "patient_id": pl.col("subject_id"),
            # An unreadable anchor leaves no birth year: the patient is quarantined, not guessed.
            "birth_year": (year - age).cast(pl.String),
            "sex": pl.col("gender"),
        },
    )


def medications(frame: pl.LazyFrame) -> pl.LazyFrame:
    ndc = text("ndc")
    # MIMIC writes "0" (or zeros) where a prescription has no NDC.
    ndc = pl.when(ndc.str.contains(r"[1-9]")).then(ndc)
    return to_canonical(
        frame,
        "medications",
        {
            "patient_id": pl.col("subject_id"),
            "drug_name": pl.col("drug"),
            "drug_code": ndc,
            "drug_system": pl.when(ndc.is_not_null()).then(pl.lit("NDC")),
            "start_date": pl.col("starttime"),
            "end_date": pl.col("stoptime"),
            "route": pl.col("route"),
        },
    )


def diagnoses(frame: pl.LazyFrame, admissions: pl.LazyFrame) -> pl.LazyFrame:
    dated = lookup(
        frame,
        admissions.with_columns(text("hadm_id").alias("hadm_id")),
        key=text("hadm_id"),
        table_key="hadm_id",
        columns={"admittime": "_admittime"},
    )
    version = text("icd_version")
    return to_canonical(
        dated,
        "diagnoses",
        {
            "patient_id": pl.col("subject_id"),
            "code": pl.col("icd_code"),
            # icd_version 9 or 10 gives ICD9 / ICD10; anything else is quarantined downstream.
            "code_system": pl.when(version.is_not_null()).then(
                pl.concat_str(pl.lit("ICD"), version)
            ),
            "diagnosis_date": pl.col("_admittime"),
        },
    )
