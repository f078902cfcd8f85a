"""Express a canonical extract in the MIMIC-IV and OMOP CDM layouts, as their exports would.

The format-equivalence tests screen the same planted patients in three layouts. These
converters write what each layout can say:

- OMOP can carry everything a canonical extract holds: birth dates, censored values (operator
  concepts), specimens (measurement_event_id pointing at specimen.specimen_id), codes through a
  small tab-separated `concept.csv` as Athena writes it (IgM as a LOINC concept, ICD-9 codes,
  ATC and RxNorm drug codes), the rest as source values;
- MIMIC-IV cannot: a patient has an age in an anchor year (so a birth year), and prescriptions
  have names and NDCs but no ATC or RxNorm codes. `mimic_expressible` writes the canonical
  extract reduced to what MIMIC-IV can hold, the reference for the MIMIC-IV comparison.

Synthetic concept ids are taken from 2,000,000,000 up, the range OMOP leaves to local concepts.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl

from pipeline.read.mapping import load_mapping
from pipeline.read.sources import read_extract
from pipeline.read.sources.mimic_iv import DEFAULT_MAPPING, TEST_SYSTEM
from pipeline.read.sources.omop_vocabulary import load_concept_data
from pipeline.rules import Rules

LOCAL_CONCEPTS_FROM = 2_000_000_000
OTHER_ITEMIDS_FROM = 900_001
SPECIMEN_FIELD_CONCEPT = LOCAL_CONCEPTS_FROM
ANCHOR_AGE = 40
_VALUE = r"^\s*(<=|>=|<|>)?\s*(-?(?:\d+(?:\.\d*)?|\.\d+))\s*$"


def canonical_tables(folder: Path) -> dict[str, pl.DataFrame]:
    """The canonical tables of an extract folder, as strings, in file order."""
    extract = read_extract(folder)
    return {
        name: frame.drop("_file", "_row").collect()
        for name, frame in extract.tables.items()
        if frame is not None
    }


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        with gzip.open(path, "wb") as fh:
            frame.write_csv(fh)
    else:
        frame.write_csv(path)


def _is_system(column: str, spellings: tuple[str, ...], default: bool = False) -> pl.Expr:
    system = pl.col(column).str.strip_chars().str.to_uppercase()
    return system.is_in(list(spellings)).fill_null(default)


# --- MIMIC-IV --------------------------------------------------------------------------------


def mimic_expressible(canonical: Path, out: Path) -> Path:
    """The canonical extract with only what MIMIC-IV can carry: birth years, no drug codes
    but NDCs. Screening it must give what screening its MIMIC-IV form gives."""
    tables = canonical_tables(canonical)
    birth_year = pl.coalesce(pl.col("birth_date").str.slice(0, 4), pl.col("birth_year"))
    tables["patients"] = tables["patients"].with_columns(
        birth_date=pl.lit(None, pl.String), birth_year=birth_year
    )
    ndc = _is_system("drug_system", ("NDC",))
    tables["medications"] = tables["medications"].with_columns(
        drug_code=pl.when(ndc).then("drug_code"), drug_system=pl.when(ndc).then("drug_system")
    )
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        write_csv(frame, out / f"{name}.csv")
    return out


def to_mimic_iv(canonical: Path, out: Path, rules: Rules) -> Path:
    """Write a MIMIC-IV root (`out/hosp/*.csv[.gz]`) holding the canonical extract."""
    tables = canonical_tables(canonical)
    hosp = out / "hosp"
    labevents, d_labitems = _mimic_labs(tables["labs"], rules)
    write_csv(labevents, hosp / "labevents.csv.gz")
    write_csv(d_labitems, hosp / "d_labitems.csv.gz")
    write_csv(_mimic_patients(tables["patients"]), hosp / "patients.csv.gz")
    if "medications" in tables:
        write_csv(_mimic_prescriptions(tables["medications"]), hosp / "prescriptions.csv")
    if "diagnoses" in tables:
        diagnoses, admissions = _mimic_diagnoses(tables["diagnoses"], rules)
        write_csv(diagnoses, hosp / "diagnoses_icd.csv")
        write_csv(admissions, hosp / "admissions.csv")
    return out


def _mimic_labs(labs: pl.DataFrame, rules: Rules) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Analytes get the itemids of the bundled mapping, every other test a made-up itemid."""
    mapping = load_mapping(DEFAULT_MAPPING)
    assert mapping is not None
    itemid_of = dict(
        mapping.codes.filter(pl.col("_system") == TEST_SYSTEM).select("_loinc", "_code").iter_rows()
    )
    is_loinc = _is_system("test_system", rules.code_systems["loinc"], default=True)
    is_loinc = is_loinc | pl.col("test_system").str.strip_chars().eq("").fill_null(False)
    labs = labs.with_columns(
        _key=pl.concat_str(
            pl.when(is_loinc)
            .then(pl.lit("LOINC"))
            .otherwise(pl.col("test_system").str.to_uppercase()),
            pl.lit("|"),
            pl.col("test_code").str.strip_chars(),
        ),
        _analyte_item=pl.when(is_loinc).then(
            pl.col("test_code").str.strip_chars().replace_strict(itemid_of, default=None)
        ),
    )
    others = (
        labs.filter(pl.col("_analyte_item").is_null()).select("_key").unique(maintain_order=True)
    )
    others = others.with_row_index("_n").with_columns(
        _other_item=(pl.col("_n") + OTHER_ITEMIDS_FROM).cast(pl.String)
    )
    labs = labs.join(others.drop("_n"), on="_key", how="left", maintain_order="left").with_columns(
        itemid=pl.coalesce("_analyte_item", "_other_item")
    )
    match = pl.col("value").str.extract_groups(_VALUE)
    labevents = labs.with_row_index("labevent_id", offset=1).select(
        pl.col("labevent_id").cast(pl.String),
        pl.col("patient_id").alias("subject_id"),
        pl.lit(None, pl.String).alias("hadm_id"),
        "specimen_id",
        "itemid",
        pl.col("collected_date").alias("charttime"),
        "value",
        # MIMIC's valuenum: the number of a plain numeric result.
        pl.when(match.struct.field("1").is_null()).then(match.struct.field("2")).alias("valuenum"),
        pl.col("unit").alias("valueuom"),
        pl.col("ref_low").alias("ref_range_lower"),
        pl.col("ref_high").alias("ref_range_upper"),
    )
    d_labitems = (
        labs.group_by("itemid", maintain_order=True)
        .agg(pl.coalesce("test_name", "test_code").first().alias("label"))
        .with_columns(fluid=pl.lit("Blood"), category=pl.lit("Chemistry"))
    )
    return labevents, d_labitems


