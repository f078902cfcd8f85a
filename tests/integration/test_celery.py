"""The distributed deployment of docker-compose.yml, without Docker: sigmd_screening on Celery.

PostgreSQL and Redis run as private servers on free 127.0.0.1 ports; the API server, scheduler,
DAG processor, triggerer and a Celery worker run as processes with the compose file's settings
(see `topology.py`). The DAG is unpaused and triggered with the `airflow` CLI on a synthetic
extract; the test waits for the run to succeed and compares the published cohort with the one
`sigmd run` publishes for the same extract. Two Celery workers run (each reports its own
hostname): the run with `buckets=4` must have its mapped bucket tasks on both, and publish
exactly the database of `sigmd run`. The landing-zone test drops two deliveries into a landing
folder and triggers `sigmd_deliveries`, which screens both, in order, through `sigmd_screening`.
Every process is stopped at the end, pass or fail.

Deselected by default (`-m celery`); `.ci/run` installs postgresql and redis-server and runs it.
"""

from __future__ import annotations

import json
import os
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
DELIVERIES_DAG_ID = "sigmd_deliveries"
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
        top.wait_for_dag(DELIVERIES_DAG_ID)
        top.airflow("dags", "unpause", DAG_ID)
        top.airflow("dags", "unpause", DELIVERIES_DAG_ID)
        print(f"Services up and DAG unpaused in {time.monotonic() - started:.1f} s")
        yield top
    except Exception:
        print(top.diagnostics())
        raise
    finally:
        top.stop()


def trigger_and_wait(
    topology: Topology,
    run_id: str,
    conf: dict[str, str],
    dag_id: str = DAG_ID,
    timeout: float = 240,
) -> str:
    started = time.monotonic()
    try:
        topology.airflow("dags", "trigger", dag_id, "--run-id", run_id, "--conf", json.dumps(conf))
        state = topology.wait_for_run(dag_id, run_id, timeout=timeout)
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
    # Every task that ran, ran on a Celery worker (the skipped branch never reached one).
    worker = topology.query(
        "select distinct hostname from task_instance where run_id = %s and state = 'success'",
        RUN_ID,
    )
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


def test_two_deliveries_in_the_landing_folder_are_screened_in_order(
    topology: Topology, tmp_path: Path
):
    landing, db = tmp_path / "landing", tmp_path / "output" / "sigmd.duckdb"
    deliveries = (("week-48", 120, 1_764_000_000), ("week-47", 150, 1_763_000_000))
    for seed, (name, patients, ready_at) in enumerate(deliveries, start=11):
        generate_extract(landing / name, patients, seed=seed)
        marker = landing / name / "_READY"  # the sender writes it last
        marker.touch()
        os.utime(marker, (ready_at, ready_at))  # week-47's delivery arrived first
    generate_extract(landing / "week-49", 20, seed=13)  # still being copied: no marker
    conf = {"landing_dir": str(landing), "db_path": str(db)}

    state = trigger_and_wait(topology, "celery_deliveries", conf, DELIVERIES_DAG_ID, timeout=480)
    if state != "success":
        print(topology.diagnostics())
    assert state == "success"

    triggered = topology.query(
        "select run_id, state, conf from dag_run where dag_id = %s and run_id like 'delivery__%%'"
        " order by start_date",
        DAG_ID,
    )
    folders = [Path(conf["extract_dir"]).name for _, _, conf in triggered]
    assert folders == ["week-47", "week-48"]  # oldest first, once each, week-49 not touched
    assert [state for _, state, _ in triggered] == ["success", "success"]
    with duckdb.connect(str(db), read_only=True) as con:
        runs = con.execute(
            "select run_id, extract_dir from audit.runs order by run_number"
        ).fetchall()
        deliveries = con.execute(
            "select folder, outcome, run_id from audit.deliveries order by recorded_at"
        ).fetchall()
        changes = con.execute(
            "select change, count(*), min(previous_run_id), min(new_run_id)"
            " from cohort.status_changes group by 1 order by 1"
        ).fetchall()
        screened = con.execute("select count(*) from cohort.screening").fetchone()
    assert [Path(extract).name for _, extract in runs] == ["week-47", "week-48"]
    assert deliveries == [("week-47", "screened", runs[0][0]), ("week-48", "screened", runs[1][0])]
    # The second publish compared week-48's cohort with week-47's: synthetic ids are numbered
    # from 1, so week-47's last 30 patients are gone and shared ids got other results.
    assert {change for change, *_ in changes} >= {"status_changed", "no_longer_in_extract"}
    assert {(previous, new) for *_, previous, new in changes} == {(runs[0][0], runs[1][0])}
    assert screened is not None and screened[0] > 50

    # Looking again finds nothing new: no third screening run.
    again = trigger_and_wait(topology, "celery_deliveries_again", conf, DELIVERIES_DAG_ID)
    assert again == "success"
    count = topology.query(
        "select count(*) from dag_run where dag_id = %s and run_id like 'delivery__%%'", DAG_ID
    )
    assert count == [(2,)]
