"""SPEC §8: each publish says what changed since the previously published cohort.

Two deliveries of the same patients are screened and published one after the other to one
database; `cohort.status_changes` must hold one row per patient who is new, changed status,
changed severity or left the extract, and none for the others; `cohort.status_history` keeps
every run's changes. Adults (born 1980): IgM 37-286, IgG 767-1590, IgA 61-356 mg/dL.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipeline.publish.changes import read_changes, summary
from pipeline.publish.publish import publish

FIRST_DELIVERY = """
    patient    | date       | test | value
    p_same     | 2020-01-10 | IgM  | 25
    p_same     | 2020-01-10 | IgG  | 1000
    p_same     | 2020-01-10 | IgA  | 200
    p_status   | 2020-01-10 | IgM  | 25
    p_status   | 2020-01-10 | IgG  | 1000
    p_status   | 2020-01-10 | IgA  | 200
    p_severity | 2020-01-10 | IgM  | 25
    p_severity | 2020-01-10 | IgG  | 1000
    p_severity | 2020-01-10 | IgA  | 200
    p_gone     | 2020-01-10 | IgM  | 25
    p_gone     | 2020-01-10 | IgG  | 1000
    p_gone     | 2020-01-10 | IgA  | 200
    p_not_low  | 2020-01-10 | IgM  | 100
"""

# The next delivery: p_status has a repeat low 120 days later (single_low -> persistent),
# p_severity a complete low (< 5 mg/dL) 30 days later (partial -> complete, still single_low),
# p_gone is no longer in the extract and p_new appears.
SECOND_DELIVERY = (
    FIRST_DELIVERY.replace(
        """    p_gone     | 2020-01-10 | IgM  | 25
    p_gone     | 2020-01-10 | IgG  | 1000
    p_gone     | 2020-01-10 | IgA  | 200
""",
        "",
    )
    + """    p_status   | 2020-05-09 | IgM  | 20
    p_severity | 2020-02-09 | IgM  | 3
    p_new      | 2020-01-10 | IgM  | 25
    p_new      | 2020-01-10 | IgG  | 1000
    p_new      | 2020-01-10 | IgA  | 200
"""
)


def status_changes(db: Path) -> dict[str, tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select patient_id, change, previous_status, previous_severity, new_status,"
            " new_severity from cohort.status_changes"
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def history(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "select run_number, patient_id, change from cohort.status_history order by all"
        ).fetchall()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "sigmd.duckdb"


def test_the_first_publish_has_every_patient_as_new(screen, db):
    first = screen(labs=FIRST_DELIVERY)
    publish(first.result, db)

    changes = status_changes(db)
    assert changes == {
        "p_same": ("new_patient", None, None, "single_low", "partial"),
        "p_status": ("new_patient", None, None, "single_low", "partial"),
        "p_severity": ("new_patient", None, None, "single_low", "partial"),
        "p_gone": ("new_patient", None, None, "single_low", "partial"),
        "p_not_low": ("new_patient", None, None, "igm_not_low", None),
    }
    with duckdb.connect(str(db), read_only=True) as con:
        run_ids = con.execute(
            "select distinct previous_run_id, new_run_id from cohort.status_changes"
        ).fetchall()
    assert run_ids == [(None, first.result.run_id)]


def test_each_change_label_across_two_deliveries(screen, db):
    first, second = screen(labs=FIRST_DELIVERY), screen(labs=SECOND_DELIVERY)
    publish(first.result, db)
    publish(second.result, db)

    assert status_changes(db) == {
        "p_status": ("status_changed", "single_low", "partial", "persistent", "partial"),
        "p_severity": ("severity_changed", "single_low", "partial", "single_low", "complete"),
        "p_gone": ("no_longer_in_extract", "single_low", "partial", None, None),
        "p_new": ("new_patient", None, None, "single_low", "partial"),
    }  # p_same and p_not_low are unchanged: no row
    with duckdb.connect(str(db), read_only=True) as con:
        run_ids = con.execute(
            "select distinct previous_run_id, new_run_id from cohort.status_changes"
        ).fetchall()
    assert run_ids == [(first.result.run_id, second.result.run_id)]
    assert [row for row in history(db) if row[0] == 2] == [
        (2, "p_gone", "no_longer_in_extract"),
        (2, "p_new", "new_patient"),
        (2, "p_severity", "severity_changed"),
        (2, "p_status", "status_changed"),
    ]
    assert len([row for row in history(db) if row[0] == 1]) == 5
    # p_status is newly persistent: the count a downstream DAG is told about
    assert summary(db) == {
        "changes": {
            "new_patient": 1,
            "status_changed": 1,
            "severity_changed": 1,
            "no_longer_in_extract": 1,
        },
        "new_persistent": 1,
    }


def test_a_rerun_of_the_same_delivery_changes_nothing(screen, db):
    first = screen(labs=FIRST_DELIVERY)
    publish(first.result, db)
    publish(first.result, db)

    assert status_changes(db) == {}
    assert {row[0] for row in history(db)} == {1}  # run 2 added no history
    assert summary(db)["new_persistent"] == 0


def test_changes_since_a_run_are_net_changes(screen, db):
    first, second = screen(labs=FIRST_DELIVERY), screen(labs=SECOND_DELIVERY)
    publish(first.result, db)
    publish(second.result, db)
    publish(first.result, db)  # the first delivery again: every change is undone

    assert set(status_changes(db)) == {"p_status", "p_severity", "p_gone", "p_new"}
    assert read_changes(db, since="1").rows.is_empty()  # run 1 -> run 3: back where it was
    since_2 = read_changes(db, since=second.result.run_id)  # a run id works as well
    assert since_2.since_run_number == 2
    assert dict(zip(since_2.rows["patient_id"], since_2.rows["change"], strict=True)) == {
        "p_status": "status_changed",
        "p_severity": "severity_changed",
        "p_gone": "new_patient",
        "p_new": "no_longer_in_extract",
    }
