"""Patient buckets (issue 14): wall time and peak memory of `sigmd run --buckets N`.

For one synthetic canonical extract (made and cached as `benchmarks/scale.py` does), each N of
`--buckets` runs `sigmd run --extract DIR --db TMP/x.duckdb --buckets N` as a whole process and
records its wall time and peak resident memory (`ru_maxrss` from `os.wait4`), then reads the
run's own step timings from `audit.runs`: the partition (its throughput in rows per second),
the screening of all buckets (and so the time per bucket) and the merge with its checks.

`--duckdb-copy` also times, for comparison, DuckDB's `COPY ... TO dir (PARTITION_BY (bucket))`
of the labs table with the same SHA-256 bucket, in a child process: the engine the issue names
as the alternative to sigmd's own writer (polars batches into one Parquet writer per bucket).

`--stages N` also runs the DAG's bucketed path with N buckets as separate processes, one per
task, as Airflow workers run them (`pipeline.run.stages`: partition, each screen_bucket,
merge_and_check, publish): the wall time and peak memory of each task, which is what sizes a
worker.

    uv run python benchmarks/buckets.py --size 1M                       # a quick look
    uv run python benchmarks/buckets.py --size 100M --buckets 1,8,32 --duckdb-copy --out b.md
    uv run python benchmarks/buckets.py --size 20M --buckets 1 --stages 8     # per task
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale

COPY_SCRIPT = """
import sys, duckdb
files, out, n = sys.argv[1].split(","), sys.argv[2], int(sys.argv[3])
bucket = f"(('0x' || left(sha256(trim(patient_id)), 16))::UBIGINT % {n})::INTEGER"
duckdb.sql(
    f"copy (select *, {bucket} as bucket from read_parquet({files!r}, filename = true)) "
    f"to '{out}' (format parquet, partition_by (bucket))"
)
"""

STAGE_SCRIPT = """
import json, sys
from pipeline.run import stages
name, args = sys.argv[1], json.loads(sys.argv[2])
getattr(stages, name)(*args)
"""


def run_steps(db: Path) -> dict[str, float]:
    """The step timings the run stored in audit.runs (seconds per step name)."""
    with duckdb.connect(str(db), read_only=True) as con:
        [(timings,)] = con.sql(
            "select timings from audit.runs order by run_number desc limit 1"
        ).fetchall()
    return {t["step"]: float(t["seconds"]) for t in timings}


def measure_buckets(
    directory: Path, buckets: int, root: Path
) -> tuple[scale.Measurement, dict[str, float]]:
    db_dir = Path(tempfile.mkdtemp(prefix=f"buckets-{buckets}-", dir=root))
    command = [scale.venv_script("sigmd"), "run", "--extract", str(directory)]
    command += ["--db", str(db_dir / "x.duckdb"), "--buckets", str(buckets)]
    try:
        measured = scale.measure(command, db_dir / "run.log")
        return measured, run_steps(db_dir / "x.duckdb")
    finally:
        shutil.rmtree(db_dir, ignore_errors=True)


def measure_duckdb_copy(directory: Path, buckets: int, root: Path) -> scale.Measurement:
    files = [str(p) for p in scale.lab_files(directory)]
    out = Path(tempfile.mkdtemp(prefix="duckdb-copy-", dir=root))
    command = [sys.executable, "-c", COPY_SCRIPT, ",".join(files), str(out / "labs"), str(buckets)]
    try:
        return scale.measure(command, root / "duckdb-copy.log")
    finally:
        shutil.rmtree(out, ignore_errors=True)


def measure_stages(
    directory: Path, buckets: int, root: Path
) -> list[tuple[str, scale.Measurement]]:
    """The DAG's bucketed tasks, each in its own process: (task, wall time and peak memory)."""
    work = Path(tempfile.mkdtemp(prefix=f"stages-{buckets}-", dir=root))
    db = str(work / "x.duckdb")
    log_path = work / "stage.log"

    def stage(name: str, *args: object) -> scale.Measurement:
        command = [sys.executable, "-c", STAGE_SCRIPT, name, json.dumps(args)]
        return scale.measure(command, log_path)

    try:
        work_dir = str(work / "run")
        found = [("partition", stage("partition", str(directory), work_dir, buckets))]
        dirs = []
        for k in range(buckets):
            found.append((f"screen_bucket {k}", stage("screen_bucket", work_dir, k)))
            dirs.append(str(work / "run" / "buckets" / f"bucket={k}"))
        found.append(("merge_and_check", stage("merge_and_check", work_dir, db, dirs)))
        found.append(("publish", stage("publish", work_dir, db)))
        return found
    finally:
        shutil.rmtree(work, ignore_errors=True)


