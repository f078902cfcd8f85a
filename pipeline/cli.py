"""The `sigmd` command: run a screening, generate a synthetic extract, or run the demo.

`main(argv)` is testable without a subprocess. User errors (a refused extract, a bad rules
folder or mapping file) print one line naming the file, column and reason, and exit with the
error's code; no traceback, and the published database is left as it was. Heavy libraries are
imported inside the commands so that `sigmd --help` starts quickly.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipeline.errors import ExtractRefused, PublishError, SigmdError, ValidationFailed

if TYPE_CHECKING:
    from pipeline.publish.journal import Attempt
    from pipeline.result import ScreenResult

FORMATS = ("canonical", "mimic-iv", "omop")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="sigmd")
def cli() -> None:
    """Screen de-identified hospital lab extracts for Selective IgM deficiency (SIgMD).

    Patients with low serum IgM and normal IgG and IgA, after excluding drug-induced and
    cancer-related causes, are found in a lab extract and written to a DuckDB cohort database
    that analysts open read-only.

    \b
    Try it on synthetic data:   sigmd demo
    Screen a real extract:      sigmd run --extract extracts/2024-06 --db sigmd.duckdb
    """


@cli.command()
@click.option(
    "--extract",
    "extract_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Extract folder: labs, patients and optional medications, diagnoses tables "
    "(CSV, CSV.gz or Parquet; a table may be split over files sharing its prefix).",
)
@click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Cohort database to publish (DuckDB). Replaced atomically; run history kept.",
)
@click.option(
    "--format",
    "source_format",
    type=click.Choice(FORMATS),
    default="canonical",
    show_default=True,
    help="Layout of the extract folder.",
)
@click.option(
    "--rules",
    "rules_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="A site's rules folder replacing the shipped defaults (criteria, reference "
    "intervals, code lists).",
)
@click.option(
    "--mapping",
    type=click.Path(path_type=Path, dir_okay=False),
    help="CSV mapping the site's local lab codes and units to LOINC/UCUM "
    "(columns test_system, test_code, loinc[, local_unit, ucum_unit]).",
)
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=600,
    show_default=True,
    help="Seconds to wait while another run writes to the same database; then exit 7.",
)
@click.option(
    "--docs-history",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Runs kept in the Data Docs (the validation report next to the database).",
)
@click.option(
    "--buckets",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Split the extract by patient into N buckets screened one after the other, so that "
    "peak memory follows one bucket (docs/scaling.md). The result is the same for every N.",
)
def run(
    *,
    extract_dir: Path,
    db_path: Path,
    source_format: str,
    rules_dir: Path | None,
    mapping: Path | None,
    lock_timeout: float,
    docs_history: int,
    buckets: int,
) -> None:
    """Screen one extract and publish the cohort database.

    \b
    Example:
      sigmd run --extract /data/extracts/2024-06 --db /data/cohort/sigmd.duckdb
      sigmd run --extract site_b/ --db sigmd.duckdb --rules site_b_rules/ --mapping site_b_codes.csv
      sigmd run --extract /data/extracts/2024-06 --db sigmd.duckdb --buckets 8

    Exits 0 on success. A refused extract exits non-zero with one line naming the file, column
    and reason, and leaves the previously published database unchanged. Runs writing to one
    database take turns (a lock file beside it): a second run waits up to --lock-timeout
    seconds, then exits 7. Exit codes: README.md ("Exit codes").
    """
    new_folder = not db_path.parent.exists()  # publishing creates it: the summary says so
    result = screen_and_publish(
        extract_dir,
        db_path,
        source_format=source_format,
        rules_dir=rules_dir,
        mapping=mapping,
        lock_timeout=lock_timeout,
        docs_history=docs_history,
        buckets=buckets,
    )
    with contextlib.suppress(OSError):  # published: a closed or full stdout changes nothing
        print_summary(result, db_path, created_folder=new_folder)
        print_changes(db_path)


@cli.command()
@click.option(
    "--extract",
    "extract_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Extract folder, as for `sigmd run`.",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder for the buckets (bucket=K/<table>/part-*.parquet and partition.json); a previous "
    "partition there is replaced.",
)
@click.option(
    "--buckets", required=True, type=click.IntRange(min=1), help="Number of patient buckets."
)
@click.option(
    "--format",
    "source_format",
    type=click.Choice(FORMATS),
    default="canonical",
    show_default=True,
    help="Layout of the extract folder.",
)
def partition(extract_dir: Path, out_dir: Path, buckets: int, source_format: str) -> None:
    """Split an extract by patient into N buckets of Parquet files, in one streaming pass.

    Each patient's rows, in every table, go to bucket sha256(patient_id) mod N
    (docs/scaling.md); each row keeps its original file and row number. A refused extract is
    refused here, as by `sigmd run`.

    \b
    Example:
      sigmd partition --extract /data/extracts/2024-06 --out /shared/work/2024-06 --buckets 32
    """
    from pipeline.read.buckets import partition_extract

    done = partition_extract(extract_dir, out_dir, buckets, source_format)
    for table in done.tables:
        click.echo(
            f"{table}: {done.rows_read[table]} rows read, {sum(done.rows[table])} written "
            f"over {done.buckets} buckets"
        )
    click.echo(f"Partition: {out_dir}")


@cli.command()
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder to write the extract into (created if missing).",
)
@click.option(
    "--patients",
    "n_patients",
    required=True,
    type=click.IntRange(min=1),
    help="Number of patients (planted cases are always included).",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Random seed (same seed, same files)."
)
@click.option(
    "--file-format",
    type=click.Choice(["csv", "csv.gz", "parquet"]),
    default="csv",
    show_default=True,
    help="File type of the tables.",
)
@click.option(
    "--labs-per-patient",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Average number of other (non-immunoglobulin) lab results per patient.",
)
def generate(
    out_dir: Path, n_patients: int, seed: int, file_format: str, labs_per_patient: float
) -> None:
    """Write a synthetic canonical extract with planted cases of every status.

    Next to the tables, truth.csv gives the expected status and severity of every patient with
    an IgM result, so that a screening can be checked against it.

    \b
    Example:
      sigmd generate --out synthetic/ --patients 5000 --seed 7
    """
    from pipeline.synth import generate_extract

    summary = generate_extract(
        out_dir,
        n_patients,
        seed=seed,
        file_format=file_format,
        other_labs_per_patient=labs_per_patient,
    )
    click.echo(
        f"Wrote {summary.n_patients} patients, {summary.n_lab_rows} lab rows "
        f"({summary.n_planted} planted cases) to {out_dir}"
    )


@cli.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("sigmd-demo"),
    show_default=True,
    help="Folder for the demo extract and database.",
)
@click.option(
    "--patients",
    "n_patients",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    help="Number of synthetic patients.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
def demo(out_dir: Path, n_patients: int, seed: int) -> None:
    """Generate a synthetic extract and screen it, on the shipped default rules.

    \b
    Example:
      sigmd demo
      duckdb -readonly sigmd-demo/sigmd.duckdb "select status, count(*) from cohort.screening group by 1"
    """
    from pipeline.synth import generate_extract

    extract_dir = out_dir / "extract"
    click.echo(
        f"Generating a synthetic extract of {n_patients} patients in {extract_dir} ...", err=True
    )
    generate_extract(extract_dir, n_patients, seed=seed)
    db_path = out_dir / "sigmd.duckdb"
    result = screen_and_publish(extract_dir, db_path)
    print_summary(result, db_path)
    from pipeline.report.render import write_report

    click.echo(f"Analyst report: {write_report(db_path, out_dir / 'sigmd-report.html')}")


@cli.command()
@click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Cohort database published by sigmd run (opened read-only).",
)
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="HTML file to write (self-contained: opens offline, prints cleanly).",
)
@click.option(
    "--min-cell",
    type=click.IntRange(min=0),
    default=7,
    show_default=True,
    help="Counts of 1 to this many patients are shown as '≤N'; others are rounded to 5.",
)
@click.option(
    "--no-suppression",
    is_flag=True,
    help="Show exact counts (internal use only: every page is marked NOT FOR RELEASE).",
)
def report(db_path: Path, out_path: Path, min_cell: int, no_suppression: bool) -> None:
    """Write the analyst report of a cohort database as one HTML file.

    The funnel, what each rule removes on its own, sex and age band at each step, IgM by age
    band, the secondary causes with code descriptions, the time to the repeat test, row
    accounting and the run's provenance and criteria. Small counts are suppressed as
    OpenSAFELY does (1-7 shown as ≤7, others rounded to 5); no patient id is shown.

    \b
    Example:
      sigmd report --db sigmd.duckdb --out sigmd-report.html
      sigmd report --db sigmd.duckdb --out internal.html --no-suppression
    """
    from pipeline.report.render import write_report

    path = write_report(db_path, out_path, min_cell=min_cell, suppression=not no_suppression)
    click.echo(f"Report: {path}")


@cli.command()
@click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Cohort database published by sigmd run (opened read-only).",
)
@click.argument("patient_id")
def explain(db_path: Path, patient_id: str) -> None:
    """Print one patient's path through the screening, step by step.

    Every immunoglobulin result (unit as received, mg/dL, limits and their source), the IgG
    and IgA chosen for each low IgM and why, the index date, each secondary cause with its
    window, the persistence decision, the status and the severity. Exits 2 when the patient
    id is not in the database.

    \b
    Example:
      sigmd explain --db sigmd-demo/sigmd.duckdb P0000056
    """
    from pipeline.report.explain import explain as trace

    click.echo(trace(db_path, patient_id))


@cli.command()
@click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Cohort database published by sigmd run or the DAG.",
)
@click.option(
    "--since",
    metavar="RUN",
    help="A run id or run number: the net changes from that run to the latest one "
    "(default: the latest publish against the one before it).",
)
@click.option(
    "--patients",
    is_flag=True,
    help="Also list each changed patient (patient ids: for internal use, never to share).",
)
@click.option(
    "--purge-before",
    metavar="RUN",
    help="Forget cohort.status_history rows of runs numbered below RUN (rewrites the database "
    "atomically), then print nothing else.",
)
def changes(db_path: Path, since: str | None, patients: bool, purge_before: str | None) -> None:
    """Print what changed since the previous delivery: patients per change and status.

    Changes are new_patient, status_changed, severity_changed and no_longer_in_extract; patients
    whose status and severity are unchanged are not counted. Counts only, unless --patients.

    \b
    Example:
      sigmd changes --db /data/cohort/sigmd.duckdb
      sigmd changes --db sigmd.duckdb --since 12 --patients
      sigmd changes --db sigmd.duckdb --purge-before 40
    """
    from pipeline.publish.changes import read_changes, summarise
    from pipeline.publish.purge import purge_history

    if purge_before is not None:
        number, deleted = purge_history(db_path, purge_before)
        click.echo(f"Removed {deleted} rows of cohort.status_history before run {number}.")
        return
    found = read_changes(db_path, since)
    first = (
        "the first publish" if found.since_run_number is None else f"run {found.since_run_number}"
    )
    span = f"run {found.latest_run_number} against the previous publish"
    if found.since_run_number is not None:
        span = f"run {found.latest_run_number} against {first}"
    if found.rows.is_empty():
        click.echo(f"No changes in {span}.")
        return
    click.echo(f"Changes in {span}:")
    counts = found.counts()
    header = ("change", "previous status", "new status", "patients")
    table = [header] + [(c, p or "-", n or "-", str(k)) for c, p, n, k in counts.iter_rows()]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        cells = [f"{cell:<{w}}" for cell, w in zip(row[:3], widths, strict=False)]
        click.echo("  " + "  ".join([*cells, f"{row[3]:>{widths[3]}}"]))
    totals = summarise(found.rows)
    click.echo(
        f"{found.rows.height} patients changed; {totals['new_persistent']} newly persistent."
    )
    if patients:
        click.echo("Patients (internal use only):")
        for row in found.rows.iter_rows(named=True):
            click.echo(
                f"  {row['patient_id']}  {row['change']}  "
                f"{row['previous_status'] or '-'} -> {row['new_status'] or '-'}  "
                f"({row['previous_severity'] or '-'} -> {row['new_severity'] or '-'})"
            )


def screen_and_publish(
    extract_dir: Path,
    db_path: Path,
    *,
    source_format: str = "canonical",
    rules_dir: Path | None = None,
    mapping: Path | None = None,
    lock_timeout: float = 600,
    docs_history: int = 20,
    buckets: int = 1,
) -> ScreenResult:
    """Screen and publish under the database's lock; a refusal is recorded in the run journal.

    The Data Docs are published before the database, so a failure to write them (a full disk)
    exits 6 with the published database unchanged."""
    from rich.console import Console

    from pipeline.run.engine import screen_extract
    from pipeline.validate.suites import preload

    preload()  # import Great Expectations in the background while the extract is read
    check_db_name(db_path)
    from pipeline.publish.journal import recording_refusals
    from pipeline.publish.lock import database_lock
    from pipeline.publish.publish import check_publishable, publish
    from pipeline.rules import load_rules
    from pipeline.validate.docs import publish_data_docs
    from pipeline.validate.report import docs_dir_for, validate_cohort

    check_publishable(db_path)  # before any work: never screen for a file we would not replace
    attempt = new_attempt(extract_dir, source_format)
    docs_dir = docs_dir_for(db_path)
    results_dir = docs_dir / ".work" / f"{attempt.attempt_id}.results"
    console = Console(stderr=True)
    with (
        console.status("Waiting for other runs on this database ...") as status,
        database_lock(db_path, lock_timeout),
        recording_refusals(db_path, attempt, lock_timeout=lock_timeout),
        docs_published_on_failure(results_dir, docs_dir, attempt.attempt_id, docs_history),
    ):

        def progress(step: str) -> None:
            status.update(f"Screening: {step} ...")

        rules = load_rules(rules_dir)
        if buckets > 1:
            from pipeline.run.merge import screen_bucketed

            result = screen_bucketed(
                extract_dir,
                buckets,
                source_format=source_format,
                rules=rules,
                mapping=mapping,
                progress=progress,
                results_dir=results_dir,
                # under the Data Docs' .work folder: removed with the run, or by the next run
                # that takes the lock if this one dies
                work_root=results_dir.parent,
            )
        else:
            result = screen_extract(
                extract_dir,
                source_format=source_format,
                rules=rules,
                mapping=mapping,
                progress=progress,
                results_dir=results_dir,
            )
        status.update("Validating the cohort ...")
        report = validate_cohort(result, rules=rules, results_dir=results_dir)
        status.update("Writing the Data Docs ...")
        publish_data_docs(results_dir, docs_dir, attempt_id=attempt.attempt_id, keep=docs_history)
        status.update("Publishing the cohort database ...")
        publish(result, db_path, validation=report, attempt_id=attempt.attempt_id)
    return result


def new_attempt(extract_dir: Path, source_format: str) -> Attempt:
    from pipeline.publish.journal import Attempt
    from pipeline.publish.lock import new_attempt_id
    from pipeline.run.engine import code_version

    return Attempt(
        new_attempt_id(), datetime.now(UTC), str(extract_dir), source_format, code_version()
    )


@contextlib.contextmanager
def docs_published_on_failure(
    results_dir: Path, docs_dir: Path, attempt_id: str, keep: int
) -> Iterator[None]:
    """Show a run that failed a suite in the Data Docs too; always remove the run's results."""
    from pipeline.validate.docs import publish_data_docs

    try:
        yield
    except (ExtractRefused, ValidationFailed):
        with contextlib.suppress(SigmdError):  # the refusal is what the user must see
            publish_data_docs(results_dir, docs_dir, attempt_id=attempt_id, keep=keep)
        raise
    finally:
        shutil.rmtree(results_dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            results_dir.parent.rmdir()  # the run-scoped folders' parent, once empty


def check_db_name(db_path: Path) -> None:
    """DuckDB names a database after its file: `cohort.duckdb` would make `cohort.screening`
    ambiguous (catalog or schema?) for every analyst query, so refuse those names up front."""
    from pipeline.errors import PublishError
    from pipeline.publish.publish import SCHEMAS, catalog_name

    if catalog_name(db_path) in SCHEMAS:
        raise PublishError(
            f"choose another file name: DuckDB would name the database '{catalog_name(db_path)}', "
            f"which clashes with the schema of the same name (try sigmd.duckdb)",
            file=db_path.name,
        )


def print_summary(result: ScreenResult, db_path: Path, *, created_folder: bool = False) -> None:
    counts = result.status_counts()
    click.echo(
        f"Screened {result.screening.height} patients with an IgM result (run {result.run_id})."
    )
    width = max(len(s) for s in counts)
    for status, n in counts.items():
        click.echo(f"  {status:<{width}}  {n:>8}")
    quarantined = int(result.row_counts["quarantined"].sum())
    if quarantined:
        click.echo(f"{quarantined} input rows quarantined (see audit.quarantine).")
    created = f" (created the folder {db_path.parent})" if created_folder else ""
    click.echo(f"Cohort database: {db_path}{created}")
    from pipeline.validate.docs import docs_index
    from pipeline.validate.report import docs_dir_for

    click.echo(f"Validation report (Data Docs): {docs_index(docs_dir_for(db_path))}")


def print_changes(db_path: Path) -> None:
    """One line: what changed against the previously published cohort (counts only)."""
    from pipeline.publish.changes import summary

    counts = summary(db_path)
    listed = ", ".join(f"{n} {change}" for change, n in counts["changes"].items() if n)
    click.echo(
        f"Since the previous publish: {listed or 'no change'}; "
        f"{counts['new_persistent']} newly persistent (sigmd changes --db {db_path})."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of exiting (for tests)."""
    try:
        cli.main(
            args=list(argv) if argv is not None else None, prog_name="sigmd", standalone_mode=False
        )
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        show_usage_error(exc)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except SigmdError as exc:
        click.echo(f"sigmd: error: {exc}", err=True)
        return exc.exit_code
    except OSError as exc:
        from pipeline.publish.lock import describe_os_error, is_environment_fault

        if not is_environment_fault(exc):
            raise
        # Before the replace every write is caught where it happens; this is the safety net
        # for the machine's own faults (a full disk, a read-only or forbidden folder).
        where = Path(str(exc.filename)).name if exc.filename else "a file"
        fault = PublishError(f"could not write {where} ({describe_os_error(exc)})")
        click.echo(f"sigmd: error: {fault}", err=True)
        return fault.exit_code
    except Exception as exc:
        if not type(exc).__module__.startswith("polars"):
            raise
        # Polars messages can quote a line of the input: name only the kind of failure.
        error = ExtractRefused(f"an input file could not be read ({type(exc).__name__})")
        click.echo(f"sigmd: error: {error}", err=True)
        return error.exit_code
    return 0


def show_usage_error(exc: click.ClickException) -> None:
    """Click's usage and hint lines, then the error with the same prefix as our own errors."""
    ctx = exc.ctx if isinstance(exc, click.UsageError) else None
    if ctx is not None:
        click.echo(ctx.get_usage(), err=True)
        click.echo(f"Try '{ctx.command_path} --help' for help.", err=True)
    click.echo(f"sigmd: error: {exc.format_message()}", err=True)


def entry_point() -> None:  # pragma: no cover - the console script
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    entry_point()
