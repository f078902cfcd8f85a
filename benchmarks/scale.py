"""How `sigmd run` scales with the extract (issues 6, 13): wall time and peak memory against
two peers.

For every size and file format, a synthetic canonical extract is made with `sigmd generate`
(about 31 lab rows per patient) and three whole processes, imports included, are timed:

- the floor, `benchmarks/floor.py`: polars scans every labs file as strings, keeps the three
  immunoglobulin LOINC codes of the project rules and collects, nothing else;
- the DuckDB SQL peer, `benchmarks/duckdb_peer.py`: one SQL statement reads the labs and
  patients, keeps the Ig codes, takes each patient-day's lowest values and counts the patients
  with a low and an isolated low IgM (codes, factor and limits from the project rules);
- `sigmd run --extract DIR --db TMP/x.duckdb`, with the venv's own `sigmd`.

Each child's wall time, CPU time and peak resident memory (its own `ru_maxrss` from `os.wait4`,
taken by a small launcher process so that the benchmark's own memory is not counted) are
measured; with `--repeat N` the three alternate N times and the medians are reported. The script
prints the machine and a markdown table (MiB = 2**20 bytes; run/floor and run/peer are
wall-time ratios).

    uv run python benchmarks/scale.py                  # 1M, 5M, 20M lab rows, CSV and Parquet
    uv run python benchmarks/scale.py --sizes 1M --formats csv,parquet --out scale-1M.md
    uv run python benchmarks/scale.py --sizes 100M --formats parquet --work /data/bench

Extracts are cached in `--work` (default: `sigmd-scale-bench` in the system temp dir) with a
marker file, so a re-run with the same size, format, seed and parts skips generation. Sizes
above `--part-rows` (default 20M) are generated in parts with different seeds, so no single
`sigmd generate` holds them, and combined as split files (`labs_01.parquet`, `labs_02.parquet`,
... for every table) with `patient_id` (and `specimen_id`) prefixed by the part so that
patients do not collide; combined extracts have no truth.csv.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from types import ModuleType
from typing import TypeVar

import polars as pl

FLOOR_SCRIPT = Path(__file__).resolve().parent / "floor.py"
PEER_SCRIPT = Path(__file__).resolve().parent / "duckdb_peer.py"
TABLES = ("labs", "patients", "medications", "diagnoses")
FORMATS = ("csv", "parquet")
# Average lab rows per generated patient at the default --labs-per-patient (measured: 30.9).
ROWS_PER_PATIENT = 30.9
# Columns rewritten with the part prefix when parts are combined (patient_id in every table).
PREFIXED = {"labs": ("patient_id", "specimen_id")}
T = TypeVar("T")
MARKER = "scale-benchmark.json"
MARKER_VERSION = 1
SUFFIXES = {"k": 1_000, "m": 1_000_000}


class ChildFailed(RuntimeError):
    """A timed or generating child process exited non-zero."""


@dataclass(frozen=True)
class Measurement:
    seconds: float
    peak_mib: float
    cpu_seconds: float = 0.0  # user + system time of the child: steadier than wall on a busy box


@dataclass(frozen=True)
class Prepared:
    """A generated extract folder and the lab rows actually written into it."""

    directory: Path
    lab_rows: int
    parts: int


@dataclass(frozen=True)
class Row:
    label: str
    file_format: str
    lab_rows: int
    floor: Measurement
    peer: Measurement
    run: Measurement

    @property
    def ratio(self) -> float:
        """`sigmd run` over the polars floor."""
        return self.run.seconds / self.floor.seconds

    @property
    def peer_ratio(self) -> float:
        """`sigmd run` over the DuckDB SQL peer."""
        return self.run.seconds / self.peer.seconds


# --- sizes and parts ------------------------------------------------------------------------


def parse_size(text: str) -> int:
    """'1M' -> 1_000_000, '200k' -> 200_000, '1.5M', '750'; ValueError otherwise."""
    cleaned = text.strip().replace("_", "")
    factor = SUFFIXES.get(cleaned[-1:].lower(), 1)
    rows = round(float(cleaned[:-1] if factor > 1 else cleaned) * factor)
    if rows < 1:
        raise ValueError(f"not a positive size: {text!r}")
    return rows


def size_label(rows: int) -> str:
    for suffix, factor in (("M", 1_000_000), ("k", 1_000)):
        if rows >= factor and rows % (factor // 10) == 0:
            return f"{rows / factor:g}{suffix}"
    return str(rows)


def plan_parts(rows: int, part_rows: int) -> list[int]:
    """Target lab rows of each part: as few parts as keep each at most `part_rows`, evenly."""
    if part_rows < 1:
        raise ValueError("part_rows must be positive")
    n_parts = max(1, math.ceil(rows / part_rows))
    base, extra = divmod(rows, n_parts)
    return [base + (1 if i < extra else 0) for i in range(n_parts)]


def patients_for(rows: int) -> int:
    return max(1, round(rows / ROWS_PER_PATIENT))


# --- generating and combining ---------------------------------------------------------------


def venv_script(name: str) -> str:
    """A console script of the running interpreter's environment (the venv's `sigmd`)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else shutil.which(name) or name


