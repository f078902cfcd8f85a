"""The DuckDB SQL peer of issue 13: the least a screen costs, written as an analyst would.

One process, one DuckDB SQL statement (`sql/benchmarks/duckdb_peer.sql`): read the labs and
patients files as text, keep the three immunoglobulin LOINC codes, strip `<`/`>` from values,
convert g/L to mg/dL, take each patient-day's lowest IgM, IgG and IgA, join the patients, and
count the patients with an IgM, with a low IgM, and with a low IgM beside an IgG and an IgA
within their limits. No validation, no exclusions, no persistence, no database written.

Only DuckDB is imported, so the process measures DuckDB's start-up plus the statement. The
codes, the g/L factor and the adult limits come from the project rules: `benchmarks/scale.py`
builds them with `parameters(load_rules())` and passes them as JSON.

    python benchmarks/duckdb_peer.py --parameters '{"igm_code": "2472-9", ...}' \\
        --labs labs_01.csv labs_02.csv --patients patients.csv
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

SQL = Path(__file__).resolve().parents[1] / "sql" / "benchmarks" / "duckdb_peer.sql"
ANALYTES = ("igm", "igg", "iga")
# The unit the peer converts, as the rules spell its key (lower case, no spaces).
GRAMS_PER_LITRE = "g/l"


def parameters(rules: Any) -> dict[str, str | float]:
    """The statement's bound parameters from a `pipeline.rules.Rules`: codes, factor, limits.

    The limits are those of the open-ended (adult) age band of the reference-interval table.
    """
    found: dict[str, str | float] = {f"{a}_code": rules.loinc[a] for a in ANALYTES}
    units = rules.units.filter(
        (rules.units["analyte"] == "igm") & (rules.units["unit_key"] == GRAMS_PER_LITRE)
    )
    found["gl_unit"] = GRAMS_PER_LITRE
    found["gl_factor"] = float(units["factor_to_mg_dl"].item())
    bands = rules.reference_intervals
    for analyte in ANALYTES:
        adult = bands.filter((bands["analyte"] == analyte) & bands["age_to_months"].is_null()).row(
            0, named=True
        )
        found[f"{analyte}_low"] = float(adult["lower_mg_dl"])
        if analyte != "igm":
            found[f"{analyte}_high"] = float(adult["upper_mg_dl"])
    return found


def scan(con: duckdb.DuckDBPyConnection, files: Sequence[str]) -> duckdb.DuckDBPyRelation:
    """The files of one table as text columns (Parquet as stored)."""
    if files[0].lower().endswith(".parquet"):
        return con.read_parquet(list(files))
    return con.read_csv(list(files), all_varchar=True)


def peer_counts(
    labs: Sequence[str], patients: Sequence[str], params: dict[str, str | float]
) -> dict[str, int]:
    """Run the peer statement; patients with an IgM, a low IgM, an isolated low IgM."""
    con = duckdb.connect()
    try:
        scan(con, labs).create_view("labs_file")
        scan(con, patients).create_view("patients_file")
        cursor = con.execute(SQL.read_text(encoding="utf-8"), params)
        names = [d[0] for d in cursor.description or ()]
        row = cursor.fetchone()
        assert row is not None  # an aggregate without group by returns one row
        return {name: int(value) for name, value in zip(names, row, strict=True)}
    finally:
        con.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--parameters", required=True, help="JSON of the bound parameters")
    parser.add_argument("--labs", nargs="+", required=True)
    parser.add_argument("--patients", nargs="+", required=True)
    args = parser.parse_args(argv)
    counts = peer_counts(args.labs, args.patients, json.loads(args.parameters))
    print(" ".join(f"{name}={value}" for name, value in counts.items()))


if __name__ == "__main__":
    main()
