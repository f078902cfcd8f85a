"""benchmarks/scale.py: size parsing, part planning, and combining generated parts."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "scale.py"


def load_scale() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmark_scale", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


scale = load_scale()


def read_all(files: list[Path]) -> pl.DataFrame:
    if files[0].name.endswith(".parquet"):
        return pl.read_parquet(files)
    return pl.concat(pl.read_csv(f, infer_schema=False) for f in files)


@pytest.mark.parametrize(
    ("text", "rows"),
    [("1M", 1_000_000), ("200k", 200_000), ("1.5M", 1_500_000), ("750", 750), (" 20m", 20 * 10**6)],
)
def test_parse_size(text: str, rows: int) -> None:
    assert scale.parse_size(text) == rows


@pytest.mark.parametrize("text", ["", "M", "abc", "0", "-1k"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        scale.parse_size(text)


def test_size_label() -> None:
    assert [scale.size_label(n) for n in (10**6, 2 * 10**7, 200_000, 1_500_000, 1234)] == [
        "1M",
        "20M",
        "200k",
        "1.5M",
        "1234",
    ]


def test_plan_parts() -> None:
    assert scale.plan_parts(20_000_000, 20_000_000) == [20_000_000]
    assert scale.plan_parts(200_000, 100_000) == [100_000, 100_000]
    assert scale.plan_parts(100_000_000, 20_000_000) == [20_000_000] * 5
    assert scale.plan_parts(250, 100) == [84, 83, 83]
    assert scale.plan_parts(10, 100) == [10]


def test_parse_args_lists() -> None:
    args = scale.parse_args(["--sizes", "200k,1M", "--formats", "parquet", "--part-rows", "100k"])
    assert args.sizes == [200_000, 1_000_000]
    assert args.formats == ["parquet"]
    assert args.part_rows == 100_000
    with pytest.raises(SystemExit):
        scale.parse_args(["--formats", "xlsx"])


def test_combined_parts_keep_rows_and_separate_patients(tmp_path: Path) -> None:
    parts = [tmp_path / "part1", tmp_path / "part2"]
    for seed, part in enumerate(parts):
        scale.generate_part(part, 300, seed, "parquet")
    out = tmp_path / "combined"
    out.mkdir()
    for index, part in enumerate(parts, start=1):
        scale.combine_part(part, index, out, "parquet")

    assert not (out / "truth.csv").exists()
    assert scale.lab_files(out) == [out / "labs_01.parquet", out / "labs_02.parquet"]
    part_rows = [scale.count_rows([part / "labs.parquet"]) for part in parts]
    assert scale.count_rows(scale.lab_files(out)) == sum(part_rows)

    patients = pl.read_parquet(sorted(out.glob("patients_*.parquet")))
    assert patients["patient_id"].is_unique().all()
    assert patients.height == sum(pl.read_parquet(p / "patients.parquet").height for p in parts)
    ids = [set(pl.read_parquet(f)["patient_id"].drop_nulls()) for f in scale.lab_files(out)]
    assert ids[0].isdisjoint(ids[1])
    assert all(i.startswith("p01-") for i in ids[0]) and all(i.startswith("p02-") for i in ids[1])
    for table in scale.TABLES:
        files = sorted(out.glob(f"{table}_*.parquet"))
        assert len(files) == 2
        assert set(read_all(files)["patient_id"].drop_nulls()) <= set(patients["patient_id"])


def test_prepare_extract_in_parts_is_cached(tmp_path: Path) -> None:
    prepared = scale.prepare_extract(tmp_path, 18_000, "csv", part_rows=9_000, seed=3)
    assert prepared.parts == 2
    names = sorted(p.name for p in prepared.directory.iterdir())
    assert names == [
        *(f"{t}_{i:02d}.csv" for t in sorted(scale.TABLES) for i in (1, 2)),
        scale.MARKER,
    ]
    labs = read_all(scale.lab_files(prepared.directory))
    assert labs.height == prepared.lab_rows
    marker = json.loads((prepared.directory / scale.MARKER).read_text())
    assert marker["lab_rows"] == prepared.lab_rows and marker["parts"] == [9_000, 9_000]

    stamp = (prepared.directory / "labs_01.csv").stat().st_mtime_ns
    again = scale.prepare_extract(tmp_path, 18_000, "csv", part_rows=9_000, seed=3)
    assert again == prepared
    assert (prepared.directory / "labs_01.csv").stat().st_mtime_ns == stamp


def test_a_childs_peak_memory_is_its_own_not_the_benchmarks(tmp_path: Path) -> None:
    # On Linux a child forked by a large process reports that process's size as its own peak.
    ballast = bytearray(400 * 2**20)  # 400 MiB, touched below so that it is resident
    ballast[:: 2**12] = b"x" * len(ballast[:: 2**12])
    measured = scale.measure([sys.executable, "-c", "print('hello')"], tmp_path / "child.log")
    assert measured.peak_mib < 200
    assert measured.cpu_seconds >= 0
    assert (tmp_path / "child.log").read_text().strip() == "hello"
    del ballast


def test_a_failing_child_is_reported_with_its_output(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "import sys; print('broken'); sys.exit(3)"]
    with pytest.raises(scale.ChildFailed, match="exited 3"):
        scale.measure(command, tmp_path / "child.log")
