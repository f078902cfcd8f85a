"""The fixed cost of `sigmd run` on a small extract, by phase (issue 13).

A small synthetic extract (`sigmd generate --patients 46`) is screened by whole processes, in
turn, `--repeat` times:

- `python -c pass`: the interpreter's own start-up;
- `sigmd run` as shipped: wall time, CPU and peak memory (the Great Expectations import runs in a
  background thread, overlapping the reading);
- the same work (`pipeline.cli.screen_and_publish`) in one process with its phases timed one
  after the other: imports of polars, DuckDB and the pipeline; the Great Expectations import
  (waited for, not overlapped); the three GX suites (contexts, checkpoints) without their Data
  Docs; the Data Docs build; publishing the database; and the rest (reading, checks, screening).
  Start-up and exit are the process's wall and CPU time minus what it measured itself. The phases add up to more
  than the shipped run's wall time by the overlap the shipped run gains.

    uv run python benchmarks/fixed_cost.py                 # 46 patients, 3 repeats
    uv run python benchmarks/fixed_cost.py --patients 46 --repeat 5 --out fixed-cost.md

The extract and the databases live in `--work` (default: `sigmd-fixed-cost` in the temp dir).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

PHASES = (
    "start-up and exit",
    "imports",
    "GX import",
    "reading and screening",
    "suites",
    "Data Docs",
)
PHASES += ("publish",)


# --- the timed child --------------------------------------------------------------------------


def cpu_seconds() -> float:
    """User + system CPU of this process so far, every thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def clock() -> tuple[float, float]:
    return time.perf_counter(), cpu_seconds()


def since(start: tuple[float, float]) -> tuple[float, float]:
    now = clock()
    return now[0] - start[0], now[1] - start[1]


def timed_calls(owner: Any, name: str, spent: list[float]) -> None:
    """Wrap `owner.name` so that the wall and CPU seconds of every call add to `spent`."""
    original: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = clock()
        try:
            return original(*args, **kwargs)
        finally:
            wall, cpu = since(start)
            spent[0] += wall
            spent[1] += cpu

    setattr(owner, name, wrapper)


def phases(extract: Path, db: Path) -> dict[str, tuple[float, float]]:
    """Run `screen_and_publish` once, timing each phase in sequence: (wall, CPU) seconds."""
    seconds: dict[str, tuple[float, float]] = {}
    start = clock()
    import duckdb  # noqa: F401 - imported to be timed
    import polars  # noqa: F401 - imported to be timed

    from pipeline import cli
    from pipeline.publish import publish
    from pipeline.run import engine  # noqa: F401 - imported to be timed
    from pipeline.validate import report, suites  # noqa: F401 - imported to be timed
    from pipeline.validate.gx_import import import_great_expectations

    seconds["imports"] = since(start)
    start = clock()
    import_great_expectations()
    seconds["GX import"] = since(start)
    from great_expectations.data_context.data_context.abstract_data_context import (
        AbstractDataContext,
    )

    in_suites, in_docs, in_publish = [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]
    timed_calls(suites, "run_suite", in_suites)
    timed_calls(AbstractDataContext, "build_data_docs", in_docs)
    timed_calls(publish, "publish", in_publish)
    start = clock()
    cli.screen_and_publish(extract, db)
    total = since(start)
    seconds["suites"] = (in_suites[0] - in_docs[0], in_suites[1] - in_docs[1])
    seconds["Data Docs"] = (in_docs[0], in_docs[1])
    seconds["publish"] = (in_publish[0], in_publish[1])
    seconds["reading and screening"] = (
        total[0] - in_suites[0] - in_publish[0],
        total[1] - in_suites[1] - in_publish[1],
    )
    return seconds


# --- the parent -------------------------------------------------------------------------------


def run_child(command: Sequence[str]) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds, peak MiB and stdout of one whole process."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert child.stdout is not None
    output = child.stdout.read().decode()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, output


def sigmd() -> str:
    candidate = Path(sys.executable).parent / "sigmd"
    return str(candidate) if candidate.exists() else shutil.which("sigmd") or "sigmd"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--patients", type=int, default=46)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "sigmd-fixed-cost"
    )
    parser.add_argument("--out", type=Path, help="also write the report to this markdown file")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(phases(*args.child)))
        return
    work: Path = args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    extract = work / "extract"
    command = [sigmd(), "generate", "--out", str(extract), "--patients", str(args.patients)]
    subprocess.run([*command, "--seed", str(args.seed)], check=True, capture_output=True)
    python: list[float] = []
    shipped: list[tuple[float, float, float]] = []
    timed: list[dict[str, tuple[float, float]]] = []
    for i in range(args.repeat):
        python.append(run_child([sys.executable, "-c", "pass"])[0])
        db = work / f"run{i}" / "x.duckdb"
        db.parent.mkdir()
        shipped.append(run_child([sigmd(), "run", "--extract", str(extract), "--db", str(db)])[:3])
        db = work / f"phases{i}" / "x.duckdb"
        db.parent.mkdir()
        command = [sys.executable, __file__, "--child", str(extract), str(db)]
        wall, cpu, _, output = run_child(command)
        measured = {k: tuple(v) for k, v in json.loads(output.strip().splitlines()[-1]).items()}
        start_up = (
            wall - sum(w for w, _ in measured.values()),
            cpu - sum(c for _, c in measured.values()),
        )
        timed.append({"start-up and exit": start_up, **measured, "total": (wall, cpu)})
        print(
            f"{i + 1}/{args.repeat}: run {shipped[-1][0]:.2f} s, phases {wall:.2f} s",
            file=sys.stderr,
        )
    text = report(args.patients, python, shipped, timed)
    print(text, end="")
    if args.out:
        args.out.write_text(text)


def report(
    patients: int,
    python: list[float],
    shipped: list[tuple[float, float, float]],
    timed: list[dict[str, tuple[float, float]]],
) -> str:
    med = statistics.median
    lines = [
        f"{patients}-patient extract, medians of {len(shipped)} runs "
        f"(1-minute load average at the end: {os.getloadavg()[0]:.1f}).",
        "",
        f"- `python -c pass`: {med(python):.2f} s",
        f"- `sigmd run` as shipped: {med(s[0] for s in shipped):.2f} s wall, "
        f"{med(s[1] for s in shipped):.2f} s CPU, {med(s[2] for s in shipped):.0f} MiB peak",
        "",
        "| phase (in sequence, one process) | wall s | CPU s |",
        "|---|---:|---:|",
    ]
    for phase in (*PHASES, "total"):
        wall = med(t[phase][0] for t in timed)
        cpu = med(t[phase][1] for t in timed)
        lines.append(f"| {phase} | {wall:.2f} | {cpu:.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