def _mimic_patients(patients: pl.DataFrame) -> pl.DataFrame:
    year = pl.coalesce(pl.col("birth_date").str.slice(0, 4), pl.col("birth_year")).cast(pl.Int32)
    return patients.select(
        pl.col("patient_id").alias("subject_id"),
        pl.col("sex").alias("gender"),
        pl.lit(ANCHOR_AGE).cast(pl.String).alias("anchor_age"),
        (year + ANCHOR_AGE).cast(pl.String).alias("anchor_year"),
        pl.lit("2008 - 2010").alias("anchor_year_group"),
        pl.lit(None, pl.String).alias("dod"),
    )


def _mimic_prescriptions(meds: pl.DataFrame) -> pl.DataFrame:
    ndc = _is_system("drug_system", ("NDC",))
    return meds.with_row_index("pharmacy_id", offset=1).select(
        pl.col("patient_id").alias("subject_id"),
        pl.lit(None, pl.String).alias("hadm_id"),
        pl.col("pharmacy_id").cast(pl.String),
        pl.col("start_date").alias("starttime"),
        pl.col("end_date").alias("stoptime"),
        pl.lit("MAIN").alias("drug_type"),
        pl.col("drug_name").alias("drug"),
        pl.when(ndc).then("drug_code").otherwise(pl.lit("0")).alias("ndc"),
        "route",
    )


