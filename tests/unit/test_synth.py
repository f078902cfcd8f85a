"""The synthetic extract generator: determinism, planted statuses, file formats, realism."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipeline.errors import SigmdError
from pipeline.read.sources.files import discover
from pipeline.result import STATUSES
from pipeline.rules import load_rules
from pipeline.synth import (
    SCENARIOS,
    TABLE_COLUMNS,
    TRUTH_FILE,
    GenerateSummary,
    generate_extract,
    read_truth,
)
from pipeline.synth.case import Case
from pipeline.synth.measures import AgeLimits
from pipeline.synth.plant import plant
from pipeline.synth.scenarios.registry import INDEXED_STATUSES, Scenario, ScenarioGroup

IG_LOINC = {"2472-9", "2465-3", "2458-8"}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2})?$")


def read_table(folder: Path, table: str) -> pl.DataFrame:
    """Every file of a table, concatenated, all columns as strings (empty -> null)."""
    paths = discover(folder, [table])[table]
    frames = [
        pl.read_parquet(p) if p.name.endswith(".parquet") else pl.read_csv(p, infer_schema=False)
        for p in paths
    ]
    return pl.concat(frames)


def file_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateSummary]:
    folder = tmp_path_factory.mktemp("synth") / "extract"
    return folder, generate_extract(folder, 1500, seed=3)


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    for name in ("a", "b"):
        generate_extract(tmp_path / name, 400, seed=42, file_format="csv.gz", split_labs=2)
    assert file_bytes(tmp_path / "a") == file_bytes(tmp_path / "b")


def test_another_seed_gives_another_extract(tmp_path: Path) -> None:
    generate_extract(tmp_path / "a", 400, seed=1)
    generate_extract(tmp_path / "b", 400, seed=2)
    assert (tmp_path / "a" / "labs.csv").read_bytes() != (tmp_path / "b" / "labs.csv").read_bytes()


def test_every_status_has_several_scenarios() -> None:
    per_status = Counter(s.status for s in SCENARIOS)
    assert set(per_status) == set(STATUSES)
    assert min(per_status.values()) >= 3
    assert len(SCENARIOS) >= 40
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)


def test_severity_is_given_from_not_isolated_on() -> None:
    for scenario in SCENARIOS:
        if scenario.status in ("under_min_age", "igm_not_low"):
            assert scenario.severity is None, scenario.name
        else:
            assert scenario.severity in ("complete", "partial"), scenario.name


def test_truth_holds_every_scenario_and_the_tested_background(
    extract: tuple[Path, GenerateSummary],
) -> None:
    folder, summary = extract
    truth = read_truth(folder)
    planted = truth.filter(pl.col("scenario") != "background")
    assert sorted(planted["scenario"]) == sorted(s.name for s in SCENARIOS)
    expected = {s.name: (s.status, s.severity) for s in SCENARIOS}
    for row in planted.iter_rows(named=True):
        assert (row["status"], row["severity"]) == expected[row["scenario"]]
    background = truth.filter(pl.col("scenario") == "background")
    assert set(background["status"]) <= {"igm_not_low", "under_min_age"}
    assert background["severity"].null_count() == background.height
    assert summary.n_planted == len(SCENARIOS)
    assert summary.status_counts == {
        s: truth.filter(pl.col("status") == s).height for s in STATUSES
    }


def test_truth_has_an_index_date_exactly_where_the_status_has_one(
    extract: tuple[Path, GenerateSummary],
) -> None:
    folder, _ = extract
    truth = read_truth(folder)
    assert truth.schema["index_date"] == pl.Date
    assert set(INDEXED_STATUSES) == {
        "excluded_drug",
        "excluded_malignancy",
        "excluded_other",
        "normalized",
        "single_low",
        "persistent",
    }
    has_index = truth["status"].is_in(list(INDEXED_STATUSES))
    assert truth["index_date"].is_not_null().equals(has_index, check_names=False)
    assert has_index.sum() == sum(s.has_index for s in SCENARIOS)
    background = truth.filter(pl.col("scenario") == "background")
    assert background["index_date"].null_count() == background.height


def test_truth_index_date_is_the_date_of_a_planted_igm(
    extract: tuple[Path, GenerateSummary],
) -> None:
    folder, _ = extract
    igm_days = (
        read_table(folder, "labs")
        .filter(pl.col("test_code") == "2472-9")
        .select("patient_id", pl.col("collected_date").str.slice(0, 10).str.to_date())
        .unique()
    )
    indexed = read_truth(folder).filter(pl.col("index_date").is_not_null())
    found = indexed.join(
        igm_days,
        left_on=["patient_id", "index_date"],
        right_on=["patient_id", "collected_date"],
        how="semi",
    )
    assert found.height == indexed.height


def _plant_one(monkeypatch: pytest.MonkeyPatch, status: str, build: Callable[[Case], None]) -> None:
    """Plant a single made-up scenario."""
    group = ScenarioGroup()
    group.add(status, "partial", "test")(build)
    monkeypatch.setattr("pipeline.synth.plant.SCENARIOS", list(group))
    rules = load_rules()
    plant(rules, AgeLimits(rules), 0, np.array([1]), 7)


def test_a_scenario_with_an_indexed_status_must_mark_its_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def _forgets_its_index(c: Case) -> None:
        c.panel(0, c.low())

    with pytest.raises(ValueError, match=r"forgets_its_index.*so it marks an index"):
        _plant_one(monkeypatch, "single_low", _forgets_its_index)


def test_a_scenario_without_an_index_must_not_mark_one(monkeypatch: pytest.MonkeyPatch) -> None:
    def _marks_an_index(c: Case) -> None:
        c.panel(0, c.low(), iga=c.below("iga"), index=True)

    with pytest.raises(ValueError, match="does not mark an index"):
        _plant_one(monkeypatch, "not_isolated", _marks_an_index)


def test_a_patient_has_one_index_date(monkeypatch: pytest.MonkeyPatch) -> None:
    def _two_indexes(c: Case) -> None:
        c.panel(0, c.low(), index=True)
        c.panel(100, c.low(100), index=True)

    with pytest.raises(ValueError, match="one index date"):
        _plant_one(monkeypatch, "persistent", _two_indexes)


def test_scenarios_are_in_status_order() -> None:
    order = [STATUSES.index(s.status) for s in SCENARIOS]
    assert order == sorted(order)
    assert all(isinstance(s, Scenario) for s in SCENARIOS)
    with pytest.raises(ValueError, match="unknown status"):
        ScenarioGroup().add("cured", None, "no such status")


def test_truth_lists_exactly_the_patients_with_an_igm_row(
    extract: tuple[Path, GenerateSummary],
) -> None:
    folder, _ = extract
    labs = read_table(folder, "labs")
    with_igm = labs.filter(
        (pl.col("test_code") == "2472-9")
        & pl.col("test_system").fill_null("LOINC").str.to_uppercase().is_in(["LOINC", "LN"])
    )
    assert set(with_igm["patient_id"]) == set(read_truth(folder)["patient_id"])
    # Some background patients have no immunoglobulin test at all.
    assert labs["patient_id"].n_unique() > with_igm["patient_id"].n_unique()


def test_small_extract_plants_every_scenario(tmp_path: Path) -> None:
    summary = generate_extract(tmp_path / "x", 10, seed=0)
    truth = read_truth(tmp_path / "x")
    assert summary.n_patients == len(SCENARIOS)
    assert truth.height == len(SCENARIOS)
    assert all(summary.status_counts[s] >= 3 for s in STATUSES)


def test_tables_parse_with_polars_and_are_canonical(extract: tuple[Path, GenerateSummary]) -> None:
    folder, summary = extract
    patients = read_table(folder, "patients")
    assert patients.height == summary.n_patients
    assert patients["patient_id"].is_unique().all()
    assert patients["patient_id"].str.contains(r"^P\d{7}$").all()
    born = patients["birth_date"].is_not_null() ^ patients["birth_year"].is_not_null()
    assert born.all()
    ids = set(patients["patient_id"])
    for table, columns in TABLE_COLUMNS.items():
        frame = read_table(folder, table)
        assert tuple(frame.columns) == columns
        assert set(frame["patient_id"]) <= ids
    labs = read_table(folder, "labs")
    assert labs.height == summary.n_lab_rows
    assert labs["collected_date"].str.contains(DATETIME.pattern).all()
    assert labs["collected_date"].str.contains("T").any()
    assert labs["value"].is_not_null().all()
    assert labs["unit"].is_not_null().all()
    assert (
        labs.select(pl.col("collected_date").str.slice(0, 4).cast(pl.Int32))
        .to_series()
        .is_between(2015, 2024)
        .all()
    )
    medications = read_table(folder, "medications")
    assert (medications["end_date"].fill_null("9999") >= medications["start_date"]).all()
    diagnoses = read_table(folder, "diagnoses")
    assert diagnoses["diagnosis_date"].str.contains(DATE.pattern).all()


def test_truth_file_is_not_read_as_a_table(extract: tuple[Path, GenerateSummary]) -> None:
    folder, _ = extract
    found = discover(folder, list(TABLE_COLUMNS))
    assert TRUTH_FILE not in {p.name for paths in found.values() for p in paths}
    assert (folder / TRUTH_FILE).is_file()


def test_decoys_are_present(extract: tuple[Path, GenerateSummary]) -> None:
    folder, _ = extract
    labs = read_table(folder, "labs")
    ig = labs.filter(pl.col("test_code").is_in(IG_LOINC))
    units = set(ig["unit"].str.to_lowercase())
    assert {"mg/dl", "g/l", "iu/ml"} <= units
    assert ig["value"].str.contains(r"^<\s?\d").any()
    assert ig["value"].str.contains(r"^>").any()
    assert ig["ref_low"].is_not_null().any() and ig["ref_low"].is_null().any()
    assert labs.filter(
        pl.col("test_name").str.contains("IgM") & ~pl.col("test_code").is_in(IG_LOINC)
    ).height
    assert labs.is_duplicated().any()
    sexes = set(read_table(folder, "patients")["sex"])
    assert {"female", "Male", "f"} <= sexes
    systems = set(read_table(folder, "diagnoses")["code_system"])
    assert {"ICD-10-CM", "ICD9"} <= systems


def test_immunoglobulins_are_about_3_percent_of_lab_rows(tmp_path: Path) -> None:
    generate_extract(tmp_path / "mid", 8000, seed=5)
    labs = read_table(tmp_path / "mid", "labs")
    share = labs.filter(pl.col("test_code").is_in(IG_LOINC)).height / labs.height
    assert 0.025 <= share <= 0.035


@pytest.mark.parametrize("file_format", ["csv.gz", "parquet"])
def test_other_formats_hold_the_same_rows_as_csv(tmp_path: Path, file_format: str) -> None:
    generate_extract(tmp_path / "csv", 500, seed=9)
    generate_extract(tmp_path / "other", 500, seed=9, file_format=file_format)
    suffix = "." + file_format
    for table in TABLE_COLUMNS:
        assert (tmp_path / "other" / f"{table}{suffix}").is_file()
        assert read_table(tmp_path / "other", table).equals(read_table(tmp_path / "csv", table))


def test_split_labs_spreads_the_same_rows_over_parts(tmp_path: Path) -> None:
    generate_extract(tmp_path / "one", 500, seed=4)
    summary = generate_extract(tmp_path / "four", 500, seed=4, split_labs=4)
    parts = sorted(p.name for p in (tmp_path / "four").glob("labs*"))
    assert parts == [f"labs_part-0{i}.csv" for i in range(1, 5)]
    assert all(pl.read_csv(tmp_path / "four" / p, infer_schema=False).height for p in parts)
    split = read_table(tmp_path / "four", "labs")
    assert split.equals(read_table(tmp_path / "one", "labs"))
    assert summary.n_lab_rows == split.height


def test_regenerating_into_the_same_folder_overwrites(tmp_path: Path) -> None:
    first = generate_extract(tmp_path / "x", 300, seed=1)
    again = generate_extract(tmp_path / "x", 300, seed=1)
    assert first == again


def test_refuses_a_folder_holding_other_tables(tmp_path: Path) -> None:
    (tmp_path / "labs_2024-01.csv").write_text("patient_id\n")
    with pytest.raises(SigmdError, match="other extract tables"):
        generate_extract(tmp_path, 100)


@pytest.mark.parametrize(
    "kwargs",
    [{"file_format": "xlsx"}, {"split_labs": 0}, {"other_labs_per_patient": -1.0}],
)
def test_refuses_bad_arguments(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        generate_extract(tmp_path, 100, **kwargs)
