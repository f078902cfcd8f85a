"""What validation costs: `sigmd run` on one extract, with and without the GX suites.

Each variant runs as a whole process (imports included), alternating, `--repeat` times; the
script prints the median wall time of each and the ratio. The variant without the suites still
runs every polars row and table check (they are part of reading), so the difference is what the
Great Expectations suites, their import and their Data Docs cost.

    uv run python benchmarks/validation_cost.py --extract DIR [--repeat 3]

Make an extract with `uv run sigmd generate --out DIR --patients 160000` (about 5M lab rows).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WITHOUT_SUITES = """
import sys
from pipeline.run.engine import screen_extract
from pipeline.publish.publish import publish
result = screen_extract(sys.argv[1], suites=False)
publish(result, sys.argv[2])
"""


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extract", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="sigmd-bench-"))
    sigmd = shutil.which("sigmd") or "sigmd"
    times: dict[str, list[float]] = {"with suites": [], "without suites": []}
    try:
        for i in range(args.repeat):
            times["with suites"].append(
                timed(
                    [
                        sigmd,
                        "run",
                        "--extract",
                        str(args.extract),
                        "--db",
                        str(out / f"a{i}.duckdb"),
                    ]
                )
            )
            times["without suites"].append(
                timed(
                    [
                        sys.executable,
                        "-c",
                        WITHOUT_SUITES,
                        str(args.extract),
                        str(out / f"b{i}.duckdb"),
                    ]
                )
            )
    finally:
        shutil.rmtree(out, ignore_errors=True)
    with_s, without = (statistics.median(v) for v in times.values())
    print(
        f"with suites     {with_s:7.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times['with suites'])})"
    )
    print(
        f"without suites  {without:7.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times['without suites'])})"
    )
    print(f"validation adds {100 * (with_s / without - 1):.0f}% to the run time")


if __name__ == "__main__":
    main()
