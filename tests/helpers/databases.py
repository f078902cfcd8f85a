"""Compare published cohort databases: every table, without the columns that time a run."""

from __future__ import annotations

from pathlib import Path

import duckdb

# Columns that time or name one attempt: the only ones two runs of the same inputs may differ in
# (attempt_id is a fresh random id per attempt; docs/reliability.md).
TIMING_COLUMNS = frozenset(
    {"started_at", "finished_at", "duration_seconds", "timings", "attempt_id"}
)


def all_tables(db: Path) -> dict[str, list[tuple]]:
    """Every table of every schema, its rows in a fixed order, without the timing columns."""
    with duckdb.connect(str(db), read_only=True) as con:
        names = con.sql("select schema_name, table_name from duckdb_tables() order by all")
        out = {}
        for schema, table in names.fetchall():
            columns = con.execute(
                "select column_name from duckdb_columns() where schema_name = ? "
                "and table_name = ? order by column_index",
                [schema, table],
            ).fetchall()
            select = ", ".join(f'"{c}"' for (c,) in columns if c not in TIMING_COLUMNS)
            query = f'select {select} from "{schema}"."{table}" order by all'
            out[f"{schema}.{table}"] = con.sql(query).fetchall()
    return out
