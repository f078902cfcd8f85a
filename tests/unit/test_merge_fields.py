"""The merge of buckets claims every field of ScreenResult (issue 14, review D7).

`merge_buckets` builds the merged result with `dataclasses.replace` on the first bucket's: a field
it does not name keeps the first bucket's value. Each field must therefore be in exactly one of
the merge's groups, so that a field added to ScreenResult fails here until the merge says how to
combine it (the report's panels and persistence were once dropped that way).
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime

import polars as pl
import pytest

from pipeline.result import ScreenResult
from pipeline.run import merge


def test_every_field_of_the_result_is_merged_one_way():
    groups = [merge.PER_PATIENT, merge.RECOMPUTED, merge.SAME_IN_EVERY_BUCKET]
    claimed = [name for group in groups for name in group]
    assert len(claimed) == len(set(claimed)), "a field is in two groups"
    assert sorted(claimed) == sorted(f.name for f in fields(ScreenResult))


@pytest.mark.parametrize("name", merge.SAME_IN_EVERY_BUCKET)
def test_buckets_of_different_runs_are_not_merged(monkeypatch, tmp_path, name):
    first = ScreenResult(
        run_id="r",
        source_format="canonical",
        extract_dir=str(tmp_path),
        rules_version="v",
        rules_sha256="s",
        mapping_sha256=None,
        code_version="c",
        inputs=[],
        screening=pl.DataFrame(),
        ig_results=pl.DataFrame(),
        exclusions=pl.DataFrame(),
        attrition=pl.DataFrame(),
        quarantine=pl.DataFrame(),
        row_counts=pl.DataFrame(),
        ignored_reasons=pl.DataFrame(),
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        criteria={"x": 1},
    )
    other_value = {
        "inputs": ["another file"],
        "started_at": datetime(2026, 1, 2, tzinfo=UTC),
        "criteria": {"x": 2},
        "mapping_sha256": "m",
    }.get(name, "other")
    second = replace(first, **{name: other_value})
    loaded = iter([first, second])
    monkeypatch.setattr(merge.handoff, "load", lambda cls, path, **options: next(loaded))
    with pytest.raises(ValueError, match=f"disagree on {name}"):
        merge.merge_buckets(None, [tmp_path / "a", tmp_path / "b"], None)  # type: ignore[arg-type]


def test_per_patient_frames_merge_into_the_order_of_a_stable_sort(tmp_path):
    sorted_bucket = pl.DataFrame({"patient_id": ["a", "a", "c"], "row": [1, 2, 3]})
    unsorted_bucket = pl.DataFrame({"patient_id": ["d", "b", "b"], "row": [4, 5, 6]})
    paths = []
    for k, frame in enumerate([sorted_bucket, unsorted_bucket]):
        paths.append(tmp_path / f"{k}.parquet")
        frame.write_parquet(paths[-1])
    expected = pl.concat([sorted_bucket, unsorted_bucket]).sort("patient_id", maintain_order=True)
    assert merge.by_patient_files(paths).equals(expected)
    assert merge.by_patient_files(paths[:1]).equals(sorted_bucket)