def generate_part(out: Path, patients: int, seed: int, file_format: str) -> None:
    """One `sigmd generate` call into `out`."""
    command = [venv_script("sigmd"), "generate", "--out", str(out), "--patients", str(patients)]
    command += ["--seed", str(seed), "--file-format", file_format]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ChildFailed(f"{' '.join(command)} exited {done.returncode}: {done.stderr[-2000:]}")


def scan(path: Path) -> pl.LazyFrame:
    if path.name.endswith(".parquet"):
        return pl.scan_parquet(path)
    return pl.scan_csv(path, infer_schema=False)


def sink(frame: pl.LazyFrame, path: Path) -> None:
    if path.name.endswith(".parquet"):
        frame.sink_parquet(path, compression="zstd")
    else:
        frame.sink_csv(path)


def part_prefix(index: int) -> str:
    return f"p{index:02d}-"


def prefixed(frame: pl.LazyFrame, prefix: str, columns: Sequence[str]) -> pl.LazyFrame:
    """The frame with `prefix` put before every non-null value of `columns`."""
    names = frame.collect_schema().names()
    return frame.with_columns(
        pl.concat_str(pl.lit(prefix), pl.col(c)).alias(c) for c in columns if c in names
    )


def combine_part(part_dir: Path, index: int, out: Path, file_format: str) -> None:
    """Stream every table of one part into `out` as `<table>_<index>.<format>`, ids prefixed."""
    for table in TABLES:
        source = part_dir / f"{table}.{file_format}"
        columns = PREFIXED.get(table, ("patient_id",))
        frame = prefixed(scan(source), part_prefix(index), columns)
        sink(frame, out / f"{table}_{index:02d}.{file_format}")


def table_files(directory: Path, table: str) -> list[Path]:
    """The files of one table of an extract, found as `sigmd run` finds them."""
    from pipeline.read.sources.files import discover

    return discover(directory, (table,))[table]


def lab_files(directory: Path) -> list[Path]:
    return table_files(directory, "labs")


def count_rows(files: list[Path]) -> int:
    frame = (
        pl.scan_parquet(files)
        if files[0].name.endswith(".parquet")
        else pl.scan_csv(files, infer_schema=False)
    )
    return int(frame.select(pl.len()).collect().item())


def build_extract(out: Path, parts: Sequence[int], file_format: str, seed: int) -> None:
    """Generate `out` in one `sigmd generate`, or in parts combined as split files."""
    if len(parts) == 1:
        generate_part(out, patients_for(parts[0]), seed, file_format)
        return
    out.mkdir(parents=True)
    for index, rows in enumerate(parts, start=1):
        part_dir = out.with_name(f"{out.name}.part{index:02d}")
        shutil.rmtree(part_dir, ignore_errors=True)
        log(f"  part {index}/{len(parts)}: ~{size_label(rows)} lab rows, seed {seed + index - 1}")
        generate_part(part_dir, patients_for(rows), seed + index - 1, file_format)
        combine_part(part_dir, index, out, file_format)
        shutil.rmtree(part_dir)


def prepare_extract(work: Path, rows: int, file_format: str, part_rows: int, seed: int) -> Prepared:
    """The cached extract of about `rows` lab rows, generated unless its marker matches."""
    parts = plan_parts(rows, part_rows)
    expected = {
        "version": MARKER_VERSION,
        "target_rows": rows,
        "format": file_format,
        "seed": seed,
        "parts": parts,
    }
    directory = work / f"{size_label(rows)}-{file_format}"
    marker = directory / MARKER
    if marker.exists():
        found = json.loads(marker.read_text())
        if all(found.get(k) == v for k, v in expected.items()):
            log(f"{directory.name}: cached ({found['lab_rows']:,} lab rows)")
            return Prepared(directory, int(found["lab_rows"]), len(parts))
    shutil.rmtree(directory, ignore_errors=True)
    building = directory.with_name(f"{directory.name}.building")
    shutil.rmtree(building, ignore_errors=True)
    log(f"{directory.name}: generating in {len(parts)} part(s) ...")
    start = time.perf_counter()
    build_extract(building, parts, file_format, seed)
    lab_rows = count_rows(lab_files(building))
    building.rename(directory)
    marker.write_text(json.dumps({**expected, "lab_rows": lab_rows}, indent=2) + "\n")
    log(f"{directory.name}: {lab_rows:,} lab rows in {time.perf_counter() - start:.0f} s")
    return Prepared(directory, lab_rows, len(parts))


