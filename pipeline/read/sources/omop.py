"""Read OMOP CDM 5.4 tables into the canonical extract (SPEC §2).

The extract folder holds `person`, `measurement` (required), `drug_exposure` and
`condition_occurrence` (optional), as CSV, CSV.gz or Parquet, possibly split like the canonical
tables, and optionally the vocabulary table `concept` (`concept.csv`, comma- or tab-separated as
Athena writes it, or `concept.parquet`). Each canonical table comes from one OMOP table, row for
row.

Codes are taken from the vocabulary when `concept` is there, else from the source values:

- labs: LOINC from the concept of `measurement_concept_id`, then `measurement_source_concept_id`,
  then `measurement_source_value` when it is a valid LOINC code; otherwise the source value is a
  local code of test system `OMOP` (or, without one, the concept id under `OMOP-CONCEPT`), for a
  site mapping file to map. The value is `value_as_number` with the operator of
  `operator_concept_id` (`<5`), else a censored `value_source_value`, else either of them.
- patients: birth date from `birth_datetime` or `year/month/day_of_birth`, else the year only;
  sex from `gender_concept_id`, else `gender_source_value`.
- medications: the drug's concept name, else `drug_source_value`; its code from the concept
  (ATC or RxNorm preferred) or an ATC-shaped source value; route by concept name or source value.
- diagnoses: the ICD code of `condition_source_concept_id` (or `condition_concept_id`) from the
  vocabulary, else an ICD-shaped `condition_source_value` (a letter first: ICD-10; three digits:
  ICD-9). Standard SNOMED condition concepts are not read: the rules are ICD code lists.

The OMOP concept ids this needs (value operators, genders) and the ICD vocabulary ids are data:
`rules/mappings/omop-concepts.csv`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.read.loinc import is_loinc
from pipeline.read.parse import lookup, parse_date
from pipeline.read.sources.files import Extract, TableSpec, input_files, not_a_folder, read_table
from pipeline.read.sources.omop_vocabulary import (
    ConceptData,
    concept_key,
    load_concept_data,
    read_concepts,
    vocabulary_files,
    with_concept,
)
from pipeline.read.sources.shape import find_tables, text, to_canonical

LAYOUT = "OMOP CDM"
# Test systems of measurements with no LOINC code: their source value, or their concept id.
SOURCE_TEST_SYSTEM = "OMOP"
CONCEPT_TEST_SYSTEM = "OMOP-CONCEPT"
LOINC_VOCABULARY = "LOINC"
PREFERRED_DRUG_VOCABULARIES = ("ATC", "RXNORM")
# The CDM field a measurement_event_id points to when it names the measurement's specimen.
SPECIMEN_FIELD = "specimen.specimen_id"
# Code forms, for source values read without the vocabulary.
ATC_FORM = r"^[A-Z]\d{2}[A-Z]{2}\d{2}$"
ICD10_FORM = r"^[A-Z]\d[0-9A-Z](\.?[0-9A-Z]{1,4})?$"
ICD9_FORM = r"^\d{3}(\.?\d{1,2})?$"
# ICD-9's supplementary V and E codes (V08, V42.01, E850.1). The shorter ones are also valid
# ICD-10 forms (V08, V420, E850: external causes, E80-E89): ambiguous without the vocabulary.
ICD9_SUPPLEMENTARY_FORM = r"^(V\d{2}(\.?\d{1,2})?|E\d{3}(\.?\d)?)$"

TABLES: dict[str, TableSpec] = {
    "person": TableSpec(
        required=("person_id", "year_of_birth"),
        optional=(
            "month_of_birth",
            "day_of_birth",
            "birth_datetime",
            "gender_concept_id",
            "gender_source_value",
        ),
        mandatory=True,
    ),
    "measurement": TableSpec(
        required=("person_id", "measurement_concept_id", "measurement_date"),
        optional=(
            "measurement_datetime",
            "measurement_source_value",
            "measurement_source_concept_id",
            "operator_concept_id",
            "value_as_number",
            "value_source_value",
            "unit_concept_id",
            "unit_source_value",
            "range_low",
            "range_high",
            "measurement_event_id",
            "meas_event_field_concept_id",
        ),
        mandatory=True,
    ),
    "drug_exposure": TableSpec(
        required=("person_id", "drug_concept_id", "drug_exposure_start_date"),
        optional=(
            "drug_exposure_start_datetime",
            "drug_exposure_end_date",
            "drug_exposure_end_datetime",
            "verbatim_end_date",
            "drug_source_value",
            "drug_source_concept_id",
            "route_concept_id",
            "route_source_value",
        ),
        mandatory=False,
    ),
    "condition_occurrence": TableSpec(
        required=("person_id", "condition_concept_id", "condition_start_date"),
        optional=(
            "condition_start_datetime",
            "condition_source_value",
            "condition_source_concept_id",
        ),
        mandatory=False,
    ),
}
REQUIRED_ANY = {
    "person": (("gender_concept_id", "gender_source_value"),),
    "measurement": (
        ("value_as_number", "value_source_value"),
        ("unit_concept_id", "unit_source_value"),
    ),
}


def read_omop(directory: Path) -> Extract:
    if not directory.is_dir():
        raise not_a_folder(directory)
    data = load_concept_data()
    mandatory = [name for name, spec in TABLES.items() if spec.mandatory]
    paths = find_tables(directory, tuple(TABLES), mandatory, LAYOUT)
    concept_paths = vocabulary_files(directory)
    source = {
        name: read_table(name, paths[name], spec, REQUIRED_ANY.get(name, ()))
        for name, spec in TABLES.items()
        if paths[name]
    }
    concepts = read_concepts(concept_paths) if concept_paths else None
    tables = {
        "labs": labs(source["measurement"], concepts, data),
        "patients": patients(source["person"], data),
        "medications": (
            medications(source["drug_exposure"], concepts) if "drug_exposure" in source else None
        ),
        "diagnoses": (
            diagnoses(source["condition_occurrence"], concepts, data)
            if "condition_occurrence" in source
            else None
        ),
    }
    read = {name: p for name, p in paths.items() if p} | (
        {"concept": concept_paths} if concept_paths else {}
    )
    return Extract(tables=tables, hashing=input_files(read), directory=directory)


def integer_text(column: str) -> pl.Expr:
    return text(column).str.replace(r"\.0+$", "")


# --- the four tables -------------------------------------------------------------------------


def labs(frame: pl.LazyFrame, concepts: pl.LazyFrame | None, data: ConceptData) -> pl.LazyFrame:
    for column, prefix in (
        ("measurement_concept_id", "_m"),
        ("measurement_source_concept_id", "_ms"),
        ("unit_concept_id", "_u"),
        ("meas_event_field_concept_id", "_f"),
    ):
        frame = with_concept(frame, concepts, column, prefix)
    source = text("measurement_source_value")
    concept_id = concept_key(pl.col("measurement_concept_id"))
    # The first LOINC code found wins; otherwise a local code for the site mapping file.
    choices = [
        (pl.col("_m_vocabulary") == LOINC_VOCABULARY, pl.lit(LOINC_VOCABULARY), pl.col("_m_code")),
        (
            pl.col("_ms_vocabulary") == LOINC_VOCABULARY,
            pl.lit(LOINC_VOCABULARY),
            pl.col("_ms_code"),
        ),
        (is_loinc(source), pl.lit(LOINC_VOCABULARY), source),
        (source.is_not_null(), pl.lit(SOURCE_TEST_SYSTEM), source),
        (concept_id.is_not_null(), pl.lit(CONCEPT_TEST_SYSTEM), concept_id),
    ]
    is_specimen = pl.any_horizontal(
        pl.col(c).str.to_lowercase() == SPECIMEN_FIELD for c in ("_f_name", "_f_code")
    ).fill_null(False)
    return to_canonical(
        frame,
        "labs",
        {
            "patient_id": pl.col("person_id"),
            "collected_date": pl.coalesce(text("measurement_date"), text("measurement_datetime")),
            "test_code": first_of([(c, code) for c, _, code in choices]),
            "test_system": first_of([(c, system) for c, system, _ in choices]),
            "test_name": pl.coalesce("_m_name", "_ms_name", source),
            "value": value(data),
            "unit": pl.coalesce(
                text("unit_source_value"),
                pl.when(pl.col("_u_vocabulary") == "UCUM").then(pl.col("_u_code")),
                pl.col("_u_code"),
            ),
            "ref_low": pl.col("range_low"),
            "ref_high": pl.col("range_high"),
            "specimen_id": pl.when(is_specimen).then(text("measurement_event_id")),
        },
    )


def value(data: ConceptData) -> pl.Expr:
    """`value_as_number` with its operator (`<5`); else a censored source text; else either."""
    number = text("value_as_number")
    source = text("value_source_value")
    operator = lookup(concept_key(pl.col("operator_concept_id")), data.operators)
    censored = operator.is_in(["<", "<=", ">", ">="]) & number.is_not_null()
    return (
        pl.when(censored)
        .then(pl.concat_str(operator, number))
        .when(source.str.contains(r"^[<>]"))
        .then(source)
        .otherwise(pl.coalesce(number, source))
    )


def patients(frame: pl.LazyFrame, data: ConceptData) -> pl.LazyFrame:
    ymd = pl.concat_str(
        integer_text("year_of_birth"),
        pl.lit("-"),
        integer_text("month_of_birth").str.zfill(2),
        pl.lit("-"),
        integer_text("day_of_birth").str.zfill(2),
    )
    gender = lookup(concept_key(pl.col("gender_concept_id")), data.genders)
    return to_canonical(
        frame,
        "patients",
        {
            "patient_id": pl.col("person_id"),
            # A full date only when one is given; otherwise the year (taken as 1 July).
            "birth_date": pl.coalesce(parse_date(text("birth_datetime")), parse_date(ymd)).cast(
                pl.String
            ),
            "birth_year": integer_text("year_of_birth"),
            "sex": pl.coalesce(gender, text("gender_source_value")),
        },
    )


def medications(frame: pl.LazyFrame, concepts: pl.LazyFrame | None) -> pl.LazyFrame:
    for column, prefix in (
        ("drug_concept_id", "_d"),
        ("drug_source_concept_id", "_ds"),
        ("route_concept_id", "_r"),
    ):
        frame = with_concept(frame, concepts, column, prefix)
    source = text("drug_source_value")
    atc_source = source.str.to_uppercase().str.contains(ATC_FORM)
    preferred = list(PREFERRED_DRUG_VOCABULARIES)
    choices = [
        (pl.col("_d_vocabulary").is_in(preferred), pl.col("_d_vocabulary"), pl.col("_d_code")),
        (pl.col("_ds_vocabulary").is_in(preferred), pl.col("_ds_vocabulary"), pl.col("_ds_code")),
        (atc_source, pl.lit("ATC"), source.str.to_uppercase()),
        (pl.col("_d_code").is_not_null(), pl.col("_d_vocabulary"), pl.col("_d_code")),
        (pl.col("_ds_code").is_not_null(), pl.col("_ds_vocabulary"), pl.col("_ds_code")),
    ]
    return to_canonical(
        frame,
        "medications",
        {
            "patient_id": pl.col("person_id"),
            "drug_name": pl.coalesce("_d_name", "_ds_name", source),
            "drug_code": first_of([(c, code) for c, _, code in choices]),
            "drug_system": first_of([(c, system) for c, system, _ in choices]),
            "start_date": pl.coalesce(
                text("drug_exposure_start_date"), text("drug_exposure_start_datetime")
            ),
            "end_date": pl.coalesce(
                text("drug_exposure_end_date"),
                text("drug_exposure_end_datetime"),
                text("verbatim_end_date"),
            ),
            "route": pl.coalesce("_r_name", text("route_source_value")),
        },
    )


def diagnoses(
    frame: pl.LazyFrame, concepts: pl.LazyFrame | None, data: ConceptData
) -> pl.LazyFrame:
    for column, prefix in (
        ("condition_source_concept_id", "_cs"),
        ("condition_concept_id", "_c"),
    ):
        frame = with_concept(frame, concepts, column, prefix)
    source = text("condition_source_value")
    shape = source.str.to_uppercase()

    def icd(prefix: str) -> pl.Expr:
        return lookup(pl.col(f"{prefix}_vocabulary"), data.icd_vocabularies)

    choices = [
        (icd("_cs").is_not_null(), icd("_cs"), pl.col("_cs_code")),
        (icd("_c").is_not_null(), icd("_c"), pl.col("_c_code")),
        # Both an ICD-9 V/E code and an ICD-10 code by form (V08: HIV status in ICD-9, a
        # pedestrian injured in ICD-10): not guessed, so quarantined as unknown_code_system.
        (
            shape.str.contains(ICD9_SUPPLEMENTARY_FORM) & shape.str.contains(ICD10_FORM),
            pl.coalesce("_cs_vocabulary", "_c_vocabulary"),
            source,
        ),
        (shape.str.contains(ICD10_FORM), pl.lit("ICD10"), source),
        (
            shape.str.contains(ICD9_FORM) | shape.str.contains(ICD9_SUPPLEMENTARY_FORM),
            pl.lit("ICD9"),
            source,
        ),
        # Not an ICD code: kept with its vocabulary (or none), so it is quarantined, not lost.
        (
            pl.lit(True),
            pl.coalesce("_cs_vocabulary", "_c_vocabulary"),
            pl.coalesce(source, "_cs_code", "_c_code"),
        ),
    ]
    return to_canonical(
        frame,
        "diagnoses",
        {
            "patient_id": pl.col("person_id"),
            "code": first_of([(c, code) for c, _, code in choices]),
            "code_system": first_of([(c, system) for c, system, _ in choices]),
            "diagnosis_date": pl.coalesce(
                text("condition_start_date"), text("condition_start_datetime")
            ),
        },
    )


def first_of(choices: Sequence[tuple[pl.Expr, pl.Expr]]) -> pl.Expr:
    """The value of the first choice whose condition holds (null when none does)."""
    condition, result = choices[0]
    expr: Any = pl.when(condition.fill_null(False)).then(result)
    for condition, result in choices[1:]:
        expr = expr.when(condition.fill_null(False)).then(result)
    return expr.otherwise(pl.lit(None, pl.String))
