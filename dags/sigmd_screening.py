"""The `sigmd_screening` DAG: screen one lab extract and publish the cohort database.

It does the work of `sigmd run`, split into the stages of `pipeline.run.stages` so that each can be
retried alone and run on any worker. Tasks are thin: every heavy import (polars, DuckDB, Great
Expectations, the engine) happens inside `pipeline.run.stages` when a task runs, never when the
scheduler parses this file. Between tasks only small values travel as XComs (paths, counts);
the data itself goes through Parquet files in a work folder scoped to the DAG run.

Error policy: a data-quality refusal (`pipeline.errors.SigmdError`, except `PublishError`) fails
its task at once, since retrying cannot fix the data; I/O failures (`OSError`, `PublishError`)
are retried with exponential back-off. See docs/airflow.md.
"""

from __future__ import annotations

import logging
import os
import re
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, Param, dag, get_current_context, task, task_group

if TYPE_CHECKING:
    from collections.abc import Iterator

log = logging.getLogger("sigmd.dag")

DAG_ID = "sigmd_screening"
FORMATS = ["canonical", "mimic-iv", "omop"]  # as `sigmd run --format` (pipeline.cli.FORMATS)

# The published cohort database, for DAGs scheduled on it (`schedule=[COHORT_DB]`). The path of
# the database each event is about is in the event's `extra` (db_path), with the run identity.
COHORT_DB = Asset(name="sigmd_cohort_db", uri="sigmd://cohort-db")

DOC_MD = """
### sigmd_screening

Screens one de-identified lab extract for Selective IgM deficiency and publishes the DuckDB
cohort database, exactly as `sigmd run --extract EXTRACT --db DB` does.

**Params**: `extract_dir` (the extract folder), `db_path` (the cohort database, replaced
atomically), `source_format` (`canonical`, `mimic-iv` or `omop`), optional `rules_dir` and
`mapping`, and `keep_work_dir`. Their defaults come from the environment of the DAG processor:
`SIGMD_EXTRACT_DIR`, `SIGMD_DB_PATH`, `SIGMD_SOURCE_FORMAT`, `SIGMD_RULES_DIR`, `SIGMD_MAPPING`.

**Tasks**: `choose_route` picks one of two paths by the `buckets` param.
`buckets` = 1 (default): `discover` (files and headers) → `check_file` (each file read to its
end, mapped) → `normalise` → `screen` → `check_cohort` (output checks; Data Docs next to the
database) → `publish` (atomic replace; emits the `sigmd_cohort_db` asset event) →
`remove_work_dir`.
`buckets` = N > 1 (patient buckets, docs/scaling.md): `bucketed.partition` (refusals here) →
`bucketed.screen_bucket` (mapped over the N buckets, on any worker) →
`bucketed.merge_and_check` (the GX suites and output checks once, on the merged cohort) →
`bucketed.publish` → `bucketed.cleanup`. N is at most `core.max_map_length` (default 1024).

**Failures**: a refused extract, a bad rules folder or mapping file, or failed output checks
fail at once with one line naming the file, column and reason (no retry: fix the input and
trigger again). I/O errors are retried with exponential back-off. Logs carry counts and file
names only, never a patient's values.

**Work folder**: `SIGMD_WORK_DIR/sigmd_screening/<run_id>` (default root: `.sigmd-work/` next
to the database), removed after a successful publish unless `keep_work_dir` is set. More in
docs/airflow.md.
"""


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name) or default


def _path_param(env: str, description: str) -> Param:
    # No default when the variable is unset: Airflow then asks for the value at trigger time.
    default = _env(env)
    kwargs: dict[str, Any] = {"type": "string", "minLength": 1, "description": description}
    return Param(default, **kwargs) if default else Param(**kwargs)


def _optional_path_param(env: str, description: str) -> Param:
    return Param(_env(env), type=["null", "string"], description=description)


