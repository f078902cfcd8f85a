"""The same planted patients in canonical, OMOP CDM and MIMIC-IV form give the same screening.

The synthetic extract (every planted scenario of pipeline.synth, and background patients) is
written out again as OMOP CDM tables and as a MIMIC-IV `hosp` folder by tests/helpers. OMOP can
say everything the canonical extract says, so its screening must equal the canonical one. MIMIC-IV
knows only a birth year and no ATC/RxNorm drug codes, so its screening must equal the screening
of the canonical extract reduced to exactly that (`mimic_expressible`).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from helpers.export_formats import mimic_expressible, to_mimic_iv, to_omop

from pipeline.read.sources.mimic_iv import DEFAULT_MAPPING
from pipeline.rules import load_rules
from pipeline.run.engine import screen_extract
from pipeline.synth import generate_extract

pytestmark = pytest.mark.integration

COMPARED = ["patient_id", "status", "severity", "index_date", "exclusion_reasons"]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("canonical")
    generate_extract(folder, 300, seed=11, other_labs_per_patient=10)
    return folder


def screening(folder: Path, source_format: str = "canonical", **kwargs) -> pl.DataFrame:
    result = screen_extract(folder, source_format=source_format, **kwargs)
    return result.screening.select(COMPARED).sort("patient_id")


def differences(expected: pl.DataFrame, got: pl.DataFrame) -> list[str]:
    joined = expected.join(got, on="patient_id", how="full", suffix="_got", coalesce=True)
    wrong = joined.filter(
        pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_got")) for c in COMPARED[1:])
    )
    return [str(row) for row in wrong.iter_rows(named=True)]


def test_omop_form_screens_like_the_canonical_extract(synthetic, tmp_path):
    omop = to_omop(synthetic, tmp_path / "omop", load_rules())
    expected = screening(synthetic)
    got = screening(omop, "omop")
    assert expected.height >= 90
    assert differences(expected, got) == []


def test_mimic_iv_form_screens_like_the_canonical_extract_it_can_express(synthetic, tmp_path):
    reference = mimic_expressible(synthetic, tmp_path / "canonical-for-mimic")
    mimic = to_mimic_iv(synthetic, tmp_path / "mimic", load_rules())
    expected = screening(reference)
    got = screening(mimic, "mimic-iv", mapping=DEFAULT_MAPPING)
    assert expected.height >= 90
    assert differences(expected, got) == []
    # The reduction matters: some planted patients lean on birth dates or drug codes.
    assert set(expected["status"]) >= {"persistent", "excluded_drug", "excluded_malignancy"}
