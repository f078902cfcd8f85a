"""The `sigmd` command: run a screening, generate a synthetic extract, or run the demo.

`main(argv)` is testable without a subprocess. User errors (a refused extract, a bad rules
folder or mapping file) print one line naming the file, column and reason, and exit with the
error's code; no traceback, and the published database is left as it was. Heavy libraries are
imported inside the commands so that `sigmd --help` starts quickly.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipeline.errors import ExtractRefused, SigmdError

if TYPE_CHECKING:
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
def run(
    extract_dir: Path,
    db_path: Path,
    source_format: str,
    rules_dir: Path | None,
    mapping: Path | None,
) -> None:
    """Screen one extract and publish the cohort database.

    \b
    Example:
      sigmd run --extract /data/extracts/2024-06 --db /data/cohort/sigmd.duckdb
      sigmd run --extract site_b/ --db sigmd.duckdb --rules site_b_rules/ --mapping site_b_codes.csv

    Exits 0 on success. A refused extract exits non-zero with one line naming the file, column
    and reason, and leaves the previously published database unchanged.
    """
    result = screen_and_publish(
        extract_dir, db_path, source_format=source_format, rules_dir=rules_dir, mapping=mapping
    )
    print_summary(result, db_path)
    print_changes(db_path)


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
) -> ScreenResult:
    from rich.console import Console

    from pipeline.run.engine import screen_extract
    from pipeline.validate.suites import preload

    preload()  # import Great Expectations in the background while the extract is read
    check_db_name(db_path)
    from pipeline.publish.publish import publish
    from pipeline.rules import load_rules
    from pipeline.validate.report import docs_dir_for, validate_cohort

    docs_dir = docs_dir_for(db_path)
    console = Console(stderr=True)
    with console.status("Screening ...") as status:

        def progress(step: str) -> None:
            status.update(f"Screening: {step} ...")

        rules = load_rules(rules_dir)
        result = screen_extract(
            extract_dir,
            source_format=source_format,
            rules=rules,
            mapping=mapping,
            progress=progress,
            docs_dir=docs_dir,
        )
        status.update("Validating the cohort ...")
        report = validate_cohort(result, rules=rules, docs_dir=docs_dir)
        status.update("Publishing the cohort database ...")
        publish(result, db_path, validation=report)
    return result


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


def print_summary(result: ScreenResult, db_path: Path) -> None:
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
    click.echo(f"Cohort database: {db_path}")
    from pipeline.validate.report import docs_dir_for
    from pipeline.validate.suites import docs_index

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
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except SigmdError as exc:
        click.echo(f"sigmd: error: {exc}", err=True)
        return exc.exit_code
    except Exception as exc:
        if not type(exc).__module__.startswith("polars"):
            raise
        # Polars messages can quote a line of the input: name only the kind of failure.
        error = ExtractRefused(f"an input file could not be read ({type(exc).__name__})")
        click.echo(f"sigmd: error: {error}", err=True)
        return error.exit_code
    return 0


def entry_point() -> None:  # pragma: no cover - the console script
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    entry_point()