PARAMS = {
    "extract_dir": _path_param(
        "SIGMD_EXTRACT_DIR", "Extract folder (labs, patients, optional medications, diagnoses)."
    ),
    "db_path": _path_param(
        "SIGMD_DB_PATH", "Cohort database to publish (DuckDB file, e.g. /data/sigmd.duckdb)."
    ),
    "source_format": Param(
        _env("SIGMD_SOURCE_FORMAT", "canonical"),
        type="string",
        enum=FORMATS,
        description="Layout of the extract folder.",
    ),
    "rules_dir": _optional_path_param(
        "SIGMD_RULES_DIR", "A site's rules folder replacing the shipped defaults (optional)."
    ),
    "mapping": _optional_path_param(
        "SIGMD_MAPPING", "CSV mapping local lab codes and units to LOINC/UCUM (optional)."
    ),
    "buckets": Param(
        int(_env("SIGMD_BUCKETS", "1") or "1"),
        type="integer",
        minimum=1,
        description="Patient buckets screened as mapped tasks (1: one screening task). "
        "The published cohort is the same for every value.",
    ),
    "keep_work_dir": Param(
        False, type="boolean", description="Keep the run's work folder after a successful publish."
    ),
}

DEFAULT_ARGS = {
    "owner": "sigmd-data-engineering",
    "retries": 3,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=10),
    "execution_timeout": timedelta(hours=4),
}


# --- error policy -------------------------------------------------------------------------------


def fails_without_retry(exc: BaseException, also: tuple[type[Exception], ...] = ()) -> bool:
    """True for errors that retrying cannot fix: the extract, rules, mapping or output checks.

    A `PublishError` is a `SigmdError` too, but it means the database could not be written (disk
    full, a vanished mount), and a `LockTimeout` that another writer held the database's lock
    too long: both may pass, so they are retried like any `OSError`. A polars
    error escaping a stage means an input file could not be parsed: a data problem. `also`: more
    error types that cannot pass in the caller's context.
    """
    from pipeline.errors import LockTimeout, PublishError, SigmdError

    if isinstance(exc, also):
        return True
    if isinstance(exc, PublishError | LockTimeout):
        return False
    if isinstance(exc, SigmdError):
        return True
    return type(exc).__module__.startswith("polars")


def fail_fast_error(exc: BaseException) -> Exception:
    """The exception to raise instead of `exc` so that Airflow fails the task without retry."""
    from airflow.sdk.exceptions import AirflowFailException

    from pipeline.errors import SigmdError

    if isinstance(exc, SigmdError):
        return AirflowFailException(f"{type(exc).__name__}: {exc}")
    # Polars messages can quote a line of the input: name only the kind of failure, as the CLI.
    return AirflowFailException(
        f"ExtractRefused: an input file could not be read ({type(exc).__name__})"
    )


@contextmanager
def error_policy(also: tuple[type[Exception], ...] = ()) -> Iterator[None]:
    """Turn data-quality refusals into Airflow's fail-without-retry; let the rest retry."""
    try:
        yield
    except Exception as exc:
        if not fails_without_retry(exc, also):
            raise
        error = fail_fast_error(exc)
        note_refusal(str(error))
        # `from None`: the original traceback could carry a polars message quoting input data.
        raise error from None


def note_refusal(reason: str) -> None:
    """Leave the one-line reason in the run's work folder (kept after a failure), where
    `sigmd_deliveries` reads it to record the delivery as refused. Best effort: never hides
    the refusal itself."""
    from pipeline.run.deliveries import REFUSAL_FILE

    try:
        folder = Path(_context_work_dir())
        folder.mkdir(parents=True, exist_ok=True)
        (folder / REFUSAL_FILE).write_text(reason + "\n", encoding="utf-8")
    except Exception:  # outside a task (tests), or an unwritable folder
        log.warning("could not note the refusal in the work folder")


# --- the run's work folder ----------------------------------------------------------------------


def work_root(db_path: str) -> Path:
    """SIGMD_WORK_DIR, or `.sigmd-work/` next to the database (same file system as the output)."""
    configured = _env("SIGMD_WORK_DIR")
    return Path(configured) if configured else Path(db_path).resolve().parent / ".sigmd-work"