def _mimic_diagnoses(diagnoses: pl.DataFrame, rules: Rules) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One admission per diagnosis row, admitted on the diagnosis date."""
    version = (
        pl.when(_is_system("code_system", rules.code_systems["icd9"]))
        .then(pl.lit("9"))
        .when(_is_system("code_system", rules.code_systems["icd10"]))
        .then(pl.lit("10"))
    )
    rows = diagnoses.with_row_index("_n").with_columns(
        hadm_id=(pl.col("_n") + 20_000_001).cast(pl.String)
    )
    diagnoses_icd = rows.select(
        pl.col("patient_id").alias("subject_id"),
        "hadm_id",
        pl.lit("1").alias("seq_num"),
        pl.col("code").alias("icd_code"),
        version.alias("icd_version"),
    )
    admissions = rows.select(
        pl.col("patient_id").alias("subject_id"),
        "hadm_id",
        pl.col("diagnosis_date").alias("admittime"),
        pl.lit(None, pl.String).alias("dischtime"),
    )
    return diagnoses_icd, admissions


# --- OMOP CDM --------------------------------------------------------------------------------


class _Concepts:
    """The synthetic `concept.csv`: one local concept per (vocabulary, code, name)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, str | None], int] = {}
        self.add("CDM", "specimen.specimen_id", "specimen.specimen_id")

    def add(self, vocabulary: str, code: str, name: str | None) -> int:
        key = (vocabulary, code, name)
        if key not in self.rows:
            self.rows[key] = LOCAL_CONCEPTS_FROM + len(self.rows)
        return self.rows[key]

    def ids(
        self, frame: pl.DataFrame, vocabulary: pl.Expr, code: str, name: str | None
    ) -> pl.Series:
        """A concept id for each row with a vocabulary, 0 ('no concept') for the others."""
        rows = frame.select(
            vocabulary.alias("v"),
            pl.col(code).alias("c"),
            (pl.col(name) if name else pl.lit(None)).alias("n"),
        ).iter_rows()
        return pl.Series(
            [self.add(v, c, n) if v is not None and c is not None else 0 for v, c, n in rows],
            dtype=pl.Int64,
        ).cast(pl.String)

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            [
                (str(cid), name or "", vocabulary, code)
                for (vocabulary, code, name), cid in self.rows.items()
            ],
            schema=["concept_id", "concept_name", "vocabulary_id", "concept_code"],
            orient="row",
        ).with_columns(
            domain_id=pl.lit("Synthetic"),
            concept_class_id=pl.lit("Synthetic"),
            standard_concept=pl.lit(""),
            valid_start_date=pl.lit("19700101"),
            valid_end_date=pl.lit("20991231"),
            invalid_reason=pl.lit(""),
        )


def to_omop(canonical: Path, out: Path, rules: Rules) -> Path:
    """Write OMOP CDM tables (and a tab-separated concept.csv) holding the canonical extract."""
    tables = canonical_tables(canonical)
    data = load_concept_data()
    concepts = _Concepts()
    out.mkdir(parents=True, exist_ok=True)
    write_csv(_omop_person(tables["patients"], data), out / "person.csv")
    write_csv(_omop_measurement(tables["labs"], rules, data, concepts), out / "measurement.csv.gz")
    if "medications" in tables:
        write_csv(_omop_drugs(tables["medications"], rules, concepts), out / "drug_exposure.csv")
    if "diagnoses" in tables:
        write_csv(
            _omop_conditions(tables["diagnoses"], rules, concepts), out / "condition_occurrence.csv"
        )
    concepts.frame().write_csv(out / "concept.csv", separator="\t", quote_style="never")
    return out


def _omop_person(patients: pl.DataFrame, data) -> pl.DataFrame:
    gender = {sex: cid for cid, sex in data.genders.items()}
    birth = pl.col("birth_date").str.slice(0, 10)
    rows = patients.with_row_index("_n")
    # Every other patient with a birth date gives it as birth_datetime, the others as y/m/d.
    as_datetime = (pl.col("_n") % 2 == 0) & birth.is_not_null()
    return rows.select(
        pl.col("patient_id").alias("person_id"),
        pl.col("sex").replace_strict(gender, default="0").alias("gender_concept_id"),
        pl.coalesce(birth.str.slice(0, 4), pl.col("birth_year")).alias("year_of_birth"),
        pl.when(~as_datetime)
        .then(birth.str.slice(5, 2).str.strip_chars_start("0"))
        .alias("month_of_birth"),
        pl.when(~as_datetime)
        .then(birth.str.slice(8, 2).str.strip_chars_start("0"))
        .alias("day_of_birth"),
        pl.when(as_datetime)
        .then(pl.concat_str(birth, pl.lit(" 00:00:00")))
        .alias("birth_datetime"),
        pl.lit("0").alias("race_concept_id"),
        pl.lit("0").alias("ethnicity_concept_id"),
        pl.col("sex").alias("gender_source_value"),
    )


