"""Screen one extract: read, validate, normalise, judge, find causes, assign statuses.

This is the one place that wires the modules together, in the order of SPEC §3, timing each
step. It returns a `ScreenResult` of collected frames; publishing is a separate step, so a run
that fails here never touches the published database.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import polars as pl

from pipeline.errors import ExtractRefused, RulesError
from pipeline.read import normalize
from pipeline.read.mapping import SiteMapping, load_mapping
from pipeline.read.sources import DATE_SHIFTED_FORMATS, read_extract
from pipeline.read.sources.files import Extract, naming_unreadable_file
from pipeline.result import (
    EXCLUSIONS_SCHEMA,
    QUARANTINE_SCHEMA,
    ROW_COUNTS_SCHEMA,
    InputFile,
    Normalised,
    ScreenResult,
)
from pipeline.rules import Rules, applied_criteria, load_rules
from pipeline.screen import exclusions, funnel, limits, panels
from pipeline.validate import report as validate
from pipeline.validate.suites import preload as preload_suites

TABLES = ("labs", "patients", "medications", "diagnoses")

Progress = Callable[[str], None]


def code_version() -> str:
    try:
        return version("sigmd")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0+unknown"


def make_run_id(
    inputs: list[InputFile], rules: Rules, mapping: SiteMapping | None, source_format: str
) -> str:
    """Identify what was screened: same inputs, rules, mapping, format and code -> same id."""
    payload = {
        "inputs": sorted((i.table, Path(i.path).name, i.sha256) for i in inputs),
        "rules": rules.sha256,
        "mapping": mapping.sha256 if mapping else None,
        "format": source_format,
        "code": code_version(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


class Timer:
    def __init__(self, progress: Progress | None):
        self.timings: dict[str, float] = {}
        self.progress = progress

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        if self.progress:
            self.progress(name)
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 4)


def screen_extract(
    extract_dir: Path | str,
    *,
    source_format: str = "canonical",
    rules_dir: Path | str | None = None,
    rules: Rules | None = None,
    mapping: Path | str | None = None,
    progress: Progress | None = None,
    suites: bool = True,
    results_dir: Path | None = None,
    run_date: date | None = None,
) -> ScreenResult:
    """Screen one extract folder and return the cohort, audit and quarantine frames."""
    rules = rules or load_rules(rules_dir)
    normalised = normalise_extract(
        extract_dir,
        source_format=source_format,
        rules=rules,
        mapping=mapping,
        progress=progress,
        suites=suites,
        results_dir=results_dir,
        run_date=run_date,
    )
    return screen_normalised(normalised, rules, progress=progress)


def normalise_extract(
    extract_dir: Path | str,
    *,
    source_format: str = "canonical",
    rules_dir: Path | str | None = None,
    rules: Rules | None = None,
    mapping: Path | str | None = None,
    progress: Progress | None = None,
    suites: bool = True,
    results_dir: Path | None = None,
    run_date: date | None = None,
) -> Normalised:
    """Read and validate an extract: every row used, quarantined or ignored (stage 1 of 2).

    With `suites`, the Great Expectations suite of the raw extract runs too (its import starts
    in the background now, overlapping the reading); `results_dir` (run-scoped) keeps its result
    for the Data Docs. `run_date` (default: the UTC day the run started) is the last day an
    extract's date may be: a later date quarantines its row (SPEC §2).
    """
    started_at = datetime.now(UTC)
    if suites:
        preload_suites()
    timer = Timer(progress)
    with timer.step("load rules"):
        rules = rules or load_rules(rules_dir)
    with timer.step("read extract"):
        extract = read_extract(extract_dir, source_format)
        site_mapping = load_mapping(mapping or extract.default_mapping, rules)
    normalised, _ = normalise_read(
        extract,
        extract_dir=str(Path(extract_dir)),
        source_format=source_format,
        rules=rules,
        site_mapping=site_mapping,
        started_at=started_at,
        timer=timer,
        suites=suites,
        results_dir=results_dir,
        run_date=run_date,
    )
    return normalised


# The columns of the Ig lab rows (as read) that the extract suite looks at
# (`validate.extract_suite`).
EXTRACT_SUITE_COLUMNS = ("patient_id", "collected_date", "test_code", "value", "unit", "_analyte")


@dataclass
class WholeExtractFacts:
    """What the checks of a whole extract need from one part of it (one patient bucket)."""

    relevant: pl.DataFrame  # the Ig lab rows as read: the extract suite's columns
    unit_counts: pl.DataFrame  # normalize.unknown_unit_counts
    has_igm: bool  # a usable IgM result was found


def normalise_read(
    extract: Extract,
    *,
    extract_dir: str,
    source_format: str,
    rules: Rules,
    site_mapping: SiteMapping | None,
    started_at: datetime,
    timer: Timer | None = None,
    suites: bool = True,
    results_dir: Path | None = None,
    run_date: date | None = None,
    whole: bool = True,
) -> tuple[Normalised, WholeExtractFacts]:
    """Normalise an extract already read. `whole=False` (one bucket of an extract) skips the
    checks that need the whole extract; the facts returned let the merge make them once.
    `run_date` (default: the UTC day the run started) is the last day an extract's date may be:
    a later date quarantines its row (SPEC §2); date-shifted formats have no such limit."""
    timer = timer or Timer(None)
    latest_date = None if source_format in DATE_SHIFTED_FORMATS else (run_date or started_at.date())
    with naming_unreadable_file(extract):
        outcomes, state, relevant = _validate_tables(
            extract.tables, rules, site_mapping, timer, latest_date, whole=whole
        )
    labs, meds, diags = outcomes["labs"], outcomes["medications"], outcomes["diagnoses"]
    assert labs is not None and labs.unit_counts is not None
    run_id = make_run_id(extract.inputs, rules, site_mapping, source_format)
    quarantine, counts = quarantine_frame(outcomes), row_counts(outcomes)
    checks = [*validate.passed_table_checks(), *validate.row_checks(quarantine, counts)]
    if suites and whole:
        with timer.step("validate extract (great expectations)"):
            checks += validate.extract_suite(
                relevant, rules, run_name=f"{run_id}-extract", results_dir=results_dir
            )
        validate.ValidationReport(checks).raise_if_failed(refusal=True)
    normalised = Normalised(
        run_id=run_id,
        source_format=source_format,
        extract_dir=extract_dir,
        rules_version=rules.version,
        rules_sha256=rules.sha256,
        mapping_sha256=site_mapping.sha256 if site_mapping else None,
        code_version=code_version(),
        inputs=extract.inputs,
        labs=labs.used,
        patients=state.filter(pl.col("state") == "ok"),
        medications=meds.used if meds else None,
        diagnoses=diags.used if diags else None,
        quarantine=quarantine,
        row_counts=counts,
        ignored_reasons=ignored_frame(outcomes),
        started_at=started_at,
        timings=timer.timings,
        validation=validate.checks_frame(checks),
    )
    facts = WholeExtractFacts(
        relevant=relevant.select(*EXTRACT_SUITE_COLUMNS),
        unit_counts=labs.unit_counts,
        has_igm=has_igm(labs.used),
    )
    return normalised, facts


def has_igm(used_labs: pl.DataFrame) -> bool:
    return bool((used_labs["analyte"] == "igm").any())


def refuse_without_igm(rules: Rules) -> None:
    raise ExtractRefused(
        "no usable IgM result (LOINC " + rules.loinc["igm"] + ") in the extract", file="labs"
    )


Outcomes = dict[str, normalize.TableOutcome | None]


def _validate_tables(
    tables: dict[str, pl.LazyFrame | None],
    rules: Rules,
    site_mapping: SiteMapping | None,
    timer: Timer,
    latest_date: date | None,
    *,
    whole: bool = True,
) -> tuple[Outcomes, pl.DataFrame, pl.DataFrame]:
    """Sort every row of every table into used / quarantined / ignored (one pass per table).
    The extract is refused here unless `whole` is False (a bucket: the merge decides)."""
    with timer.step("validate patients"):
        assert tables["patients"] is not None  # mandatory: read_extract refuses without it
        patients, state = normalize.validate_patients(
            tables["patients"], rules, latest_date=latest_date
        )
    with timer.step("scan labs"):
        assert tables["labs"] is not None
        rows, class_counts = normalize.scan_labs(tables["labs"], rules, site_mapping)
        labs = normalize.validate_labs(
            rows, class_counts, rules, site_mapping, state, latest_date=latest_date, refuse=whole
        )
    if whole and not has_igm(labs.used):
        refuse_without_igm(rules)
    with timer.step("validate medications and diagnoses"):
        meds = (
            normalize.validate_medications(
                tables["medications"], state, rules, latest_date=latest_date
            )
            if tables["medications"] is not None
            else None
        )
        diags = (
            normalize.validate_diagnoses(tables["diagnoses"], state, rules, latest_date=latest_date)
            if tables["diagnoses"] is not None
            else None
        )
    outcomes = {"labs": labs, "patients": patients, "medications": meds, "diagnoses": diags}
    return outcomes, state, rows


def screen_normalised(
    normalised: Normalised, rules: Rules, *, progress: Progress | None = None
) -> ScreenResult:
    """Judge results, find causes and assign statuses (stage 2 of 2)."""
    if rules.sha256 != normalised.rules_sha256:
        raise RulesError(
            "the rules changed between normalising and screening this extract; re-run it whole",
            file="rules",
        )
    timer = Timer(progress)
    with timer.step("judge results"):
        ig = limits.ig_results(normalised.labs, rules)
        panel_rows = panels.isolated_panels(ig, rules)
        index = panels.index_dates(panel_rows)
    with timer.step("find secondary causes"):
        causes = exclusions.find_causes(
            normalised.medications, normalised.diagnoses, index, rules
        ).cast(EXCLUSIONS_SCHEMA)
    with timer.step("assign statuses"):
        patients_ok = normalised.patients
        screened = funnel.screening(
            ig, index, causes, patients_ok, rules=rules, run_id=normalised.run_id
        )
        attrition = funnel.attrition(screened, patients_ok.height, rules)
        persistence = funnel.persistence(ig, index, causes, rules)
    return ScreenResult(
        run_id=normalised.run_id,
        source_format=normalised.source_format,
        extract_dir=normalised.extract_dir,
        rules_version=normalised.rules_version,
        rules_sha256=normalised.rules_sha256,
        mapping_sha256=normalised.mapping_sha256,
        code_version=normalised.code_version,
        inputs=normalised.inputs,
        screening=screened,
        ig_results=ig,
        exclusions=causes,
        attrition=attrition,
        quarantine=normalised.quarantine,
        row_counts=normalised.row_counts,
        ignored_reasons=normalised.ignored_reasons,
        started_at=normalised.started_at,
        timings={**normalised.timings, **timer.timings},
        validation=normalised.validation,
        panels=panels.panel_table(panel_rows),
        persistence=persistence,
        criteria=applied_criteria(rules),
    )


def quarantine_frame(outcomes: Outcomes) -> pl.DataFrame:
    return sorted_quarantine([o.quarantine for o in outcomes.values() if o is not None])


def sorted_quarantine(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Quarantined rows of several tables (or buckets) in one order: table, file, row."""
    return pl.concat([pl.DataFrame(schema=QUARANTINE_SCHEMA), *frames]).sort(
        ["table_name", "source_file", "source_row"]
    )


def ignored_frame(outcomes: Outcomes) -> pl.DataFrame:
    frames = [
        o.ignored.select(pl.lit(name).alias("table_name"), "reason", "rows")
        for name, o in outcomes.items()
        if o is not None
    ]
    return pl.concat(frames).sort(["table_name", "reason"])


def row_counts(outcomes: Outcomes) -> pl.DataFrame:
    """read = used + quarantined + ignored, per table (absent optional tables read 0 rows)."""
    rows = []
    for name in TABLES:
        o = outcomes.get(name)
        if o is None:
            rows.append((name, 0, 0, 0, 0))
            continue
        ignored = int(o.ignored["rows"].sum())
        used = o.used.height
        if used + o.quarantine.height + ignored != o.read:  # pragma: no cover - an invariant
            raise AssertionError(f"row accounting does not add up for table {name}")
        rows.append((name, o.read, used, o.quarantine.height, ignored))
    return pl.DataFrame(rows, schema=ROW_COUNTS_SCHEMA, orient="row")
