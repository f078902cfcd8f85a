"""The site mapping file: local codes and units to LOINC/UCUM."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pipeline.errors import MappingError
from pipeline.read.mapping import load_mapping
from pipeline.run.engine import screen_extract

LABS = """patient_id,collected_date,test_code,test_system,value,unit,specimen_id
p1,2020-01-10,IGM,LOCAL,0.25,GPL,s1
p1,2020-01-10,IGG,local,10,g/L,s1
p1,2020-01-10,IGA,LOCAL,2,g/L,s1
p2,2020-01-10,IGM,OTHERLAB,25,mg/dL,s1
"""


@pytest.fixture
def extract(tmp_path: Path) -> Path:
    folder = tmp_path / "extract"
    folder.mkdir()
    (folder / "labs.csv").write_text(LABS)
    (folder / "patients.csv").write_text(
        "patient_id,birth_date,sex\np1,1980-01-01,F\np2,1980-01-01,M\n"
    )
    return folder


def write_mapping(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.csv"
    path.write_text(text)
    return path


def test_mapped_local_codes_and_units_are_screened(extract, tmp_path):
    mapping = write_mapping(
        tmp_path,
        "test_system,test_code,loinc,local_unit,ucum_unit\n"
        "LOCAL,IGM,2472-9,GPL,g/L\nLOCAL,IGG,2465-3,,\nLOCAL,IGA,2458-8,,\n",
    )
    result = screen_extract(extract, mapping=mapping)
    assert dict(result.screening.select("patient_id", "status").iter_rows()) == {"p1": "single_low"}
    assert result.screening["min_igm_mg_dl"].to_list() == [25.0]
    ignored = dict(
        result.ignored_reasons.filter(table_name="labs").select("reason", "rows").iter_rows()
    )
    assert ignored == {"unmapped_local_code": 1}


def test_without_a_mapping_local_codes_are_ignored_and_counted(extract):
    from pipeline.errors import ExtractRefused

    with pytest.raises(ExtractRefused, match="no usable IgM"):
        screen_extract(extract)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("test_system,test_code\nLOCAL,IGM\n", "loinc"),
        ("test_system,test_code,loinc\nLOCAL,,2472-9\n", "empty value"),
        (
            "test_system,test_code,loinc\nLOCAL,IGM,2472-9\nlocal,IGM,2465-3\n",
            "more than one LOINC",
        ),
        ("test_system,test_code,loinc,local_unit,ucum_unit\nLOCAL,IGM,2472-9,GPL,\n", "together"),
    ],
)
def test_a_bad_mapping_is_refused_with_one_line(tmp_path, text, message):
    with pytest.raises(MappingError, match=message):
        load_mapping(write_mapping(tmp_path, text))


# --- every check of the mapping file: one line naming file, column and row -----------------

HEADER = "test_system,test_code,loinc,local_unit,ucum_unit\n"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "mapping.csv: empty file: expected a header line"),
        (b"\xff\xfe\x00t\x00e\x00s\x00t", "mapping.csv: not a UTF-8 text file"),
        (b"test_system;test_code;loinc\nLOCAL;IGM;2472-9\n", "columns must be separated by commas"),
        (
            b"test_system,test_code,loinc,LOINC\nLOCAL,IGM,2472-9,2472-9\n",
            "mapping.csv: column 'loinc': duplicate column name",
        ),
        (b"test_system,test_code,loinc\n", "mapping.csv: no mapping rows below the header"),
        (b"test_system,test_code,loinc\nLOCAL,IGM,2472-9,extra\n", "more cells than the header"),
        (
            b"test_system,test_code,loinc\nLOCAL,IGM,2472-9\n ,IGG,2465-3\n",
            "mapping.csv: column 'test_system': row 2: empty value",
        ),
        (
            b"test_system,test_code,loinc\nLOCAL,IGM,IgM\n",
            "mapping.csv: column 'loinc': row 1: 'IgM' is not a LOINC code",
        ),
        (
            b"test_system,test_code,loinc\nLOCAL,IGM,immunoglobulin M total serum nephelometry\n",
            "row 1: 'immunoglobulin M total serum nephelomet…' is not a LOINC code",
        ),
        (
            b"test_system,test_code,loinc\nLOCAL,IGM,2472-0\n",
            "mapping.csv: column 'loinc': row 1: '2472-0' has a wrong check digit",
        ),
        (
            (HEADER + "LOCAL,IGM,2472-9,,g/L\n").encode(),
            "column 'local_unit': row 1: local_unit and ucum_unit must be given together",
        ),
        (
            (HEADER + "LOCAL,IGM,2472-9,GPL,g/L\nLOCAL,IGM,2472-9,gpl,mg/L\n").encode(),
            "column 'ucum_unit': row 1: the local unit on this row is mapped to more than one",
        ),
    ],
)
def test_every_malformed_mapping_is_refused_with_one_line(tmp_path, raw, message):
    path = tmp_path / "mapping.csv"
    path.write_bytes(raw)
    with pytest.raises(MappingError) as refused:
        load_mapping(path)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)
    assert refused.value.exit_code == 4


def test_a_missing_mapping_file_is_named(tmp_path):
    with pytest.raises(MappingError, match="mapping file not found"):
        load_mapping(tmp_path / "absent.csv")


def test_header_case_a_byte_order_mark_extra_columns_and_repeated_rows_are_fine(tmp_path):
    path = tmp_path / "mapping.csv"
    path.write_bytes(
        b"\xef\xbb\xbfTest_System, TEST_CODE ,Loinc,source\n"
        b"LOCAL,IGM,2472-9,lab handbook p.3\nlocal, IGM ,2472-9,same row again\n"
    )
    mapping = load_mapping(path)
    assert mapping is not None
    assert mapping.codes.rows() == [("LOCAL", "IGM", "2472-9")]


def test_a_loinc_code_of_another_test_is_allowed_and_counts_as_not_an_analyte(extract, tmp_path):
    mapping = write_mapping(
        tmp_path,
        "test_system,test_code,loinc,local_unit,ucum_unit\n"
        "LOCAL,IGM,2472-9,GPL,g/L\nLOCAL,IGG,2465-3,,\nLOCAL,IGA,2458-8,,\nOTHERLAB,IGM,2951-2,,\n",
    )
    result = screen_extract(extract, mapping=mapping)
    ignored = dict(
        result.ignored_reasons.filter(table_name="labs").select("reason", "rows").iter_rows()
    )
    assert ignored == {"not_an_analyte": 1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "test_system,test_code,loinc\nLN,2472-9,2472-9\n",
            "column 'test_system': row 1: 'LN' is a LOINC system",
        ),
        (
            "test_system,test_code,loinc,local_unit,ucum_unit\nLOCAL,IGM,2472-9,GPL,gram/litre\n",
            "column 'ucum_unit': row 1: 'gram/litre' is not a unit the rules convert",
        ),
    ],
)
def test_with_the_rules_a_loinc_system_or_an_unconvertible_unit_is_refused(tmp_path, text, message):
    from pipeline.rules import load_rules

    path = write_mapping(tmp_path, text)
    assert load_mapping(path) is not None  # without the rules these cannot be checked
    with pytest.raises(MappingError, match=message):
        load_mapping(path, load_rules())


def test_a_unit_the_rules_cannot_convert_is_fine_for_a_test_that_is_not_an_analyte(tmp_path):
    from pipeline.rules import load_rules

    path = write_mapping(
        tmp_path, "test_system,test_code,loinc,local_unit,ucum_unit\nLOCAL,NA,2951-2,MEQL,mmol/L\n"
    )
    assert load_mapping(path, load_rules()) is not None


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("2472-9", True),
        ("2465-3", True),
        ("2458-8", True),
        ("718-7", True),
        ("11573-3", True),
        (" 2472-9 ", True),
        ("2472-0", False),
        ("2472-8", False),
        ("24729", False),
        ("2472 9", False),
        ("", False),
        (None, False),
    ],
)
def test_loinc_codes_are_recognised_by_form_and_check_digit(code, valid):
    import polars as pl

    from pipeline.read.loinc import is_loinc

    frame = pl.DataFrame({"code": [code]}, schema={"code": pl.String})
    assert frame.select(is_loinc(pl.col("code")))["is_loinc"].to_list() == [valid]


def test_a_malformed_loinc_quotes_the_rules_igm_code_as_the_example(tmp_path):
    from pipeline.rules import load_rules

    path = write_mapping(tmp_path, "test_system,test_code,loinc\nLOCAL,IGM,IgM\n")
    rules = load_rules()
    with pytest.raises(MappingError) as with_rules:
        load_mapping(path, rules)
    assert str(with_rules.value).endswith(
        f"'IgM' is not a LOINC code (digits, '-', check digit, e.g. {rules.loinc['igm']})"
    )
    site = dataclasses.replace(rules, loinc={**rules.loinc, "igm": "12345-6"})
    with pytest.raises(MappingError, match=r"e\.g\. 12345-6\)$"):
        load_mapping(path, site)
    with pytest.raises(MappingError) as without_rules:
        load_mapping(path)
    assert str(without_rules.value).endswith("'IgM' is not a LOINC code (digits, '-', check digit)")