def _omop_measurement(labs: pl.DataFrame, rules: Rules, data, concepts: _Concepts) -> pl.DataFrame:
    operator_id = {op: cid for cid, op in data.operators.items()}
    is_loinc = _is_system("test_system", rules.code_systems["loinc"], default=True) | pl.col(
        "test_system"
    ).str.strip_chars().eq("").fill_null(False)
    code = pl.col("test_code").str.strip_chars()
    # IgM is read through the vocabulary (a LOINC concept), every other test by its source value.
    via_concept = is_loinc & (code == rules.loinc["igm"])
    labs = labs.with_columns(
        _vocabulary=pl.when(via_concept).then(pl.lit("LOINC")),
        _code=code,
    )
    concept_id = concepts.ids(labs, pl.col("_vocabulary"), "_code", "test_name")
    match = pl.col("value").str.extract_groups(_VALUE)
    operator = match.struct.field("1")
    date = pl.col("collected_date").str.strip_chars()
    return (
        labs.with_columns(_concept=concept_id)
        .with_row_index("measurement_id", offset=1)
        .select(
            pl.col("measurement_id").cast(pl.String),
            pl.col("patient_id").alias("person_id"),
            pl.col("_concept").alias("measurement_concept_id"),
            date.str.slice(0, 10).alias("measurement_date"),
            pl.when(date.str.len_chars() > 10).then(date).alias("measurement_datetime"),
            pl.lit("32856").alias("measurement_type_concept_id"),
            operator.replace_strict(operator_id, default=None).alias("operator_concept_id"),
            match.struct.field("2").alias("value_as_number"),
            pl.lit("0").alias("unit_concept_id"),
            pl.col("ref_low").alias("range_low"),
            pl.col("ref_high").alias("range_high"),
            pl.when(~via_concept).then("_code").alias("measurement_source_value"),
            pl.col("unit").alias("unit_source_value"),
            pl.col("value").alias("value_source_value"),
            pl.col("specimen_id").alias("measurement_event_id"),
            pl.when(pl.col("specimen_id").is_not_null())
            .then(pl.lit(str(SPECIMEN_FIELD_CONCEPT)))
            .alias("meas_event_field_concept_id"),
        )
    )


def _omop_drugs(meds: pl.DataFrame, rules: Rules, concepts: _Concepts) -> pl.DataFrame:
    """RxNorm codes as the drug's concept, other codes (ATC, NDC) as its source concept."""
    system = pl.col("drug_system").str.strip_chars().str.to_uppercase()
    rxnorm = system.is_in(list(rules.code_systems["rxnorm"])).fill_null(False)
    drug_concept = concepts.ids(
        meds, pl.when(rxnorm).then(pl.lit("RxNorm")), "drug_code", "drug_name"
    )
    source_concept = concepts.ids(meds, pl.when(~rxnorm).then(system), "drug_code", "drug_name")
    return meds.with_row_index("drug_exposure_id", offset=1).select(
        pl.col("drug_exposure_id").cast(pl.String),
        pl.col("patient_id").alias("person_id"),
        drug_concept.alias("drug_concept_id"),
        pl.col("start_date").alias("drug_exposure_start_date"),
        pl.col("end_date").alias("drug_exposure_end_date"),
        pl.lit("32838").alias("drug_type_concept_id"),
        pl.lit("0").alias("route_concept_id"),
        pl.col("drug_name").alias("drug_source_value"),
        source_concept.alias("drug_source_concept_id"),
        pl.col("route").alias("route_source_value"),
    )


def _omop_conditions(diagnoses: pl.DataFrame, rules: Rules, concepts: _Concepts) -> pl.DataFrame:
    """ICD-9 codes through the vocabulary (their form alone would not say ICD-9 for V codes),
    ICD-10 codes as source values."""
    icd9 = _is_system("code_system", rules.code_systems["icd9"])
    source_concept = concepts.ids(diagnoses, pl.when(icd9).then(pl.lit("ICD9CM")), "code", None)
    return diagnoses.with_row_index("condition_occurrence_id", offset=1).select(
        pl.col("condition_occurrence_id").cast(pl.String),
        pl.col("patient_id").alias("person_id"),
        pl.lit("0").alias("condition_concept_id"),
        pl.col("diagnosis_date").alias("condition_start_date"),
        pl.lit("32817").alias("condition_type_concept_id"),
        pl.col("code").alias("condition_source_value"),
        source_concept.alias("condition_source_concept_id"),
    )
