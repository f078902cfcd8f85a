"""The `sigmd_deliveries` DAG: screen each delivery of the landing zone once, oldest first.

Every 15 minutes (`SIGMD_DELIVERIES_SCHEDULE`), `plan` lists the complete deliveries of the
landing folder (`_READY` marker present) not yet decided and records each decision in the
deliveries ledger beside the database (`pipeline.run.deliveries`); `screen_delivery` triggers one
`sigmd_screening` run per delivery and waits for it, one at a time and in plan order (mapped,
`max_active_tis_per_dagrun=1`, deferred while waiting so it holds no worker slot); `settle`
records each outcome (screened with its run id, or refused with its one-line reason), whatever
the screening runs' states. Tasks are thin: imports happen inside them.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import Param, dag, get_current_context, task

log = logging.getLogger("sigmd.dag")

DAG_ID = "sigmd_deliveries"
SCREENING_DAG_ID = "sigmd_screening"
FORMATS = ["canonical", "mimic-iv", "omop"]  # as `sigmd run --format`
DEFAULT_SCHEDULE = "*/15 * * * *"
POKE_SECONDS = 15  # how often the triggerer looks at the screening run it waits for

DOC_MD = """
### sigmd_deliveries

Watches the landing folder (`landing_dir`, default `SIGMD_LANDING_DIR`): one folder per
delivery, complete once its `_READY` marker file exists. Each complete delivery not seen before is
screened once, oldest marker first, by triggering `sigmd_screening` with its folder as
`extract_dir`, one run at a time. A delivery whose files (by SHA-256) were already screened, under
any folder name, is skipped. Outcomes (screened, refused with the reason, skipped) are kept in
the ledger `<db>.deliveries.jsonl` and published in `audit.deliveries`.

**Tasks**: `plan` → `screen_delivery` (mapped, one at a time) → `settle` (runs whatever the
screening runs' states). **Schedule**: `SIGMD_DELIVERIES_SCHEDULE` (default every 15 minutes).
More in docs/airflow.md.
"""


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name) or default


def _required(env: str, description: str) -> Param:
    default = _env(env)
    kwargs: dict[str, Any] = {"type": "string", "minLength": 1, "description": description}
    return Param(default, **kwargs) if default else Param(**kwargs)


PARAMS = {
    "landing_dir": _required("SIGMD_LANDING_DIR", "Landing folder: one folder per delivery."),
    "db_path": _required("SIGMD_DB_PATH", "Cohort database the deliveries are published to."),
    "source_format": Param(
        _env("SIGMD_SOURCE_FORMAT", "canonical"),
        type="string",
        enum=FORMATS,
        description="Layout of every delivery folder.",
    ),
    "rules_dir": Param(_env("SIGMD_RULES_DIR"), type=["null", "string"], description="Rules."),
    "mapping": Param(_env("SIGMD_MAPPING"), type=["null", "string"], description="Site mapping."),
}

DEFAULT_ARGS = {
    "owner": "sigmd-data-engineering",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=5),
}


def schedule() -> str | None:
    """Every 15 minutes (SIGMD_DELIVERIES_SCHEDULE), once the landing folder and database are
    configured; without them the DAG runs only when triggered with both in its conf (Airflow
    refuses a schedule for a DAG whose required params have no default)."""
    if not (_env("SIGMD_LANDING_DIR") and _env("SIGMD_DB_PATH")):
        return None
    return _env("SIGMD_DELIVERIES_SCHEDULE", DEFAULT_SCHEDULE)


def _now() -> datetime:
    return datetime.now(UTC)


@dag(
    dag_id=DAG_ID,
    description="Screen each complete delivery of the landing folder once, oldest first",
    schedule=schedule(),
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,  # one planner: a delivery is never planned twice
    default_args=DEFAULT_ARGS,
    params=PARAMS,
    tags=["sigmd", "deliveries", "landing-zone"],
    doc_md=DOC_MD,
)
def sigmd_deliveries() -> None:
    @task
    def plan() -> list[dict[str, Any]]:
        """The complete deliveries to screen, oldest first; skips and refusals are recorded."""
        from pipeline.run import deliveries

        context = get_current_context()
        params = context["params"]
        todo = deliveries.plan(
            params["landing_dir"],
            params["db_path"],
            now=_now(),
            source_format=params["source_format"],
        )
        log.info("%d deliveries to screen: %s", len(todo), [d.name for d in todo])
        conf_keys = ("db_path", "source_format", "rules_dir", "mapping")
        return [
            {
                **deliveries.to_xcom(d),
                "trigger_run_id": deliveries.trigger_run_id(d, context["run_id"]),
                "conf": {"extract_dir": str(d.path), **{k: params.get(k) for k in conf_keys}},
            }
            for d in todo
        ]

    @task
    def trigger_arguments(planned: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"trigger_run_id": p["trigger_run_id"], "conf": p["conf"]} for p in planned]

    @task(trigger_rule="all_done")
    def settle(planned: list[dict[str, Any]]) -> dict[str, int]:
        """Record each delivery's outcome, from the published database and the screening run."""
        from pipeline.run import deliveries

        db_path = get_current_context()["params"]["db_path"]
        outcomes: dict[str, int] = {}
        for value in planned:
            delivery = deliveries.from_xcom(value)
            refusal = deliveries.refusal_of(db_path, value["trigger_run_id"])
            entry = deliveries.settle(db_path, delivery, now=_now(), refusal=refusal)
            log.info("Delivery %s: %s", delivery.name, entry.outcome)
            outcomes[entry.outcome] = outcomes.get(entry.outcome, 0) + 1
        return outcomes

    planned = plan()
    screen = TriggerDagRunOperator.partial(
        task_id="screen_delivery",
        trigger_dag_id=SCREENING_DAG_ID,
        wait_for_completion=True,
        deferrable=True,
        poke_interval=POKE_SECONDS,
        retries=0,  # a failed screening is recorded as refused; the next plan moves on
        max_active_tis_per_dagrun=1,  # one delivery at a time, in plan order (map index)
    ).expand_kwargs(trigger_arguments(planned))
    screen >> settle(planned)


deliveries_dag = sigmd_deliveries()
