"""Publishing: the cohort database's tables and comments, its run history, and atomic replacement."""

from __future__ import annotations

import logging
import re
import struct
import subprocess
import sys
import textwrap
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from pipeline.errors import PublishError
from pipeline.publish import publish as publish_module
from pipeline.publish.lock import building_path, new_attempt_id
from pipeline.publish.publish import STORAGE_COMPATIBILITY_VERSION, publish
from pipeline.publish.sql import SQL_DIRS, load_comments, load_sql, sql_dir
from pipeline.result import STATUSES

REPO = Path(__file__).resolve().parents[2]

TABLES = {
    "cohort.screening",
    "cohort.ig_results",
    "cohort.exclusions",
    "cohort.attrition",
    "cohort.omop_cohort",
    "cohort.panels",
    "cohort.persistence",
    "cohort.status_changes",
    "cohort.status_history",
    "audit.runs",
    "audit.row_counts",
    "audit.ignored",
    "audit.validation",
    "audit.quarantine",
    "audit.deliveries",
}

# Storage format numbers DuckDB 1.4 reads (a newer file fails there with "we can only read
# versions between 64 and 67"); DuckDB 2.0's own format is 999.
DUCKDB_1_4_READABLE = range(64, 68)


def query(db: Path, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params).fetchall()


