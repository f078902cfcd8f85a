"""Patient buckets: a stable hash, and a partition that keeps every row, its order and its origin."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from pipeline.errors import ExtractRefused, PublishError
from pipeline.read.buckets import (
    MANIFEST,
    Partition,
    bucket_series,
    partition_extract,
    read_bucket,
    stable_bucket,
)
from pipeline.read.sources import read_extract
from pipeline.synth import generate_extract

# The first 8 bytes of SHA-256 of each id, and its bucket for N = 2, 4, 8, 16, 32. Any change to
# the hash moves patients between buckets of an existing work folder: it must be deliberate.
PINNED = {
    "p1": ("f64551fcd6f07823", [1, 3, 3, 3, 3]),
    "P0000001": ("ff66919dc079d9d8", [0, 0, 0, 8, 24]),
    "patient-42": ("7e9b4c8f2c43c14b", [1, 3, 3, 11, 11]),
    "Ünïcode-7": ("775bbe2a88153207", [1, 3, 7, 7, 7]),
    "12345": ("5994471abb01112a", [0, 2, 2, 10, 10]),
}
NS = (2, 4, 8, 16, 32)


@pytest.mark.parametrize("patient_id", sorted(PINNED))
def test_the_bucket_of_an_id_is_pinned(patient_id: str):
    prefix, expected = PINNED[patient_id]
    assert [stable_bucket(patient_id, n) for n in NS] == expected
    assert [int(prefix, 16) % n for n in NS] == expected


def test_the_vectorised_buckets_equal_the_reference_for_every_id():
    ids = [*PINNED, *(f"P{i:07d}" for i in range(2000)), " p1 ", "", "   ", None]
    for n in (1, *NS, 7, 1000):
        got = bucket_series(pl.Series("patient_id", ids, pl.String), n).to_list()
        assert got == [stable_bucket(i, n) for i in ids]


def test_an_id_is_trimmed_and_a_missing_id_goes_to_bucket_zero():
    assert stable_bucket("  p1\t", 4) == stable_bucket("p1", 4) == 3
    assert stable_bucket(None, 8) == stable_bucket("  ", 8) == 0


def test_a_partition_keeps_every_row_its_order_and_its_origin(tmp_path: Path):
    extract = tmp_path / "extract"
    generate_extract(extract, 60, seed=3, split_labs=2)
    part = partition_extract(extract, tmp_path / "part", 4)
    whole = read_extract(extract)
    assert sorted(part.tables) == sorted(t for t, f in whole.tables.items() if f is not None)
    for table in part.tables:
        source = whole.tables[table]
        assert source is not None
        original = source.collect()
        buckets = [read_bucket(part, k).tables[table] for k in range(4)]
        frames = [b.collect() for b in buckets if b is not None]
        assert part.rows_read[table] == original.height == sum(f.height for f in frames)
        assert part.rows[table] == [f.height for f in frames]
        for k, frame in enumerate(frames):
            assert frame.columns == original.columns
            ids = frame["patient_id"].to_list()
            assert all(stable_bucket(i, 4) == k for i in ids)
            # Order kept: the rows of the bucket in the extract's order.
            expected = original.filter(bucket_series(original["patient_id"], 4) == k)
            assert frame.equals(expected)


def test_the_manifest_keeps_the_delivered_files(tmp_path: Path):
    extract = tmp_path / "extract"
    generate_extract(extract, 20, seed=1)
    part = partition_extract(extract, tmp_path / "part", 3)
    loaded = Partition.load(tmp_path / "part")
    assert loaded == part
    assert {Path(i.path).parent for i in loaded.inputs} == {extract}
    assert read_bucket(loaded, 2).inputs == read_extract(extract).inputs
    manifest = json.loads((tmp_path / "part" / MANIFEST).read_text())
    assert manifest["buckets"] == 3
    assert sorted(p.name for p in (tmp_path / "part").iterdir()) == [
        "bucket=0",
        "bucket=1",
        "bucket=2",
        MANIFEST,
    ]


def test_a_partition_replaces_the_previous_one_but_never_another_folder(tmp_path: Path):
    extract = tmp_path / "extract"
    generate_extract(extract, 20, seed=1)
    partition_extract(extract, tmp_path / "part", 5)
    partition_extract(extract, tmp_path / "part", 2)
    assert sorted(p.name for p in (tmp_path / "part").iterdir()) == [
        "bucket=0",
        "bucket=1",
        MANIFEST,
    ]
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    with pytest.raises(PublishError, match="not a partition"):
        partition_extract(extract, other, 2)
    assert (other / "keep.txt").exists()


def test_a_refused_extract_is_refused_by_the_partition_and_leaves_nothing(tmp_path: Path):
    extract = tmp_path / "extract"
    generate_extract(extract, 20, seed=1)
    patients = extract / "patients.csv"
    lines = patients.read_text().splitlines()
    patients.write_text("\n".join([lines[0] + ",email", *lines[1:]]) + "\n")
    with pytest.raises(ExtractRefused, match="identifier"):
        partition_extract(extract, tmp_path / "part", 4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["extract"]


def test_a_file_cut_short_is_refused_naming_it(tmp_path: Path):
    extract = tmp_path / "extract"
    generate_extract(extract, 40, seed=2, file_format="parquet")
    labs = extract / "labs.parquet"
    labs.write_bytes(labs.read_bytes()[: labs.stat().st_size // 2])
    with pytest.raises(ExtractRefused, match=r"labs\.parquet"):
        partition_extract(extract, tmp_path / "part", 4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["extract"]
