"""The site mapping file: local codes and units to LOINC/UCUM."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.engine import screen_extract
from pipeline.errors import MappingError
from pipeline.mapping import load_mapping

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
