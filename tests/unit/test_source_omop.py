"""The OMOP CDM adapter: person, measurement, drug_exposure, condition_occurrence and concept.

tests/fixtures/omop/ is a small synthetic OMOP extract (nine made-up persons, local concept ids
from 2,000,000,000 up, the range OMOP leaves to sites) with an Athena-style tab-separated
concept.csv. Each person exercises one way of reading OMOP; the expected statuses follow from
SPEC §3 and are explained per person below.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from pipeline.errors import ExtractRefused
from pipeline.read.sources import read_extract
from pipeline.read.sources.omop import CONCEPT_TEST_SYSTEM, SOURCE_TEST_SYSTEM
from pipeline.run.engine import screen_extract

FIXTURE = Path(__file__).parents[1] / "fixtures" / "omop"

EXPECTED = {
    # IgM concept 2000000001 -> LOINC 2472-9 (concept.csv) 25 mg/dL < 37, IgG/IgA by LOINC source
    # values in the same specimen (measurement_event_id 9101 -> specimen.specimen_id); operator
    # concept 4171756 with 5 is '<5' 152 days later: complete, persistent. Hydrocortisone by
    # route concept 'Topical' is local, so no drug cause.
    "1": ("persistent", "complete", []),
    # 0.2 g/L (unit only as concept 2000000200 = UCUM g/L) is 20 mg/dL; drug concept 2000000400
    # = RxNorm 2626 'clozapine' three months before the index.
    "2": ("excluded_drug", "partial", ["drug:clozapine"]),
    # Birth year only; lab range 40-230 makes IgM 30 low; source concept 2000000500 = ICD10CM
    # C91.10 two years before: haematological malignancy.
    "3": ("excluded_malignancy", "partial", ["malignancy:C91.10"]),
    # Source value V08 with source concept 2000000501 = ICD9CM V08 (asymptomatic HIV): the
    # vocabulary says ICD-9, which the code's form alone would not.
    "4": ("excluded_other", "partial", ["other:V08"]),
    # IgM 120 from value_source_value alone (no value_as_number).
    "5": ("igm_not_low", None, []),
    # Same specimen 9601 holds IgG 300 (next day): it is judged, not the same-day IgG 1000 of
    # specimen 9602, so the panel is not isolated.
    "6": ("not_isolated", "partial", []),
    # Methotrexate (RxNorm clinical drug by concept name) 2018: outside 365 d; C50.9 (ICD-10 by
    # its form) 2018: outside index-365 d; one low IgM only.
    "7": ("single_low", "partial", []),
    # drug_source_value H02AB07 (an ATC code by its form; concept 0) 30 days before the index.
    "8": ("excluded_drug", "partial", ["drug:systemic_corticosteroid"]),
    # Born 2018-05-05, IgM on 2020-01-01: age 1, under the minimum age of 4.
    "9": ("under_min_age", None, []),
}


def statuses(folder: Path, **kwargs) -> dict[str, tuple]:
    screening = screen_extract(folder, source_format="omop", **kwargs).screening
    return {
        r["patient_id"]: (r["status"], r["severity"], r["exclusion_reasons"])
        for r in screening.iter_rows(named=True)
    }


def canonical(folder: Path, table: str) -> pl.DataFrame:
    frame = read_extract(folder, "omop").tables[table]
    assert frame is not None
    return frame.collect()


@pytest.fixture
def extract(tmp_path: Path) -> Path:
    folder = tmp_path / "omop"
    shutil.copytree(FIXTURE, folder)
    return folder


def test_every_person_of_the_fixture_gets_the_status_the_spec_gives():
    result = screen_extract(FIXTURE, source_format="omop")
    got = {
        r["patient_id"]: (r["status"], r["severity"], r["exclusion_reasons"])
        for r in result.screening.iter_rows(named=True)
    }
    assert got == EXPECTED
    assert result.quarantine.select("table_name", "source_row", "reason").rows() == [
        ("diagnoses", 4, "unknown_code_system"),  # a SNOMED-only condition: not an ICD code
        ("labs", 28, "unknown_patient"),  # person 99 is not in person.csv
        ("labs", 29, "unparseable_value"),  # value_as_concept 'Positive' only
    ]
    ignored = dict(result.ignored_reasons.filter(table_name="labs").select("reason", "rows").rows())
    assert ignored == {"not_an_analyte": 1, "unmapped_local_code": 1}
    assert {i.table for i in read_extract(FIXTURE, "omop").inputs} == {
        "person",
        "measurement",
        "drug_exposure",
        "condition_occurrence",
        "concept",
    }


def test_measurements_are_one_canonical_row_each_in_file_order():
    labs = canonical(FIXTURE, "labs")
    assert labs.height == 29
    assert labs["_row"].to_list() == list(range(1, 30))
    assert labs.row(0, named=True)["test_name"].startswith("Immunoglobulin M")
    assert labs.select("test_system", "test_code").row(26) == (SOURCE_TEST_SYSTEM, "CMV-IGM")


def test_birth_dates_come_from_birth_datetime_or_year_month_day_else_the_year():
    patients = canonical(FIXTURE, "patients")
    rows = {
        r[0]: r[1:] for r in patients.select("patient_id", "birth_date", "birth_year", "sex").rows()
    }
    assert rows["1"] == ("1970-03-15", "1970", "F")  # year/month/day
    assert rows["2"] == ("1965-06-01", "1965", "M")  # birth_datetime
    assert rows["3"] == (None, "1980", "female")  # year only; gender concept 0: source value


@pytest.mark.parametrize(
    ("operator", "number", "source", "value"),
    [
        ("4171756", "5", "5", "<5"),
        ("4171754", "5", "", "<=5"),
        ("4172704", "300", "", ">300"),
        ("4171755", "300", "", ">=300"),
        ("4172703", "25", "", "25"),
        ("", "5", "< 5", "< 5"),  # no operator concept: a censored source text wins
        ("", "25", "25 mg/dL", "25"),  # a plain number wins over other text
        ("", "", "QNS", "QNS"),  # nothing else: the text, quarantined downstream
        ("4171756.0", "5", "", "<5"),  # an id written as a float still matches
    ],
)
def test_values_keep_their_censoring(extract, operator, number, source, value):
    measurement = pl.read_csv(extract / "measurement.csv", infer_schema=False).head(1)
    measurement.with_columns(
        operator_concept_id=pl.lit(operator),
        value_as_number=pl.lit(number),
        value_source_value=pl.lit(source),
    ).write_csv(extract / "measurement.csv")
    assert canonical(extract, "labs")["value"].to_list() == [value]


def test_a_source_value_is_loinc_only_with_the_right_check_digit(extract):
    measurement = pl.read_csv(extract / "measurement.csv", infer_schema=False).head(2)
    measurement.with_columns(
        measurement_concept_id=pl.lit("0"),
        measurement_source_value=pl.Series(["2472-0", "2472-9"]),
    ).write_csv(extract / "measurement.csv")
    assert canonical(extract, "labs").select("test_system", "test_code").rows() == [
        (SOURCE_TEST_SYSTEM, "2472-0"),
        ("LOINC", "2472-9"),
    ]


def test_without_concept_csv_concepts_are_unknown_and_source_values_still_read(extract):
    (extract / "concept.csv").unlink()
    labs = canonical(extract, "labs")
    assert labs.select("test_system", "test_code").row(0) == (CONCEPT_TEST_SYSTEM, "2000000001")
    assert labs.select("test_system", "test_code").row(8) == ("LOINC", "2472-9")
    diagnoses = canonical(extract, "diagnoses")
    # V08 by its form alone is ICD-9 (HIV status) or ICD-10 (an injury): not guessed.
    assert diagnoses.select("code", "code_system").rows() == [
        (None, None),
        ("V08", None),
        ("C50.9", "ICD10"),
        (None, None),
    ]
    got = statuses(extract)
    assert got["5"] == EXPECTED["5"] and got["7"] == EXPECTED["7"]
    assert "1" not in got  # its IgM was only known by concept: no IgM result left


def test_a_site_mapping_maps_an_omop_source_code(extract, tmp_path):
    measurement = pl.read_csv(extract / "measurement.csv", infer_schema=False)
    measurement.with_columns(
        measurement_source_value=pl.when(pl.col("measurement_id") == "12")
        .then(pl.lit("IGM-LOCAL"))
        .otherwise("measurement_source_value")
    ).write_csv(extract / "measurement.csv")
    assert "4" not in statuses(extract)
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("test_system,test_code,loinc\nOMOP,IGM-LOCAL,2472-9\n")
    assert statuses(extract, mapping=mapping)["4"] == EXPECTED["4"]


def test_comma_separated_and_parquet_vocabularies_read_like_athena_tab_files(extract):
    concept = pl.read_csv(
        extract / "concept.csv", separator="\t", quote_char=None, infer_schema=False
    )
    (extract / "concept.csv").unlink()
    concept.write_csv(extract / "concept.csv")
    assert statuses(extract) == EXPECTED
    (extract / "concept.csv").unlink()
    concept.with_columns(pl.col("concept_id").cast(pl.Int64)).write_parquet(
        extract / "concept.parquet"
    )
    assert statuses(extract) == EXPECTED


def test_other_vocabulary_tables_are_not_taken_for_concept(extract):
    (extract / "concept_relationship.csv").write_text("concept_id_1\tconcept_id_2\n1\t2\n")
    assert [i.table for i in read_extract(extract, "omop").inputs].count("concept") == 1


def test_split_tables_read_as_one(extract):
    measurement = pl.read_csv(extract / "measurement.csv", infer_schema=False)
    (extract / "measurement.csv").unlink()
    measurement.head(10).write_csv(extract / "measurement_part-1.csv")
    measurement.slice(10).write_csv(extract / "measurement_part-2.csv")
    assert statuses(extract) == EXPECTED


def test_parquet_tables_read_as_csv_does(extract):
    measurement = pl.read_csv(extract / "measurement.csv", infer_schema=False)
    (extract / "measurement.csv").unlink()
    measurement.with_columns(pl.col("value_as_number").cast(pl.Float64)).write_parquet(
        extract / "measurement.parquet"
    )
    assert statuses(extract) == EXPECTED


@pytest.mark.parametrize(
    ("code", "system"),
    [
        ("C9110", "ICD10"),
        ("D47.2", "ICD10"),
        ("204.10", "ICD9"),
        ("20410", "ICD9"),
        ("042", "ICD9"),
        ("44054006", None),  # a SNOMED code: no ICD form, no vocabulary: quarantined
        # ICD-9 V/E codes that are ICD-10 forms too (V08: HIV status, or a pedestrian injured):
        # not guessed without the vocabulary, quarantined as unknown_code_system.
        ("V08", None),
        ("V42.0", None),
        ("V420", None),
        ("E850", None),
        ("V42.01", None),
        # Only ICD-9 writes a decimal after E + 3 digits.
        ("E850.1", "ICD9"),
        ("E11.9", "ICD10"),  # E + 2 digits + decimal: ICD-10 only
    ],
)
def test_a_condition_source_value_is_read_as_icd_by_its_form(extract, code, system):
    conditions = pl.read_csv(extract / "condition_occurrence.csv", infer_schema=False).head(1)
    conditions.with_columns(
        condition_source_value=pl.lit(code), condition_source_concept_id=pl.lit("0")
    ).write_csv(extract / "condition_occurrence.csv")
    assert canonical(extract, "diagnoses").select("code", "code_system").rows() == [(code, system)]


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("person.csv", "year_of_birth"),
        ("measurement.csv", "measurement_date"),
        ("drug_exposure.csv", "drug_exposure_start_date"),
        ("condition_occurrence.csv", "condition_concept_id"),
        ("concept.csv", "concept_code"),
    ],
)
def test_a_missing_column_is_refused_naming_file_and_column(extract, table, column):
    separator = "\t" if table == "concept.csv" else ","
    path = extract / table
    header, _, rest = path.read_text().partition("\n")
    path.write_text(header.replace(column, "something_else") + "\n" + rest)
    with pytest.raises(ExtractRefused, match="missing required column") as refused:
        read_extract(extract, "omop")
    assert (refused.value.file, refused.value.column) == (table, column)
    assert separator in header


@pytest.mark.parametrize("table", ["person", "measurement"])
def test_a_missing_required_table_refuses_the_extract(extract, table):
    (extract / f"{table}.csv").unlink()
    with pytest.raises(ExtractRefused, match=f"required OMOP CDM table '{table}' not found"):
        read_extract(extract, "omop")


def test_measurement_needs_a_value_and_a_unit_column(extract):
    measurement = pl.read_csv(extract / "measurement.csv", infer_schema=False)
    measurement.drop("unit_concept_id", "unit_source_value").write_csv(extract / "measurement.csv")
    with pytest.raises(ExtractRefused, match="unit_concept_id, unit_source_value"):
        read_extract(extract, "omop")


def test_an_identifier_column_refuses_the_extract(extract):
    person = pl.read_csv(extract / "person.csv", infer_schema=False)
    person.with_columns(person_name=pl.lit("x")).write_csv(extract / "person.csv")
    with pytest.raises(ExtractRefused, match="identifier") as refused:
        read_extract(extract, "omop")
    assert refused.value.column == "person_name"


@pytest.mark.parametrize("name", ["concept.csv.gz", "concept.parquet"])
def test_an_unreadable_vocabulary_file_is_refused_by_name(extract, name):
    (extract / "concept.csv").unlink()
    (extract / name).write_bytes(b"neither gzip nor parquet")
    with pytest.raises(ExtractRefused, match="unreadable file") as refused:
        read_extract(extract, "omop")
    assert refused.value.file == name


def test_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(ExtractRefused, match="extract folder not found"):
        read_extract(tmp_path / "absent", "omop")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "missing or unreadable rules file"),
        ("field,key\noperator_concept_id,1\n", "column 'value': missing required column"),
        ("field,key,value\noperator_concept_id,1,\n", "empty cell"),
        ("field,key,value\noperator_concept_id,1,<>\n", "an operator must be"),
    ],
)
def test_the_bundled_concept_data_is_checked(tmp_path, text, message):
    from pipeline.errors import RulesError
    from pipeline.read.sources.omop_vocabulary import load_concept_data

    path = tmp_path / "omop-concepts.csv"
    if text is not None:
        path.write_text(text)
    with pytest.raises(RulesError, match=message):
        load_concept_data(path)
