"""The distributed deployment of docker-compose.yml, without Docker: sigmd_screening on Celery.

PostgreSQL and Redis run as private servers on free 127.0.0.1 ports; the API server, scheduler,
DAG processor, triggerer and a Celery worker run as processes with the compose file's settings
(see `topology.py`). The DAG is unpaused and triggered with the `airflow` CLI on a synthetic
extract; the test waits for the run to succeed and compares the published cohort with the one
`sigmd run` publishes for the same extract. Two Celery workers run (each reports its own
hostname): the run with `buckets=4` must have its mapped bucket tasks on both, and publish
exactly the database of `sigmd run`. Every process is stopped at the end, pass or fail.

Deselected by default (`-m celery`); `.ci/run` installs postgresql and redis-server and runs it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from helpers.databases import all_tables
from topology import Topology, missing_services

from pipeline.cli import main
from pipeline.synth import generate_extract

pytestmark = [pytest.mark.celery, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "sigmd_screening"
RUN_ID = "celery_topology_test"
HEALTHCHECKED_JOBS = ("SchedulerJob", "DagProcessorJob", "TriggererJob")


@pytest.fixture(scope="module")
def topology() -> Iterator[Topology]:
    if missing := missing_services():
        pytest.fail("cannot start the topology, missing: " + "; ".join(missing))
    top = Topology(dags_folder=ROOT / "dags", workers=2)
    try:
        started = time.monotonic()
        top.start()
        top.wait_for_dag(DAG_ID)
        top.airflow("dags", "unpause", DAG_ID)
        print(f"Services up and DAG unpaused in {time.monotonic() - started:.1f} s")
        yield top
    except Exception:
        print(top.diagnostics())
        raise
    finally:
        top.stop()


def trigger_and_wait(topology: Topology, run_id: str, conf: dict[str, str]) -> str:
    started = time.monotonic()
    try:
        topology.airflow("dags", "trigger", DAG_ID, "--run-id", run_id, "--conf", json.dumps(conf))
        state = topology.wait_for_run(DAG_ID, run_id)
    except BaseException:
        print(topology.diagnostics())
        raise
    print(f"Run {run_id}: {state} in {time.monotonic() - started:.1f} s")
    return state


def screening(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select * from cohort.screening order by patient_id").fetchall()


def test_sigmd_screening_runs_on_celery_and_publishes_the_sigmd_run_cohort(
    topology: Topology, tmp_path: Path
):
    extract = tmp_path / "extract"
    generate_extract(extract, 300, seed=5, split_labs=2)
    db = tmp_path / "output" / "sigmd.duckdb"
    conf = {"extract_dir": str(extract), "db_path": str(db), "source_format": "canonical"}

    state = trigger_and_wait(topology, RUN_ID, conf)
    if state != "success":
        print(topology.diagnostics())
    assert state == "success"

    tasks = topology.query(
        "select task_id, count(*), min(state), max(state) from task_instance"
        " where run_id = %s group by 1 order by 1",
        RUN_ID,
    )
    assert {t[0] for t in tasks} >= {"discover", "check_file", "publish", "remove_work_dir"}
    # buckets = 1: the one-task path ran; the patient-bucket path was skipped by the branch.
    expected = {t: "skipped" if t.startswith("bucketed.") else "success" for t, *_ in tasks}
    assert all(low == high == expected[t] for t, _, low, high in tasks), tasks
    assert {t[0]: t[1] for t in tasks}["check_file"] == 5  # 2 lab files + 3 tables
    worker = topology.query("select distinct hostname from task_instance where run_id = %s", RUN_ID)
    assert worker and all(h for (h,) in worker)
    events = topology.query(
        "select a.name, e.extra from asset_event e join asset a on a.id = e.asset_id"
        " where e.source_run_id = %s",
        RUN_ID,
    )
    assert [(name, extra["db_path"]) for name, extra in events] == [
        ("sigmd_cohort_db", str(db.resolve()))
    ]
    # The compose file's healthchecks of the scheduler, DAG processor and triggerer.
    topology.airflow_many(
        [("jobs", "check", "--job-type", job, "--local") for job in HEALTHCHECKED_JOBS]
    )

    assert main(["run", "--extract", str(extract), "--db", str(tmp_path / "cli.duckdb")]) == 0
    published = screening(db)
    assert len(published) > 100
    assert published == screening(tmp_path / "cli.duckdb")


def test_patient_buckets_are_screened_on_both_workers_and_publish_the_sigmd_run_database(
    topology: Topology, tmp_path: Path
):
    extract = tmp_path / "extract"
    generate_extract(extract, 300, seed=6, split_labs=2)
    db = tmp_path / "output" / "sigmd.duckdb"
    conf = {"extract_dir": str(extract), "db_path": str(db), "buckets": 4}
    run_id = "celery_buckets_test"

    assert trigger_and_wait(topology, run_id, conf) == "success"

    mapped = topology.query(
        "select map_index, state, hostname from task_instance"
        " where run_id = %s and task_id = 'bucketed.screen_bucket' order by map_index",
        run_id,
    )
    assert [(m, s) for m, s, _ in mapped] == [(k, "success") for k in range(4)]
    assert {h for _, _, h in mapped} == {"sigmd-worker-1", "sigmd-worker-2"}
    once = topology.query(
        "select task_id, state from task_instance where run_id = %s and task_id in"
        " ('bucketed.merge_and_check', 'bucketed.publish', 'discover') order by 1",
        run_id,
    )
    assert once == [
        ("bucketed.merge_and_check", "success"),
        ("bucketed.publish", "success"),
        ("discover", "skipped"),
    ]
    assert main(["run", "--extract", str(extract), "--db", str(tmp_path / "cli.duckdb")]) == 0
    published = all_tables(db)
    assert len(published["cohort.screening"]) > 100
    assert published == all_tables(tmp_path / "cli.duckdb")


def test_a_refused_extract_fails_at_once_without_retry_on_celery(
    topology: Topology, tmp_path: Path
):
    extract = tmp_path / "extract"
    generate_extract(extract, 20, seed=1)
    patients = extract / "patients.csv"
    lines = patients.read_text().splitlines()
    patients.write_text("\n".join([lines[0] + ",email", *lines[1:]]) + "\n")
    db = tmp_path / "output" / "sigmd.duckdb"
    conf = {"extract_dir": str(extract), "db_path": str(db), "source_format": "canonical"}

    assert trigger_and_wait(topology, "celery_refused_extract", conf) == "failed"

    discover = topology.query(
        "select state, try_number from task_instance where run_id = %s and task_id = 'discover'",
        "celery_refused_extract",
    )
    assert discover == [("failed", 1)]  # failed on its first try: no retry was scheduled
    assert not db.exists()