def frame(db: Path, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(sql).pl()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "published" / "sigmd.duckdb"


def test_publish_creates_every_table_and_the_missing_folder(make_result, db):
    assert publish(make_result(), db) == 1

    tables = query(db, "select schema_name || '.' || table_name from duckdb_tables()")
    assert {name for (name,) in tables} == TABLES


def test_every_table_and_column_has_a_comment(make_result, db):
    publish(make_result(), db)

    tables = query(db, "select table_name, comment from duckdb_tables()")
    columns = query(
        db,
        "select table_name, column_name, comment from duckdb_columns() "
        "where schema_name in ('cohort', 'audit')",
    )
    assert len(columns) > 50
    assert [t for t, comment in tables if not (comment or "").strip()] == []
    assert [(t, c) for t, c, comment in columns if not (comment or "").strip()] == []


def test_comments_file_lists_exactly_the_published_columns_in_order(make_result, db):
    publish(make_result(), db)

    published = query(
        db,
        "select schema_name || '.' || table_name, list(column_name order by column_index) "
        "from duckdb_columns() where schema_name in ('cohort', 'audit') group by all",
    )
    documented = {
        f"{schema}.{table}": list(comments["columns"])
        for schema, tables in load_comments().items()
        for table, comments in tables.items()
    }
    assert dict(published) == documented


def test_file_is_in_the_storage_format_of_duckdb_1_4(make_result, db):
    publish(make_result(), db)

    # DuckDB's main header: an 8-byte checksum, the magic "DUCK", then the storage format number.
    header = db.read_bytes()[:20]
    assert header[8:12] == b"DUCK"
    (format_number,) = struct.unpack("<Q", header[12:20])
    assert format_number in DUCKDB_1_4_READABLE
    [(tags,)] = query(
        db, "select tags from duckdb_databases() where database_name = current_database()"
    )
    assert tags["storage_version"].startswith(STORAGE_COMPATIBILITY_VERSION)


def test_publishing_twice_numbers_the_runs_and_gives_the_same_screening(make_result, db):
    first = make_result()
    assert publish(first, db) == 1
    screening_1 = frame(db, "select * from cohort.screening")
    assert publish(make_result(), db) == 2

    assert query(db, "select run_number, run_id from audit.runs order by run_number") == [
        (1, first.run_id),
        (2, first.run_id),
    ]
    assert frame(db, "select * from cohort.screening").equals(screening_1)
    assert screening_1["patient_id"].to_list() == ["p1", "p2", "p3", "p4", "p5", "p6"]


def test_history_is_kept_and_cohort_tables_hold_the_latest_run(make_result, db):
    publish(make_result(run_id="run-a"), db)
    publish(make_result(run_id="run-b"), db)
    publish(make_result(run_id="run-c"), db)

    assert query(db, "select run_number, run_id from audit.runs order by all") == [
        (1, "run-a"),
        (2, "run-b"),
        (3, "run-c"),
    ]
    assert query(
        db,
        "select run_number, run_id, table_name, read, used, quarantined, ignored "
        "from audit.row_counts where table_name = 'labs' order by all",
    ) == [
        (1, "run-a", "labs", 17, 13, 1, 3),
        (2, "run-b", "labs", 17, 13, 1, 3),
        (3, "run-c", "labs", 17, 13, 1, 3),
    ]
    assert query(
        db, "select run_number, count(*), sum(rows) from audit.ignored group by 1 order by 1"
    ) == [(1, 2, 3), (2, 2, 3), (3, 2, 3)]
    assert query(db, "select distinct run_id from cohort.screening") == [("run-c",)]
    assert query(db, "select distinct run_id from cohort.attrition") == [("run-c",)]
    assert query(db, "select run_id, source_row, reason from audit.quarantine") == [
        ("run-c", 14, "unparseable value")
    ]


def test_run_row_records_provenance_counts_and_timings(make_result, db):
    result = make_result(mapping_sha256="d" * 64)
    finished = datetime(2024, 1, 15, 8, 0, 30, tzinfo=UTC)
    publish(result, db, finished_at=finished)

    [run] = frame(db, "select * from audit.runs").to_dicts()
    assert run["run_number"] == 1
    assert run["outcome"] == "published"
    assert run["started_at"] == datetime(2024, 1, 15, 8, 0, 0)
    assert run["finished_at"] == datetime(2024, 1, 15, 8, 0, 30)
    assert run["duration_seconds"] == 30.0
    assert run["source_format"] == "canonical"
    assert (run["rules_version"], run["mapping_sha256"]) == ("2026.11.1", "d" * 64)
    assert run["inputs"][0] == {
        "table": "labs",
        "path": "/data/extract-2024-01/labs.csv",
        "sha256": "b" * 64,
        "bytes": 2048,
    }
    assert run["row_counts"] == [
        {"table_name": "labs", "read": 17, "used": 13, "quarantined": 1, "ignored": 3},
        {"table_name": "patients", "read": 6, "used": 6, "quarantined": 0, "ignored": 0},
    ]
    assert run["timings"] == [
        {"step": "read", "seconds": 0.5},
        {"step": "screen", "seconds": 1.25},
    ]
    assert run["n_patients"] == 6
    counts = {row["status"]: row["patients"] for row in run["status_counts"]}
    assert list(counts) == list(STATUSES)
    assert counts["persistent"] == 2
    assert counts["not_isolated"] == 0


def test_omop_cohort_has_definition_1_persistent_and_2_persistent_or_single_low(make_result, db):
    publish(make_result(), db)

    rows = query(db, "select * from cohort.omop_cohort order by all")
    assert [(d, s, str(start), str(end)) for d, s, start, end in rows] == [
        # p1: last low IgM day value 2020-06-01 (the 2020-12-01 row is not a day value)
        (1, "p1", "2020-01-10", "2020-06-01"),
        # p6: its only low IgM predates the index date: the end date stays at the start
        (1, "p6", "2022-06-01", "2022-06-01"),
        (2, "p1", "2020-01-10", "2020-06-01"),
        (2, "p2", "2021-03-01", "2021-03-01"),
        (2, "p6", "2022-06-01", "2022-06-01"),
    ]
    assert query(
        db,
        "select data_type from duckdb_columns() "
        "where table_name = 'omop_cohort' order by column_index",
    ) == [("INTEGER",), ("VARCHAR",), ("DATE",), ("DATE",)]


READER = textwrap.dedent(
    """
    import sys
    import duckdb

    con = duckdb.connect(sys.argv[1], read_only=True)
    count = "select count(*) from audit.runs"
    print(con.execute(count).fetchall()[0][0], flush=True)
    sys.stdin.readline()
    print(con.execute(count).fetchall()[0][0], flush=True)
    """
)


def test_a_reader_in_another_process_neither_blocks_nor_sees_the_new_run(make_result, db):
    publish(make_result(run_id="run-a"), db)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline().strip() == "1"  # the reader holds the file open

        assert publish(make_result(run_id="run-b"), db) == 2

        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "1"  # still its own snapshot
        assert reader.wait(timeout=60) == 0
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    assert query(db, "select run_id from audit.runs order by run_number") == [
        ("run-a",),
        ("run-b",),
    ]


def _boom(*args: object, **kwargs: object) -> None:
    raise RuntimeError("simulated crash")


@pytest.mark.parametrize(
    "step",
    ["_build_cohort", "_copy_history", "_append_refused", "_append_run", "_write_comments"],
)
def test_a_failure_midway_leaves_the_published_file_unchanged(make_result, db, monkeypatch, step):
    publish(make_result(run_id="run-a"), db)
    before = db.read_bytes()
    monkeypatch.setattr(publish_module, step, _boom)

    with pytest.raises(PublishError, match="the published database is unchanged"):
        publish(make_result(run_id="run-b"), db)

    assert db.read_bytes() == before
    assert sorted(p.name for p in db.parent.iterdir()) == [f".{db.name}.lock", db.name]


def test_a_failure_on_the_first_publication_leaves_only_the_empty_lock_file(
    make_result, db, monkeypatch
):
    monkeypatch.setattr(publish_module, "_write_comments", _boom)

    with pytest.raises(PublishError):
        publish(make_result(), db)

    assert [p.name for p in db.parent.iterdir()] == [f".{db.name}.lock"]
    assert (db.parent / f".{db.name}.lock").stat().st_size == 0


def test_error_is_one_line_without_patient_values(make_result, db):
    screening = make_result().screening.with_columns(
        pl.lit("SECRET-VALUE-p1").alias("age_at_index")
    )

    with pytest.raises(PublishError) as caught:
        publish(make_result(screening=screening), db)

    message = str(caught.value)
    assert "\n" not in message
    assert "SECRET" not in message
    assert str(db) in message
    assert caught.value.exit_code == 6


def test_refuses_to_replace_a_database_that_is_not_a_cohort_database(make_result, db):
    db.parent.mkdir(parents=True)
    with duckdb.connect(str(db)) as con:
        con.execute("create table precious as select 42 as answer")
    before = db.read_bytes()

    with pytest.raises(PublishError, match="not a sigmd cohort database"):
        publish(make_result(), db)

    assert db.read_bytes() == before
    assert sorted(p.name for p in db.parent.iterdir()) == [db.name]


def test_refuses_to_replace_a_file_that_is_not_a_database(make_result, db):
    db.parent.mkdir(parents=True)
    db.write_text("not a database\n")

    with pytest.raises(PublishError):
        publish(make_result(), db)

    assert db.read_text() == "not a database\n"
    assert sorted(p.name for p in db.parent.iterdir()) == [db.name]


def test_new_file_keeps_the_published_files_permissions(make_result, db):
    publish(make_result(), db)
    db.chmod(0o640)

    publish(make_result(), db)

    assert db.stat().st_mode & 0o777 == 0o640


def test_a_file_named_cohort_duckdb_still_builds_and_warns(make_result, tmp_path, caplog):
    # DuckDB names the catalog after the file (up to its first dot): cohort.duckdb's catalog
    # "cohort" clashes with the schema "cohort", so analysts must qualify names fully.
    db = tmp_path / "cohort.duckdb"
    with caplog.at_level(logging.WARNING, logger="pipeline.publish.publish"):
        assert publish(make_result(), db) == 1
        assert publish(make_result(), db) == 2

    assert "clashes with the schema" in caplog.text
    assert query(db, "select count(*) from cohort.cohort.screening") == [(6,)]


def test_load_sql_reads_one_statement_by_name():
    assert "create table cohort.omop_cohort" in load_sql("cohort/omop_cohort")
    assert load_sql("cohort/omop_cohort.sql") == load_sql("cohort/omop_cohort")
    with pytest.raises(FileNotFoundError):
        load_sql("cohort/no_such_table")


def test_every_sql_file_holds_exactly_one_statement():
    files = sorted(sql_dir().rglob("*.sql"))
    assert len(files) > 20
    for path in files:
        text = path.read_text()
        assert len(duckdb.extract_statements(text)) == 1, path.name


def test_sql_ships_in_the_wheel_and_is_looked_up_there_first():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    force_include = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert force_include["sql"] == "pipeline/_sql"
    assert SQL_DIRS[0] == REPO / "pipeline" / "_sql"
    assert SQL_DIRS[1] == REPO / "sql"


def test_database_guide_describes_every_table_and_column():
    guide = (REPO / "docs" / "database.md").read_text()
    sections = re.split(r"^### ", guide, flags=re.MULTILINE)
    for schema, tables in load_comments().items():
        for table, comments in tables.items():
            [section] = [s for s in sections if s.startswith(f"`{schema}.{table}`")]
            for column in comments["columns"]:
                assert f"`{column}`" in section, f"{schema}.{table}.{column}"


def test_building_file_is_hidden_next_to_the_target_and_named_by_the_attempt(tmp_path):
    building = building_path(tmp_path / "sigmd.duckdb", "0123abcd")
    assert building.parent == tmp_path
    assert building.name == ".sigmd.duckdb.building-0123abcd"
    assert new_attempt_id() != new_attempt_id()


def test_catalog_name_is_the_file_name_up_to_its_first_dot():
    assert publish_module.catalog_name(Path("/data/Cohort.v2.duckdb")) == "cohort"
    assert publish_module.catalog_name(Path("sigmd.duckdb")) == "sigmd"