def stages_report(buckets: int, found: Sequence[tuple[str, scale.Measurement]]) -> list[str]:
    screens = [m for name, m in found if name.startswith("screen_bucket")]
    others = {name: m for name, m in found if not name.startswith("screen_bucket")}
    lines = [
        "",
        f"DAG tasks with {buckets} buckets, each its own process:",
        "",
        "| task | wall s | peak MiB |",
        "|---|---:|---:|",
        f"| partition | {others['partition'].seconds:.1f} | {others['partition'].peak_mib:.0f} |",
        f"| screen_bucket, mean of {len(screens)} (max wall, max peak) "
        f"| {sum(m.seconds for m in screens) / len(screens):.1f} "
        f"({max(m.seconds for m in screens):.1f}) "
        f"| {max(m.peak_mib for m in screens):.0f} |",
    ]
    for name in ("merge_and_check", "publish"):
        lines.append(f"| {name} | {others[name].seconds:.1f} | {others[name].peak_mib:.0f} |")
    return lines


def report(
    prepared: scale.Prepared,
    rows: Sequence[tuple[int, scale.Measurement, dict[str, float]]],
    copies: Sequence[tuple[int, scale.Measurement]],
    stages: tuple[int, Sequence[tuple[str, scale.Measurement]]] | None = None,
) -> str:
    lines = [*scale.machine(), ""]
    lines.append(f"Extract: {prepared.directory.name}, {prepared.lab_rows:,} lab rows")
    lines += [
        "",
        "| buckets | wall s | peak MiB | partition s | partition rows/s | screen s "
        "| s per bucket | merge s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, m, steps in rows:
        part = steps.get("partition")
        screen = steps.get("screen buckets")
        merge = steps.get("merge buckets")
        cells = [str(n), f"{m.seconds:.1f}", f"{m.peak_mib:.0f}"]
        if part is None or screen is None or merge is None:  # --buckets 1: the whole run
            cells += ["–", "–", f"{m.seconds:.1f}", f"{m.seconds:.1f}", "–"]
        else:
            rate = prepared.lab_rows / part if part else 0.0
            cells += [f"{part:.1f}", f"{rate:,.0f}", f"{screen:.1f}", f"{screen / n:.2f}"]
            cells.append(f"{merge:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    if copies:
        lines += ["", "| DuckDB COPY PARTITION_BY, labs only, buckets | wall s | peak MiB |"]
        lines.append("|---:|---:|---:|")
        lines += [f"| {n} | {m.seconds:.1f} | {m.peak_mib:.0f} |" for n, m in copies]
    if stages:
        lines += stages_report(*stages)
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=scale.parse_size, default=scale.parse_size("1M"))
    parser.add_argument("--format", type=scale.file_format, default="parquet")
    parser.add_argument(
        "--buckets", type=scale.comma_list(int), default=[1, 8, 32], help="e.g. 1,8,32"
    )
    parser.add_argument("--duckdb-copy", action="store_true", help="also time DuckDB's COPY")
    parser.add_argument(
        "--stages", type=int, metavar="N", help="also time the DAG's tasks with N buckets"
    )
    parser.add_argument("--part-rows", type=scale.parse_size, default=scale.parse_size("20M"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "sigmd-scale-bench"
    )
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    prepared = scale.prepare_extract(args.work, args.size, args.format, args.part_rows, args.seed)
    root = Path(tempfile.mkdtemp(prefix="buckets-runs-", dir=args.work))
    rows, copies = [], []
    stages = None
    try:
        for n in args.buckets:
            measured, steps = measure_buckets(prepared.directory, n, root)
            scale.log(f"  buckets {n}: {measured.seconds:.1f} s, {measured.peak_mib:.0f} MiB")
            scale.log("    " + json.dumps(steps))
            rows.append((n, measured, steps))
            if args.duckdb_copy and n > 1 and args.format == "parquet":
                copied = measure_duckdb_copy(prepared.directory, n, root)
                scale.log(f"  duckdb copy {n}: {copied.seconds:.1f} s, {copied.peak_mib:.0f} MiB")
                copies.append((n, copied))
        if args.stages:
            found = measure_stages(prepared.directory, args.stages, root)
            for name, m in found:
                scale.log(f"  task {name}: {m.seconds:.1f} s, {m.peak_mib:.0f} MiB")
            stages = (args.stages, found)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    text = report(prepared, rows, copies, stages)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
