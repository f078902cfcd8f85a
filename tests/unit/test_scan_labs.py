"""The one streaming pass over the labs (normalize.scan_labs): what it keeps and what it counts.

Batches are made tiny here so that rows of one class and duplicates of one row fall into
different batches.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline.read import normalize
from pipeline.read.mapping import load_mapping
from pipeline.read.parse import blank_to_null, lookup
from pipeline.read.sources.canonical import TABLES
from pipeline.read.sources.files import read_table
from pipeline.rules import load_rules

HEADER = "patient_id,collected_date,test_code,test_system,test_name,value,unit"
ROWS = [
    "P1,2024-01-02,2472-9,LOINC,IgM,20,mg/dL",  # relevant
    "P1,2024-01-02,2465-3,ln,IgG,900,mg/dL",  # relevant: LOINC spelled ln
    "P1,2024-01-02,,LOINC,IgA,100,mg/dL",  # relevant: blank code, quarantined later
    "P1,2024-01-02,2160-0,LOINC,Creatinine,0.9,mg/dL",  # other LOINC test
    "P1,2024-01-02, 2160-0 ,LOINC,Creatinine,0.9,mg/dL",  # same row after trimming: not compared
    "P1,2024-01-02,2160-0,,Creatinine,0.9,mg/dL",  # blank system counts as LOINC
    "P2,2024-01-03,2472-9,LOCAL,IgM,20,mg/dL",  # an Ig LOINC code under a local system
    "P2,2024-01-03,NA,local,Sodium,140,mmol/L",  # local code, unmapped
    "P2,2024-01-03,NA, local ,Sodium,140,mmol/L",  # same row after trimming: not compared
    "P2,2024-01-03, ,LOINC,Sodium,140,mmol/L",  # a code of spaces is blank: relevant
    "P2,2024-01-03,12472-90,LOINC,Other,1,mg/dL",  # contains an Ig code, is not one
]


@pytest.fixture
def labs(tmp_path: Path) -> pl.LazyFrame:
    path = tmp_path / "labs.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n")
    return read_table("labs", [path], TABLES["labs"])


@pytest.fixture(autouse=True)
def tiny_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(normalize, "LAB_BATCH_ROWS", 2)


def counts(class_counts: pl.DataFrame) -> dict[str, int]:
    return dict(class_counts.iter_rows())


def test_relevant_rows_are_kept_and_the_other_tests_counted_by_class(labs):
    # Other tests are counted whole: rows 4 and 5 are the same row after trimming, and rows 8
    # and 9 too, but only relevant rows are ever compared for exact duplicates (SPEC §3).
    rows, class_counts = normalize.scan_labs(labs, load_rules(None), None)
    assert sorted(rows["_row"].to_list()) == [1, 2, 3, 10]
    assert counts(class_counts) == {"relevant": 4, "not_an_analyte": 4, "unmapped_local_code": 3}


def test_a_mapped_local_code_becomes_relevant_or_another_test(labs, tmp_path):
    mapping_file = tmp_path / "mapping.csv"
    mapping_file.write_text(
        "test_system,test_code,loinc\nLOCAL,2472-9,2472-9\nLOCAL,NA,2951-2\n", encoding="utf-8"
    )
    rules = load_rules(None)
    rows, class_counts = normalize.scan_labs(labs, rules, load_mapping(mapping_file, rules))
    assert sorted(rows["_row"].to_list()) == [1, 2, 3, 7, 10]
    assert counts(class_counts) == {"relevant": 5, "not_an_analyte": 6}


def test_every_row_is_counted_once(labs):
    _, class_counts = normalize.scan_labs(labs, load_rules(None), None)
    assert class_counts["rows"].sum() == len(ROWS)


@pytest.mark.parametrize(
    ("code", "candidate"),
    [
        ("2472-9", True),
        (" 2472-9\t", True),  # trims to an Ig code
        ("\t", True),  # trims to nothing: blank, quarantined as missing_test_code
        ("", True),
        (None, True),
        ("x2472-9", True),  # a superset: classify_labs then finds it is another test
        ("2160-0", False),
        ("2160-0 ", False),
        ("2472-0", False),  # not the IgM code (2472-9)
    ],
)
def test_may_be_candidate_keeps_every_row_whose_trimmed_code_is_blank_or_a_code(code, candidate):
    codes = list(load_rules(None).loinc.values())
    frame = pl.DataFrame({"test_code": [code]}, schema={"test_code": pl.String})
    assert frame.select(normalize.may_be_candidate(pl.col("test_code"), codes)).item() is candidate


def test_no_row_whose_trimmed_code_is_blank_or_a_code_is_left_out():
    # The superset is checked against the exact rule on codes padded in every way.
    codes = list(load_rules(None).loinc.values())
    pads = ["", " ", "\t", "\u00a0", " \t "]
    values = [f"{a}{c}{b}" for c in [*codes, "", "2160-0", "x"] for a in pads for b in pads]
    frame = pl.DataFrame({"test_code": values})
    exact = blank_to_null(pl.col("test_code"))
    out = frame.select(
        exact=exact.is_null() | exact.is_in(codes),
        superset=normalize.may_be_candidate(pl.col("test_code"), codes),
    )
    assert not out.filter(pl.col("exact") & ~pl.col("superset")).height


def test_lookup_maps_exact_values_and_defaults_the_rest():
    frame = pl.DataFrame({"x": ["a", "b", "c", None]})
    out = frame.select(
        lookup(pl.col("x"), {"a": "A", "b": "B"}).alias("plain"),
        lookup(pl.col("x"), {"a": "A"}, default="?").alias("with_default"),
        lookup(pl.col("x"), {}).alias("empty"),
    )
    assert out["plain"].to_list() == ["A", "B", None, None]
    assert out["with_default"].to_list() == ["A", "?", "?", "?"]
    assert out["empty"].to_list() == [None, None, None, None]


@pytest.mark.parametrize(
    ("system", "plain"),
    [
        ("LOINC", True),
        ("LN", True),
        ("loinc", False),
        (" LOINC", False),
        ("", False),
        (None, False),
    ],
)
def test_only_an_exact_rules_spelling_of_loinc_is_counted_in_the_stream(system, plain):
    # The others are LOINC too, or not, and are judged once per spelling by is_loinc_system.
    frame = pl.DataFrame({"test_system": [system]}, schema={"test_system": pl.String})
    flag = frame.select(normalize.is_plain_loinc_spelling(pl.col("test_system"), load_rules(None)))
    assert flag.item() is plain


def test_counts_are_the_same_whatever_the_spelling_of_loinc(tmp_path):
    spellings = ["LOINC", "LN", "loinc", " LOINC ", "", "Ln"]
    rows = [f"P1,2024-01-02,2160-{i},{s},Other,1,mg/dL" for i, s in enumerate(spellings)]
    path = tmp_path / "labs.csv"
    path.write_text("\n".join([HEADER, *rows, "P1,2024-01-02,2472-9,,IgM,20,mg/dL"]) + "\n")
    frame = read_table("labs", [path], TABLES["labs"])
    _, class_counts = normalize.scan_labs(frame, load_rules(None), None)
    assert counts(class_counts) == {"relevant": 1, "not_an_analyte": len(spellings)}
