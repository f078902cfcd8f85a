"""The MIMIC-IV adapter: hosp tables to canonical frames, row for row, and their refusals.

The folder below is a small synthetic MIMIC-IV root written in the module's own layout (the
real demo is screened in tests/integration/test_mimic_demo.py). Subject 1 is a textbook
persistent, complete case; 2 takes divalproex, 3 prednisone by mouth, 4 only eye drops; 5's IgG
is CSF IgG (an item the mapping leaves out), so it has no IgG to make a panel.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest

from pipeline.errors import ExtractRefused
from pipeline.read.mapping import load_mapping
from pipeline.read.sources import read_extract
from pipeline.read.sources.mimic_iv import DEFAULT_MAPPING, TEST_SYSTEM
from pipeline.rules import load_rules
from pipeline.run.engine import screen_extract

LABEVENTS = """labevent_id,subject_id,hadm_id,specimen_id,itemid,order_provider_id,charttime,storetime,value,valuenum,valueuom,ref_range_lower,ref_range_upper,flag,priority,comments
1,1,,101,50951,,2150-01-10 08:00:00,,20,20,mg/dL,40,230,abnormal,ROUTINE,
2,1,,101,50950,,2150-01-10 08:00:00,,1000,1000,mg/dL,700,1600,,ROUTINE,
3,1,,101,50949,,2150-01-10 08:00:00,,200,200,mg/dL,70,400,,ROUTINE,
4,1,,102,50951,,2150-06-10 08:00:00,,<5,,mg/dL,40,230,abnormal,ROUTINE,
5,1,,102,50983,,2150-06-10 08:00:00,,140,140,mEq/L,133,145,,ROUTINE,
6,2,,201,50951,,2150-02-01 09:00:00,,25,25,mg/dL,40,230,abnormal,ROUTINE,
7,2,,201,50950,,2150-02-01 09:00:00,,900,900,mg/dL,700,1600,,ROUTINE,
8,2,,201,50949,,2150-02-01 09:00:00,,150,150,mg/dL,70,400,,ROUTINE,
9,3,,301,50951,,2150-03-01 09:00:00,,30,30,mg/dL,40,230,abnormal,ROUTINE,
10,3,,301,50950,,2150-03-01 09:00:00,,800,800,mg/dL,700,1600,,ROUTINE,
11,3,,301,50949,,2150-03-01 09:00:00,,120,120,mg/dL,70,400,,ROUTINE,
12,4,,401,50951,,2150-04-01 09:00:00,,,35,mg/dL,40,230,abnormal,ROUTINE,
13,4,,401,50950,,2150-04-01 09:00:00,,1100,1100,mg/dL,700,1600,,ROUTINE,
14,4,,401,50949,,2150-04-01 09:00:00,,180,180,mg/dL,70,400,,ROUTINE,
15,5,,501,50951,,2150-05-01 09:00:00,,22,22,mg/dL,40,230,abnormal,ROUTINE,
16,5,,501,51793,,2150-05-01 09:00:00,,3.1,3.1,mg/dL,,,,ROUTINE,
17,5,,501,50949,,2150-05-01 09:00:00,,100,100,mg/dL,70,400,,ROUTINE,
18,5,,502,50951,,2150-05-02 09:00:00,,___,,mg/dL,40,230,,ROUTINE,
"""
D_LABITEMS = """itemid,label,fluid,category
50951,Immunoglobulin M,Blood,Chemistry
50950,Immunoglobulin G,Blood,Chemistry
50949,Immunoglobulin A,Blood,Chemistry
50983,Sodium,Blood,Chemistry
51793,"Immunoglobulin G, CSF",Cerebrospinal Fluid,Chemistry
50951,Immunoglobulin M (repeated row),Blood,Chemistry
"""
PATIENTS = """subject_id,gender,anchor_age,anchor_year,anchor_year_group,dod
1,F,40,2150,2011 - 2013,
2,M,55,2149,2014 - 2016,
3,F,61,2150,2008 - 2010,
4,M,33,2150,2017 - 2019,
5,F,70,2150,2011 - 2013,
"""
PRESCRIPTIONS = """subject_id,hadm_id,pharmacy_id,poe_id,poe_seq,order_provider_id,starttime,stoptime,drug_type,drug,formulary_drug_cd,gsn,ndc,prod_strength,form_rx,dose_val_rx,dose_unit_rx,form_val_disp,form_unit_disp,doses_per_24_hrs,route
2,7001,1,,,,2149-12-01 10:00:00,2150-01-15 10:00:00,MAIN,Divalproex (EXTended Release),DIVA500ER,,00074682611,,,,,,,,PO
3,7002,2,,,,2150-02-10 10:00:00,2150-02-20 10:00:00,MAIN,PredniSONE,PRED20,,0,,,,,,,,PO/NG
4,7003,3,,,,2150-03-20 10:00:00,2150-03-25 10:00:00,MAIN,Dexamethasone Ophthalmic Susp 0.1%,DEX01O,,00000000000,,,,,,,,RIGHT EAR
1,7004,4,,,,2150-01-01 10:00:00,2149-12-31 10:00:00,MAIN,Acetaminophen,ACET325,,,,,,,,,,PO
"""
DIAGNOSES_ICD = """subject_id,hadm_id,seq_num,icd_code,icd_version
3,7002,1,25000,9
4,7003,1,C9110,10
5,7999,1,I10,10
"""
ADMISSIONS = """subject_id,hadm_id,admittime,dischtime,deathtime,admission_type,admit_provider_id,admission_location,discharge_location,insurance,language,marital_status,race,edregtime,edouttime,hospital_expire_flag
3,7002,2150-02-09 12:00:00,2150-02-21 12:00:00,,URGENT,,EMERGENCY ROOM,HOME,Other,ENGLISH,MARRIED,WHITE,,,0
4,7003,2148-01-01 12:00:00,2148-01-05 12:00:00,,URGENT,,EMERGENCY ROOM,HOME,Other,ENGLISH,SINGLE,WHITE,,,0
"""
TABLES = {
    "labevents.csv.gz": LABEVENTS,
    "d_labitems.csv.gz": D_LABITEMS,
    "patients.csv.gz": PATIENTS,
    "prescriptions.csv.gz": PRESCRIPTIONS,
    "diagnoses_icd.csv.gz": DIAGNOSES_ICD,
    "admissions.csv.gz": ADMISSIONS,
}


def write_root(root: Path, tables: dict[str, str] = TABLES) -> Path:
    hosp = root / "hosp"
    hosp.mkdir(parents=True)
    for name, text in tables.items():
        data = text.encode()
        (hosp / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_root(tmp_path / "mimic")


def canonical(root: Path, table: str) -> pl.DataFrame:
    frame = read_extract(root, "mimic-iv").tables[table]
    assert frame is not None
    return frame.collect()


def test_labs_are_one_row_per_labevent_with_itemid_as_local_code(root):
    labs = canonical(root, "labs")
    # d_labitems lists 50951 twice: the lookup neither repeats nor drops a labevents row.
    assert labs.height == LABEVENTS.count("\n") - 1
    assert labs["_row"].to_list() == list(range(1, labs.height + 1))
    assert set(labs["_file"]) == {"labevents.csv.gz"}
    first = labs.row(0, named=True)
    assert first["test_system"] == TEST_SYSTEM and first["test_code"] == "50951"
    assert first["test_name"] == "Immunoglobulin M"
    assert (first["ref_low"], first["ref_high"], first["specimen_id"]) == ("40", "230", "101")


def test_the_value_text_is_kept_so_censoring_survives_and_valuenum_fills_a_blank(root):
    values = canonical(root, "labs")["value"].to_list()
    assert values[3] == "<5"  # value '<5', valuenum empty
    assert values[11] == "35"  # value empty, valuenum 35
    assert values[17] == "___"  # de-identified text: quarantined downstream as unparseable


def test_the_birth_year_is_anchor_year_minus_anchor_age(root):
    patients = canonical(root, "patients")
    assert patients.select("patient_id", "birth_year", "birth_date", "sex").rows()[:2] == [
        ("1", "2110", None, "F"),
        ("2", "2094", None, "M"),
    ]


def test_prescriptions_keep_name_route_and_times_and_an_ndc_of_zeros_is_no_code(root):
    meds = canonical(root, "medications")
    assert meds.select("drug_code", "drug_system").rows() == [
        ("00074682611", "NDC"),
        (None, None),
        (None, None),
        (None, None),
    ]
    assert meds.row(1, named=True) | {"_file": None} == {
        "patient_id": "3",
        "start_date": "2150-02-10 10:00:00",
        "drug_name": "PredniSONE",
        "drug_code": None,
        "drug_system": None,
        "end_date": "2150-02-20 10:00:00",
        "route": "PO/NG",
        "_file": None,
        "_row": 2,
    }


def test_diagnoses_are_dated_by_their_admission_and_versioned(root):
    diagnoses = canonical(root, "diagnoses")
    assert diagnoses.select("patient_id", "code", "code_system", "diagnosis_date").rows() == [
        ("3", "25000", "ICD9", "2150-02-09 12:00:00"),
        ("4", "C9110", "ICD10", "2148-01-01 12:00:00"),
        ("5", "I10", "ICD10", None),  # admission 7999 is not in admissions
    ]


def test_screening_the_folder_gives_each_subject_the_status_its_rows_call_for(root):
    result = screen_extract(root, source_format="mimic-iv", mapping=DEFAULT_MAPPING)
    got = {
        r["patient_id"]: (r["status"], r["severity"], r["exclusion_reasons"])
        for r in result.screening.iter_rows(named=True)
    }
    assert got == {
        # IgM 20 < 40 with IgG 1000 and IgA 200 in range; '<5' 151 days later: complete.
        "1": ("persistent", "complete", []),
        # 'Divalproex (EXTended Release)' by mouth, 2149-12-01 .. 2150-01-15, before 2150-02-01.
        "2": ("excluded_drug", "partial", ["drug:valproate"]),
        # 'PredniSONE' PO/NG ten days before 2150-03-01 (diabetes 250.00 is no cause).
        "3": ("excluded_drug", "partial", ["drug:prednisone"]),
        # IgM 35 from valuenum; dexamethasone eye drops into the RIGHT EAR are local; C91.10
        # (leukaemia in remission) two years before the index is a haematological malignancy.
        "4": ("excluded_malignancy", "partial", ["malignancy:C9110"]),
        # The only IgG is CSF IgG (itemid 51793): not total serum IgG, so no panel.
        "5": ("not_isolated", "partial", []),
    }
    counts = {r["table_name"]: r for r in result.row_counts.iter_rows(named=True)}
    assert counts["labs"]["read"] == 18 and counts["diagnoses"]["read"] == 3
    quarantine = result.quarantine.select("table_name", "source_file", "source_row", "reason")
    assert quarantine.rows() == [
        ("diagnoses", "diagnoses_icd.csv.gz", 3, "invalid_date"),
        ("labs", "labevents.csv.gz", 18, "unparseable_value"),
        ("medications", "prescriptions.csv.gz", 4, "end_before_start"),
    ]
    ignored = dict(result.ignored_reasons.filter(table_name="labs").select("reason", "rows").rows())
    assert ignored == {"unmapped_local_code": 2}


def test_the_extract_names_the_bundled_itemid_mapping_and_the_files_it_read(root):
    extract = read_extract(root, "mimic-iv")
    assert extract.default_mapping == DEFAULT_MAPPING
    assert sorted(i.table for i in extract.inputs) == [
        "admissions",
        "d_labitems",
        "diagnoses_icd",
        "labevents",
        "patients",
        "prescriptions",
    ]
    rules = load_rules()
    mapping = load_mapping(DEFAULT_MAPPING, rules)
    assert mapping is not None
    assert sorted(mapping.codes["_loinc"]) == sorted(rules.loinc.values())
    assert set(mapping.codes["_system"]) == {TEST_SYSTEM}


def test_the_hosp_folder_itself_and_parquet_tables_are_accepted(root):
    hosp = root / "hosp"
    labs = pl.read_csv(gzip.decompress((hosp / "labevents.csv.gz").read_bytes()))
    (hosp / "labevents.csv.gz").unlink()
    labs.write_parquet(hosp / "labevents.parquet")  # numbers typed: read back as text
    frame = read_extract(hosp, "mimic-iv").tables["labs"]
    assert frame is not None
    assert frame.collect()["value"].to_list()[:3] == ["20", "1000", "200"]


def test_without_optional_tables_there_are_no_medications_or_diagnoses(tmp_path):
    root = write_root(
        tmp_path / "m",
        {"labevents.csv": LABEVENTS, "patients.csv": PATIENTS},
    )
    extract = read_extract(root, "mimic-iv")
    assert extract.tables["medications"] is None and extract.tables["diagnoses"] is None
    labs = extract.tables["labs"]
    assert labs is not None and labs.collect()["test_name"].null_count() == 18


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        ("labevents.csv.gz", "required MIMIC-IV table 'labevents' not found"),
        ("patients.csv.gz", "required MIMIC-IV table 'patients' not found"),
        ("admissions.csv.gz", "table 'admissions' not found: it dates the diagnoses"),
    ],
)
def test_a_missing_table_refuses_the_extract(tmp_path, drop, message):
    root = write_root(tmp_path / "m", {k: v for k, v in TABLES.items() if k != drop})
    with pytest.raises(ExtractRefused, match=message) as refused:
        read_extract(root, "mimic-iv")
    assert refused.value.file == str(root / "hosp")


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("labevents.csv.gz", "valueuom"),
        ("patients.csv.gz", "anchor_age"),
        ("prescriptions.csv.gz", "starttime"),
        ("admissions.csv.gz", "admittime"),
    ],
)
def test_a_missing_column_is_refused_naming_file_and_column(tmp_path, table, column):
    header, _, rest = TABLES[table].partition("\n")
    renamed = ",".join("other" if c == column else c for c in header.split(","))
    root = write_root(tmp_path / "m", TABLES | {table: renamed + "\n" + rest})
    with pytest.raises(ExtractRefused, match="missing required column") as refused:
        read_extract(root, "mimic-iv")
    assert (refused.value.file, refused.value.column) == (table, column)


def test_labevents_without_value_or_valuenum_is_refused(tmp_path):
    labs = pl.read_csv(LABEVENTS.encode(), infer_schema=False).drop("value", "valuenum")
    root = write_root(tmp_path / "m", TABLES | {"labevents.csv.gz": labs.write_csv()})
    with pytest.raises(ExtractRefused, match="value, valuenum"):
        read_extract(root, "mimic-iv")


def test_an_identifier_column_in_a_mimic_table_refuses_the_extract(tmp_path):
    header, _, rest = PATIENTS.partition("\n")
    patients = header + ",patient_name\n" + rest.replace("\n", ",x\n")
    root = write_root(tmp_path / "m", TABLES | {"patients.csv.gz": patients})
    with pytest.raises(ExtractRefused, match="identifier") as refused:
        read_extract(root, "mimic-iv")
    assert refused.value.column == "patient_name"


def test_a_folder_that_is_not_a_mimic_root_is_refused(tmp_path):
    with pytest.raises(ExtractRefused, match="not a MIMIC-IV root"):
        read_extract(tmp_path, "mimic-iv")
    with pytest.raises(ExtractRefused, match="extract folder not found"):
        read_extract(tmp_path / "absent", "mimic-iv")
