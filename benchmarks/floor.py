"""The floor of issue 6: the least any screening must do, as its own process.

Scan every labs file of an extract as strings, keep the immunoglobulin rows and collect them.
Only polars is imported, so the process measures polars' start-up plus one pass over the labs.

    python benchmarks/floor.py 2472-9,2465-3,2458-8 labs_01.parquet labs_02.parquet ...

`benchmarks/scale.py` runs it; the codes come from the project rules, passed on the command line.
"""

from __future__ import annotations

import sys

import polars as pl


def main(argv: list[str]) -> None:
    codes, files = argv[0].split(","), argv[1:]
    if files[0].lower().endswith(".parquet"):
        labs = pl.scan_parquet(files)
    else:
        labs = pl.scan_csv(files, infer_schema=False)
    kept = labs.filter(pl.col("test_code").is_in(codes)).collect()
    print(f"{kept.height} immunoglobulin rows")


if __name__ == "__main__":
    main(sys.argv[1:])