# --- timing ---------------------------------------------------------------------------------


# Runs one command and reports its wall time and rusage as JSON to the file named first. The
# timed command is started by this small process, not by the benchmark itself: on Linux a child's
# `ru_maxrss` is at least its parent's resident size when it forked (exec keeps the forked copy's
# high-water mark), so a child forked from a benchmark that has just counted a 20M-row file would
# report the benchmark's 1.5 GB as its own peak. This launcher is about 10 MiB.
LAUNCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
seconds = time.perf_counter() - start
with open(sys.argv[1], "w") as out:
    json.dump({"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime,
               "maxrss_kib": usage.ru_maxrss}, out)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def measure(command: Sequence[str], log_path: Path) -> Measurement:
    """Wall time, CPU and peak RSS of one child process, through `LAUNCHER` (its own rusage)."""
    usage_path = log_path.with_name(log_path.name + ".usage.json")
    usage_path.unlink(missing_ok=True)
    with log_path.open("wb") as out:
        launcher = [sys.executable, "-c", LAUNCHER, str(usage_path), *command]
        done = subprocess.run(launcher, stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        tail = log_path.read_text(errors="replace")[-2000:]
        raise ChildFailed(f"{' '.join(command)} exited {done.returncode}:\n{tail}")
    usage = json.loads(usage_path.read_text())
    # ru_maxrss is KiB on Linux.
    return Measurement(usage["seconds"], usage["maxrss_kib"] / 1024, usage["cpu"])


def floor_command(directory: Path, codes: Sequence[str]) -> list[str]:
    files = [str(p) for p in lab_files(directory)]
    return [sys.executable, str(FLOOR_SCRIPT), ",".join(codes), *files]


def load_peer() -> ModuleType:
    """`benchmarks/duckdb_peer.py` as a module (for its `parameters`)."""
    spec = importlib.util.spec_from_file_location("duckdb_peer", PEER_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def peer_command(directory: Path, parameters: dict[str, str | float]) -> list[str]:
    command = [sys.executable, str(PEER_SCRIPT), "--parameters", json.dumps(parameters)]
    command += ["--labs", *[str(p) for p in table_files(directory, "labs")]]
    return [*command, "--patients", *[str(p) for p in table_files(directory, "patients")]]


def measure_run(directory: Path, db_root: Path, keep_db: bool) -> Measurement:
    """`sigmd run` into a fresh database folder."""
    db_dir = Path(tempfile.mkdtemp(prefix=f"{directory.name}-", dir=db_root))
    command = [venv_script("sigmd"), "run", "--extract", str(directory)]
    command += ["--db", str(db_dir / "x.duckdb")]
    try:
        return measure(command, db_dir / "run.log")
    finally:
        if keep_db:
            log(f"  kept {db_dir}")
        else:
            shutil.rmtree(db_dir, ignore_errors=True)


def median(values: Sequence[Measurement]) -> Measurement:
    return Measurement(
        statistics.median(m.seconds for m in values),
        statistics.median(m.peak_mib for m in values),
        statistics.median(m.cpu_seconds for m in values),
    )


@dataclass(frozen=True)
class Peers:
    """What the two peer processes need from the rules."""

    codes: list[str]
    parameters: dict[str, str | float]


def benchmark(
    prepared: Prepared, peers: Peers, repeat: int, db_root: Path, keep_db: bool
) -> tuple[Measurement, Measurement, Measurement]:
    """Floor, DuckDB peer and run in turn, `repeat` times each; their medians."""
    floors: list[Measurement] = []
    duck: list[Measurement] = []
    runs: list[Measurement] = []
    for i in range(repeat):
        command = floor_command(prepared.directory, peers.codes)
        floors.append(measure(command, db_root / "floor.log"))
        command = peer_command(prepared.directory, peers.parameters)
        duck.append(measure(command, db_root / "peer.log"))
        runs.append(measure_run(prepared.directory, db_root, keep_db))
        log(
            f"  {i + 1}/{repeat}: floor {describe(floors[-1])}, peer {describe(duck[-1])},"
            f" run {describe(runs[-1])} (run/floor {runs[-1].seconds / floors[-1].seconds:.1f},"
            f" run/peer {runs[-1].seconds / duck[-1].seconds:.1f}; load {load():.1f})"
        )
    return median(floors), median(duck), median(runs)


def describe(m: Measurement) -> str:
    return f"{m.seconds:.2f} s ({m.cpu_seconds:.1f} s CPU) {m.peak_mib:.0f} MiB"


def load() -> float:
    """The 1-minute load average (other processes compete for the same cores)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


# --- report ---------------------------------------------------------------------------------


def proc_field(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        pass
    return None


def machine() -> list[str]:
    mem_kib = proc_field("/proc/meminfo", "MemTotal")
    mem = f"{int(mem_kib.split()[0]) / 1024**2:.1f} GiB" if mem_kib else "unknown"
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        f"nproc: {cpus}",
        f"RAM: {mem}",
        f"CPU: {proc_field('/proc/cpuinfo', 'model name') or platform.processor() or 'unknown'}",
        f"python {platform.python_version()}, polars {pl.__version__}, "
        f"duckdb {version('duckdb')}, sigmd {version('sigmd')}",
    ]


def table(rows: Sequence[Row]) -> list[str]:
    lines = [
        "| size | format | lab rows | floor s | floor peak MiB | peer s | peer peak MiB "
        "| run s | run peak MiB | run/floor | run/peer |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.label} | {r.file_format} | {r.lab_rows:,} | {r.floor.seconds:.2f} "
            f"| {r.floor.peak_mib:.0f} | {r.peer.seconds:.2f} | {r.peer.peak_mib:.0f} "
            f"| {r.run.seconds:.2f} | {r.run.peak_mib:.0f} | {r.ratio:.1f} | {r.peer_ratio:.1f} |"
        )
    return lines


def cpu_table(rows: Sequence[Row]) -> list[str]:
    """User + system CPU seconds of each process: less sensitive to other load than wall time."""
    lines = [
        "| size | format | floor CPU s | peer CPU s | run CPU s | run/floor CPU | run/peer CPU |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        floor, peer, run = r.floor.cpu_seconds, r.peer.cpu_seconds, r.run.cpu_seconds
        lines.append(
            f"| {r.label} | {r.file_format} | {floor:.1f} | {peer:.1f} | {run:.1f} "
            f"| {run / floor if floor else math.nan:.1f} | {run / peer if peer else math.nan:.1f} |"
        )
    return lines


def report(rows: Sequence[Row], repeat: int) -> str:
    what = "one run each" if repeat == 1 else f"medians of {repeat} alternating runs"
    lines = [f"- {line}" for line in machine()]
    lines += [f"- load average at the end: {load():.1f}"]
    lines += ["", f"Whole processes, {what}.", "", *table(rows), "", *cpu_table(rows)]
    return "\n".join(lines) + "\n"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- command line ---------------------------------------------------------------------------


def comma_list(parse: Callable[[str], T]) -> Callable[[str], list[T]]:
    """An argparse type for a comma-separated list of `parse`d items."""

    def convert(text: str) -> list[T]:
        try:
            return [parse(item) for item in text.split(",") if item.strip()]
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def file_format(text: str) -> str:
    if text.strip() not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {text!r}")
    return text.strip()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", type=comma_list(parse_size), default="1M,5M,20M")
    parser.add_argument("--formats", type=comma_list(file_format), default="csv,parquet")
    parser.add_argument("--repeat", type=int, default=1, help="alternating floor/peer/run")
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "sigmd-scale-bench"
    )
    parser.add_argument(
        "--part-rows",
        type=parse_size,
        default="20M",
        help="largest extract one `sigmd generate` makes; bigger ones are made in parts",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the report to this markdown file")
    parser.add_argument("--keep-db", action="store_true", help="keep the databases of the runs")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if not args.sizes or not args.formats:
        parser.error("--sizes and --formats need at least one item each")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    from pipeline.rules import load_rules

    rules = load_rules(None)
    peers = Peers(list(rules.loinc.values()), load_peer().parameters(rules))
    work: Path = args.work.resolve()
    db_root = work / "db"
    db_root.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    for size in args.sizes:
        for fmt in args.formats:
            prepared = prepare_extract(work, size, fmt, args.part_rows, args.seed)
            floor, peer, run = benchmark(prepared, peers, args.repeat, db_root, args.keep_db)
            rows.append(Row(size_label(size), fmt, prepared.lab_rows, floor, peer, run))
    text = report(rows, args.repeat)
    print(text, end="")
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