def run_work_dir(db_path: str, run_id: str) -> Path:
    """The folder of one DAG run: clearing and re-running the run reuses (and replaces) it."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("._") or "run"
    return work_root(db_path) / DAG_ID / safe


def _context_work_dir() -> str:
    context = get_current_context()
    return str(run_work_dir(context["params"]["db_path"], context["run_id"]))


def _params() -> dict[str, Any]:
    return dict(get_current_context()["params"])


# --- the DAG ------------------------------------------------------------------------------------


@dag(
    dag_id=DAG_ID,
    description="Screen a de-identified lab extract for Selective IgM deficiency (sigmd run)",
    schedule=_env("SIGMD_SCHEDULE"),
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,  # one run at a time; the database's lock file serialises every writer
    default_args=DEFAULT_ARGS,
    params=PARAMS,
    tags=["sigmd", "screening", "immunology"],
    doc_md=DOC_MD,
)
def sigmd_screening() -> None:
    @task
    def discover() -> list[dict[str, Any]]:
        """The extract's files, after the checks on tables and headers; refuses early."""
        from pipeline.cli import check_db_name
        from pipeline.errors import PublishError
        from pipeline.run import stages

        params = _params()
        with error_policy(also=(PublishError,)):  # a refused file name: no retry can fix it
            check_db_name(Path(params["db_path"]))
        with error_policy():
            files = stages.discover(params["extract_dir"], params["source_format"])
        log.info("Found %d input files in the extract", len(files))
        return files

    @task(map_index_template="{{ input_file_name }}")
    def check_file(input_file: dict[str, Any]) -> dict[str, Any]:
        """Read one file to its end (mapped over the files of a split extract)."""
        from pipeline.run import stages

        context: Any = get_current_context()
        context["input_file_name"] = Path(input_file["path"]).name  # names the mapped instance
        with error_policy():
            checked = stages.check_file(input_file["table"], input_file["path"])
        log.info("%s: %d rows readable", checked["table"], checked["rows"])
        return checked

    @task
    def normalise(checked: list[dict[str, Any]]) -> dict[str, Any]:
        """Read and validate the extract into the run's work folder."""
        from pipeline.run import stages

        params = _params()
        work_dir = _context_work_dir()
        log.info("%d files checked; work folder %s", len(checked), work_dir)
        with error_policy():
            out = stages.normalise(
                params["extract_dir"],
                work_dir,
                source_format=params["source_format"],
                rules_dir=params.get("rules_dir"),
                mapping=params.get("mapping"),
                db_path=params["db_path"],  # the extract suite's Data Docs go next to the db
            )
        for counts in out["row_counts"]:
            log.info(
                "%s: read %d, used %d, quarantined %d, ignored %d",
                *(counts[k] for k in ("table_name", "read", "used", "quarantined", "ignored")),
            )
        return {"run_id": out["run_id"], "work_dir": work_dir}

    @task
    def screen(normalised: dict[str, Any]) -> dict[str, Any]:
        """Apply the screening definition to the normalised extract."""
        from pipeline.run import stages

        with error_policy():
            out = stages.screen(normalised["work_dir"], rules_dir=_params().get("rules_dir"))
        log.info("Patients per status: %s", out["status_counts"])
        return {**normalised, "status_counts": out["status_counts"]}

    @task
    def check_cohort(screened: dict[str, Any]) -> dict[str, Any]:
        """The output checks; a failed check fails the run and nothing is published."""
        from pipeline.run import stages

        with error_policy():
            out = stages.check_cohort(screened["work_dir"], _params()["db_path"])
        log.info("Checks of run %s: %s", out["run_id"], out["summary"])
        log.info("Validation report (Data Docs): %s", out["docs_path"])
        return screened

    @task(outlets=[COHORT_DB])
    def publish(checked: dict[str, Any]) -> dict[str, Any]:
        """Replace the cohort database atomically and emit the asset event."""
        return _publish(checked)

    @task
    def remove_work_dir(published: dict[str, Any]) -> None:
        """The hand-off files are not needed once the database is published."""
        _remove_work_dir(published)

    @task.branch
    def choose_route() -> str:
        """One screening task (buckets = 1), or the screening mapped over patient buckets."""
        return "discover" if int(_params().get("buckets") or 1) <= 1 else "bucketed.partition"

    @task_group(group_id="bucketed")
    def bucketed() -> None:
        @task
        def partition() -> list[dict[str, Any]]:
            """Split the extract into patient buckets (Parquet); refuses a bad extract here."""
            from airflow.sdk import conf

            from pipeline.cli import check_db_name
            from pipeline.errors import PublishError
            from pipeline.run import stages

            params = _params()
            buckets = int(params["buckets"])
            limit = conf.getint("core", "max_map_length")
            with error_policy(also=(PublishError, ValueError)):
                check_db_name(Path(params["db_path"]))
                if buckets > limit:
                    raise ValueError(
                        f"buckets = {buckets} is more than core.max_map_length = {limit}"
                    )
            work_dir = _context_work_dir()
            with error_policy():
                parts = stages.partition(
                    params["extract_dir"],
                    work_dir,
                    buckets,
                    params["source_format"],
                    db_path=params["db_path"],  # a refusal goes to the database's run journal
                )
            log.info("Partitioned the extract into %d buckets in %s", len(parts), work_dir)
            return [{**p, "work_dir": work_dir} for p in parts]

        @task(map_index_template="bucket {{ bucket_number }}")
        def screen_bucket(part: dict[str, Any]) -> dict[str, Any]:
            """Screen one patient bucket (mapped; a retry redoes this bucket only)."""
            from pipeline.run import stages

            context: Any = get_current_context()
            context["bucket_number"] = part["bucket"]  # names the mapped instance
            params = _params()
            with error_policy():
                out = stages.screen_bucket(
                    part["work_dir"],
                    part["bucket"],
                    rules_dir=params.get("rules_dir"),
                    mapping=params.get("mapping"),
                )
            return {**out, "work_dir": part["work_dir"]}

        @task
        def merge_and_check(screened: list[dict[str, Any]]) -> dict[str, Any]:
            """Merge the buckets; the GX suites and output checks run once, on the merge."""
            from pipeline.run import stages

            work_dir = _context_work_dir()
            with error_policy():
                out = stages.merge_and_check(
                    work_dir,
                    _params()["db_path"],
                    [s["path"] for s in screened],
                    rules_dir=_params().get("rules_dir"),
                )
            log.info(
                "%d buckets merged; patients per status: %s", len(screened), out["status_counts"]
            )
            return {"run_id": out["run_id"], "work_dir": work_dir}

        @task(task_id="publish", outlets=[COHORT_DB])
        def publish_merged(checked: dict[str, Any]) -> dict[str, Any]:
            """Replace the cohort database atomically, once, and emit the asset event."""
            return _publish(checked)

        @task
        def cleanup(published: dict[str, Any]) -> None:
            """Remove the partition and the buckets' hand-off files once published."""
            _remove_work_dir(published)

        screened = screen_bucket.expand(part=partition())
        cleanup(publish_merged(merge_and_check(screened)))

    files = discover()
    route = choose_route()
    route >> [files, bucketed()]
    checked = check_file.expand(input_file=files)
    remove_work_dir(publish(check_cohort(screen(normalise(checked)))))


def _publish(checked: dict[str, Any]) -> dict[str, Any]:
    from pipeline.run import stages

    with error_policy():
        out = stages.publish(checked["work_dir"], _params()["db_path"])
    get_current_context()["outlet_events"][COHORT_DB].extra = {
        "db_path": str(Path(out["db_path"]).resolve()),
        "run_id": out["run_id"],
        "run_number": out["run_number"],
        # Counts only (never a patient id): what changed since the previous publish.
        "new_persistent": out["changes"]["new_persistent"],
        "changes": out["changes"]["changes"],
    }
    log.info(
        "Published run %s (run number %s) to %s",
        *(out[k] for k in ("run_id", "run_number", "db_path")),
    )
    return {**checked, **out}


def _remove_work_dir(published: dict[str, Any]) -> None:
    import shutil

    if _params().get("keep_work_dir"):
        log.info("Keeping the work folder %s", published["work_dir"])
        return
    shutil.rmtree(published["work_dir"], ignore_errors=True)
    log.info("Removed the work folder %s", published["work_dir"])


screening_dag = sigmd_screening()
