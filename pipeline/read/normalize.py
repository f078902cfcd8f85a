"""Validate and normalise each canonical table: what is used, quarantined or ignored.

Every input row ends in exactly one of three places: *used* (it passed validation and is
relevant), *quarantined* (it failed a row-level check; `audit.quarantine` records its file, row
and reason, never its values) or *ignored* (not relevant, e.g. another lab test, or an exact
duplicate of an earlier row). Reasons are checked in a fixed order and the first one wins.

The labs table is the large one: it is scanned once, keeping only immunoglobulin rows (and rows
that cannot be classified) while counting the rest by code system, so that memory follows the Ig
rows only. Exact duplicates are looked for among the rows the screening uses (SPEC §3): every
row of patients, medications and diagnoses, and the relevant rows of labs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from pipeline.errors import ExtractRefused
from pipeline.read.mapping import SiteMapping
from pipeline.read.parse import (
    blank_to_null,
    date_in_range,
    exact_literal,
    lookup,
    parse_censor,
    parse_date,
    parse_int,
    parse_number,
    parse_value,
    to_mg_dl,
)
from pipeline.result import QUARANTINE_SCHEMA
from pipeline.rules import Rules, unit_key

BOOKKEEPING = ("_file", "_row")

# Spellings of sex seen in extracts; anything else is 'U' (unknown).
SEX_SPELLINGS = {
    "F": "F", "FEMALE": "F", "W": "F", "WOMAN": "F", "FEM": "F",
    "M": "M", "MALE": "M", "MAN": "M", "MASC": "M",
}  # fmt: skip


@dataclass
class TableOutcome:
    """Rows of one table sorted into used / quarantined / ignored."""

    used: pl.DataFrame
    quarantine: pl.DataFrame
    ignored: pl.DataFrame  # reason, rows
    read: int
    # labs only: rows and rows in a unit unknown for the analyte, per analyte and file
    # (`unknown_unit_counts`), for the share check of a bucketed run, made on the merge.
    unit_counts: pl.DataFrame | None = None


def dedupe_flag(columns: list[str]) -> pl.Expr:
    """True for every exact duplicate of an earlier row (all columns equal after trimming)."""
    return pl.struct(columns).is_first_distinct().not_()


def first_reason(checks: list[tuple[pl.Expr, str]]) -> pl.Expr:
    """The reason of the first failing check, or null when every check passes."""
    expr: Any = pl.when(checks[0][0]).then(pl.lit(checks[0][1]))
    for condition, reason in checks[1:]:
        expr = expr.when(condition).then(pl.lit(reason))
    return expr.otherwise(pl.lit(None, pl.String))


def patient_checks(state: pl.Expr) -> list[tuple[pl.Expr, str]]:
    """Row checks shared by every table that refers to a patient (after a join on state)."""
    return [
        (pl.col("patient_id").is_null(), "missing_patient_id"),
        (state.is_null(), "unknown_patient"),
        (state == "no_birth_data", "patient_without_birth_data"),
        (state == "conflicting_birth_data", "patient_conflicting_birth_data"),
    ]


def split(
    frame: pl.DataFrame, table: str, read: int, extra_ignored: pl.DataFrame | None = None
) -> TableOutcome:
    """Sort a frame with `_dup` and `_reason` columns into the three outcomes."""
    ignored = [pl.DataFrame({"reason": ["exact_duplicate"], "rows": [int(frame["_dup"].sum())]})]
    if extra_ignored is not None:
        ignored.append(extra_ignored.cast({"rows": pl.Int64}))
    kept = frame.filter(~pl.col("_dup"))
    quarantine = kept.filter(pl.col("_reason").is_not_null()).select(
        pl.lit(table).alias("table_name"),
        pl.col("_file").alias("source_file"),
        pl.col("_row").alias("source_row"),
        pl.col("patient_id"),
        pl.col("_reason").alias("reason"),
    )
    ignored_frame = (
        pl.concat(ignored, how="vertical_relaxed")
        .group_by("reason")
        .agg(pl.col("rows").sum().cast(pl.Int64))
        .filter(pl.col("rows") > 0)
        .sort("reason")
    )
    return TableOutcome(
        used=kept.filter(pl.col("_reason").is_null()).drop("_dup", "_reason"),
        quarantine=quarantine.cast(QUARANTINE_SCHEMA),
        ignored=ignored_frame,
        read=read,
    )


def trimmed(frame: pl.LazyFrame, names: list[str] | None = None) -> pl.LazyFrame:
    """Trim the data columns (all by default); empty strings become null."""
    names = data_columns(frame) if names is None else names
    return frame.with_columns(blank_to_null(pl.col(c)).alias(c) for c in names)


def data_columns(frame: pl.LazyFrame | pl.DataFrame) -> list[str]:
    return [c for c in frame.collect_schema().names() if c not in BOOKKEEPING]


# --- patients -------------------------------------------------------------------------------


def validate_patients(
    frame: pl.LazyFrame, rules: Rules, *, latest_date: date | None
) -> tuple[TableOutcome, pl.DataFrame]:
    """Validate patients; return the outcome and one state row per patient id.

    The state frame has patient_id, state (ok | no_birth_data | conflicting_birth_data),
    birth_date and sex. A patient listed twice with different birth data cannot be aged: all
    their rows, in every table, are quarantined. Birth data conflict when two full birth dates
    differ or two years differ; a birth_year equal to the year of the patient's birth_date is
    consistent (SPEC §2), and the full date is used.
    """
    columns = data_columns(frame)
    rows = (
        trimmed(frame)
        .with_columns(
            _dup=dedupe_flag(columns),
            _given=parse_date(pl.col("birth_date")),
            _year_given=parse_int(pl.col("birth_year")),
            _sex=pl.col("sex").str.to_uppercase().replace_strict(SEX_SPELLINGS, default="U"),
        )
        .with_columns(
            _from_year=pl.date(pl.col("_year_given"), rules.birth_year_month, rules.birth_year_day)
        )
        .with_columns(_bad_birth=birth_out_of_range(rules, latest_date))
        .with_columns(
            _birth=pl.when(~pl.col("_bad_birth")).then(
                pl.coalesce(pl.col("_given"), pl.col("_from_year"))
            ),
            _exact=pl.when(~pl.col("_bad_birth")).then(pl.col("_given")),
        )
        .collect()
    )
    kept = rows.filter(~pl.col("_dup") & pl.col("patient_id").is_not_null())
    years = (
        pl.col("_birth")
        .dt.year()
        .append(pl.when(pl.col("_birth").is_not_null()).then(pl.col("_year_given")))
    )
    per_patient = kept.group_by("patient_id").agg(
        pl.col("_exact").drop_nulls().n_unique().alias("_dates"),
        years.drop_nulls().n_unique().alias("_years"),
        pl.coalesce(
            pl.col("_exact").drop_nulls().first(), pl.col("_birth").drop_nulls().first()
        ).alias("birth_date"),
        pl.col("_sex").unique().alias("_sexes"),
    )
    state = per_patient.select(
        "patient_id",
        pl.when((pl.col("_dates") > 1) | (pl.col("_years") > 1))
        .then(pl.lit("conflicting_birth_data"))
        .when(pl.col("_years") == 0)
        .then(pl.lit("no_birth_data"))
        .otherwise(pl.lit("ok"))
        .alias("state"),
        "birth_date",
        # One known sex wins over 'U'; two different known sexes are unknown.
        pl.when(pl.col("_sexes").list.set_difference(["U"]).list.len() == 1)
        .then(pl.col("_sexes").list.set_difference(["U"]).list.first())
        .otherwise(pl.lit("U"))
        .alias("sex"),
    )
    rows = rows.join(state.select("patient_id", "state"), on="patient_id", how="left").with_columns(
        _reason=first_reason(
            [
                (pl.col("patient_id").is_null(), "missing_patient_id"),
                (pl.col("state") == "conflicting_birth_data", "conflicting_birth_data"),
                (pl.col("_bad_birth"), "birth_date_out_of_range"),
                (pl.col("_birth").is_null(), "no_birth_data"),
            ]
        )
    )
    outcome = split(rows, "patients", rows.height)
    return outcome, state


def birth_out_of_range(rules: Rules, latest_date: date | None) -> pl.Expr:
    """A row's birth data is a real date, but before the rules' earliest date or after the run
    date (SPEC §2): its birth_date, or its birth_year when that is all it gives."""
    stated = pl.coalesce(pl.col("_given"), pl.col("_from_year"))
    return out_of_range(stated, rules, latest_date)


def patient_state_join(frame: pl.LazyFrame | pl.DataFrame, state: pl.DataFrame) -> pl.LazyFrame:
    return frame.lazy().join(
        state.lazy().select(
            "patient_id", pl.col("state").alias("_state"), pl.col("birth_date").alias("_birth")
        ),
        on="patient_id",
        how="left",
    )


# --- labs -----------------------------------------------------------------------------------


def code_system(test_system: pl.Expr, rules: Rules) -> pl.Expr:
    """A lab row's code system, trimmed and upper-cased; a blank system counts as LOINC."""
    return pl.coalesce(
        blank_to_null(test_system).str.to_uppercase(), pl.lit(rules.code_systems["loinc"][0])
    )


def is_loinc_system(test_system: pl.Expr, rules: Rules) -> pl.Expr:
    """True when a row's code system is a LOINC spelling (or blank)."""
    return code_system(test_system, rules).is_in(list(rules.code_systems["loinc"]))


def classify_labs(frame: pl.LazyFrame, rules: Rules, mapping: SiteMapping | None) -> pl.LazyFrame:
    """Add `_analyte` and `_class` ('relevant' or why the row is ignored) to every lab row."""
    system = code_system(pl.col("test_system"), rules)
    code = blank_to_null(pl.col("test_code"))
    by_loinc = rules.analyte_by_loinc
    frame = frame.with_columns(
        _system=system, _is_loinc=system.is_in(list(rules.code_systems["loinc"])), _code=code
    )
    if mapping is not None:
        frame = frame.join(mapping.codes.lazy(), on=["_system", "_code"], how="left")
        loinc = pl.when(pl.col("_is_loinc")).then(pl.col("_code")).otherwise(pl.col("_loinc"))
    else:
        loinc = pl.when(pl.col("_is_loinc")).then(pl.col("_code"))
    frame = frame.with_columns(_analyte=lookup(loinc, by_loinc))
    return frame.with_columns(
        _class=pl.when(pl.col("_code").is_null())
        .then(pl.lit("relevant"))  # quarantined later as missing_test_code
        .when(pl.col("_analyte").is_not_null())
        .then(pl.lit("relevant"))
        .when(pl.col("_is_loinc") | loinc.is_not_null())
        .then(pl.lit("not_an_analyte"))
        .otherwise(pl.lit("unmapped_local_code"))
    )


# Rows per batch of the streaming pass over the labs: small enough that the batches in flight
# stay well under the memory of the Ig rows, large enough that the Python loop costs nothing.
LAB_BATCH_ROWS = 250_000


def may_be_candidate(test_code: pl.Expr, codes: list[str]) -> pl.Expr:
    """True for every lab row whose trimmed code is blank or one of `codes` (and a few more).

    Cheap enough to run on every row: no string is trimmed or copied. A raw code that contains
    one of the codes, is empty, or starts with whitespace (a blank code trims to nothing) may be
    a candidate; `classify_labs` decides exactly on those few rows.
    """
    starts_blank = test_code.str.contains(r"^\s")
    return (
        test_code.is_null()
        | (test_code.str.len_bytes() == 0)
        | starts_blank
        | (test_code.str.contains_any(codes) if codes else pl.lit(False))
    )


def is_plain_loinc_spelling(test_system: pl.Expr, rules: Rules) -> pl.Expr:
    """True for a code system written exactly as one of the rules' LOINC spellings (`LOINC`):
    no padding, upper case. A cheap comparison for every row; other spellings (blank, `loinc`,
    ` LN `) are LOINC too, and `is_loinc_system` judges them once per distinct spelling."""
    plain = pl.lit(False)
    for spelling in rules.code_systems["loinc"]:
        plain = plain | (test_system == spelling)
    return plain.fill_null(False)


def scan_labs(
    frame: pl.LazyFrame, rules: Rules, mapping: SiteMapping | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One streaming pass over the labs: the relevant rows, and the rows per class.

    The scan keeps every row that may be a *candidate* (`may_be_candidate`: a blank code, an
    immunoglobulin LOINC code or a code of the site mapping, with any code system), and
    `classify_labs` then decides exactly on those few rows. Every other row is only counted, by
    its raw `test_system` spelling: its class depends on its code system alone (LOINC:
    `not_an_analyte`, else `unmapped_local_code`). Rows spelled exactly as the rules spell LOINC
    (in most extracts, nearly every row) are counted by a flag computed in the stream, and only the other
    spellings are grouped in Python. Other rows are not trimmed, hashed or compared: exact
    duplicates are looked for only among the relevant rows (SPEC §3), later. Memory follows the
    candidate rows.
    """
    codes = list(rules.loinc.values())
    if mapping is not None:
        codes += mapping.codes["_code"].drop_nulls().unique().to_list()
    helpers = ["_candidate", "_plain_loinc"]
    scanned = frame.with_columns(
        _candidate=may_be_candidate(pl.col("test_code"), codes),
        _plain_loinc=is_plain_loinc_spelling(pl.col("test_system"), rules),
    )
    kept: list[pl.DataFrame] = []
    systems: list[pl.DataFrame] = []
    plain_loinc = 0
    for batch in scanned.collect_batches(chunk_size=LAB_BATCH_ROWS):
        candidate, other = batch["_candidate"], ~batch["_candidate"]
        kept.append(batch.filter(candidate))
        plain_loinc += int((other & batch["_plain_loinc"]).sum())
        spelled = batch["test_system"].filter(other & ~batch["_plain_loinc"])
        systems.append(spelled.value_counts(name="rows"))
    empty = scanned.head(0).collect()
    candidates = pl.concat([empty, *kept]).drop(helpers)
    classified = classify_labs(candidates.lazy(), rules, mapping).collect()
    relevant = classified.filter(pl.col("_class") == "relevant")
    others = pl.concat(
        [
            pl.DataFrame(schema={"test_system": pl.String, "rows": pl.UInt32}),
            *systems,
        ]
    ).select(
        pl.when(is_loinc_system(pl.col("test_system"), rules))
        .then(pl.lit("not_an_analyte"))
        .otherwise(pl.lit("unmapped_local_code"))
        .alias("_class"),
        pl.col("rows").cast(pl.Int64),
    )
    counts = pl.concat(
        [
            pl.DataFrame({"_class": ["relevant"], "rows": [relevant.height]}),
            pl.DataFrame({"_class": ["not_an_analyte"], "rows": [plain_loinc]}),
            others,
            classified.filter(pl.col("_class") != "relevant").group_by("_class").len("rows"),
        ],
        how="vertical_relaxed",
    )
    class_counts = (
        counts.group_by("_class")
        .agg(pl.col("rows").sum().cast(pl.Int64))
        .filter((pl.col("rows") > 0) | (pl.col("_class") == "relevant"))
        .sort(pl.col("_class") != "relevant", "_class")
    )
    return relevant, class_counts


def validate_labs(
    rows: pl.DataFrame,
    class_counts: pl.DataFrame,
    rules: Rules,
    mapping: SiteMapping | None,
    state: pl.DataFrame,
    *,
    latest_date: date | None,
    refuse: bool = True,
) -> TableOutcome:
    """Validate the relevant lab rows; used rows carry parsed values in the row's unit.

    `refuse=False` (one bucket of an extract) leaves the unknown-unit share to the caller."""
    columns = [c for c in data_columns(rows) if not c.startswith("_")]
    frame = trimmed(
        rows.lazy().drop(
            "_analyte", "_class", "_system", "_is_loinc", "_code", "_loinc", strict=False
        )
    )
    frame = frame.with_columns(_dup=dedupe_flag(columns))
    frame = frame.with_columns(
        rows.lazy().select("_analyte", "_system", "_code").collect().get_columns()
    )
    unit = pl.col("unit")
    if mapping is not None:
        frame = frame.with_columns(_unit_key=unit_key(unit)).join(
            mapping.units.lazy(), on=["_system", "_code", "_unit_key"], how="left"
        )
        unit = pl.coalesce(pl.col("_ucum_unit"), unit)
    frame = frame.with_columns(_unit_key=unit_key(unit)).join(
        rules.units.lazy().rename(
            {"analyte": "_analyte", "unit_key": "_unit_key", "factor_to_mg_dl": "factor"}
        ),
        on=["_analyte", "_unit_key"],
        how="left",
    )
    frame = patient_state_join(frame, state).with_columns(
        collected_date=parse_date(pl.col("collected_date")),
        _date_given=pl.col("collected_date").is_not_null(),
        censor=parse_censor(pl.col("value")),
        number=parse_value(pl.col("value")),
    )
    checks = [
        (pl.col("_code").is_null(), "missing_test_code"),
        *patient_checks(pl.col("_state")),
        (pl.col("collected_date").is_null(), "invalid_date"),
        (out_of_range(pl.col("collected_date"), rules, latest_date), "date_out_of_range"),
        (pl.col("collected_date") < pl.col("_birth"), "date_before_birth"),
        (pl.col("number").is_null(), "unparseable_value"),
        (pl.col("number") < 0, "negative_value"),
        (pl.col("factor").is_null(), "unknown_unit"),
        (
            (
                to_mg_dl(pl.col("number"), pl.col("factor"))
                > exact_literal(rules.implausible_above_mg_dl)
            )
            & ~pl.col("censor").is_in(["<", "<="]).fill_null(False),
            "implausible_value",
        ),
    ]
    frame = frame.with_columns(_reason=first_reason(checks)).select(
        "patient_id",
        pl.col("_analyte").alias("analyte"),
        "collected_date",
        pl.col("value").alias("value_text"),
        "censor",
        "number",
        pl.col("unit").alias("unit_received"),
        "factor",
        parse_number(pl.col("ref_low")).alias("ref_low"),
        parse_number(pl.col("ref_high")).alias("ref_high"),
        "specimen_id",
        pl.col("_birth").alias("birth_date"),
        "_file",
        "_row",
        "_dup",
        "_reason",
    )
    collected = frame.collect()
    unit_counts = unknown_unit_counts(collected)
    if refuse:
        refuse_unknown_unit_share(unit_counts, rules)
    # Other tests are ignored as a whole, never compared: only relevant rows can be duplicates.
    ignored = class_counts.filter(pl.col("_class") != "relevant").select(
        pl.col("_class").alias("reason"), "rows"
    )
    read = int(class_counts["rows"].sum())
    outcome = split(collected, "labs", read, ignored)
    outcome.unit_counts = unit_counts
    return outcome


def unknown_unit_counts(rows: pl.DataFrame) -> pl.DataFrame:
    """Per analyte and file: the rows counted (no duplicates) and those in an unknown unit."""
    return (
        rows.filter(~pl.col("_dup") & pl.col("analyte").is_not_null())
        .group_by("analyte", "_file")
        .agg(
            pl.len().cast(pl.Int64).alias("rows"),
            pl.col("factor").is_null().sum().cast(pl.Int64).alias("unknown"),
        )
    )


def refuse_unknown_unit_share(counts: pl.DataFrame, rules: Rules) -> None:
    """Refuse the extract when too many of an analyte's rows carry a unit unknown for it.

    `counts` are `unknown_unit_counts` of the whole extract (of one run, or of every bucket)."""
    shares = (
        counts.group_by("analyte")
        .agg(pl.col("rows").sum(), pl.col("unknown").sum())
        .filter(
            (pl.col("rows") >= rules.unknown_unit_min_rows)
            & (pl.col("unknown") > rules.max_unknown_unit_share * pl.col("rows"))
        )
        .sort("analyte")
    )
    if shares.is_empty():
        return
    analyte, rows_n, unknown = shares.row(0)
    worst_file = (
        counts.filter((pl.col("analyte") == analyte) & (pl.col("unknown") > 0))
        .group_by("_file")
        .agg(pl.col("unknown").sum())
        .sort(["unknown", "_file"], descending=[True, False])
        .item(0, "_file")
    )
    name = {"igm": "IgM", "igg": "IgG", "iga": "IgA"}[analyte]
    raise ExtractRefused(
        f"{unknown} of {rows_n} {name} rows ({unknown / rows_n:.0%}) have a unit not known for "
        f"{name} (limit {rules.max_unknown_unit_share:.0%}); add the unit to the rules' units.csv "
        "or map it in a --mapping file",
        file=worst_file,
        column="unit",
    )


# --- medications and diagnoses ---------------------------------------------------------------


def out_of_range(day: pl.Expr, rules: Rules, latest_date: date | None) -> pl.Expr:
    """A real date that cannot be one of the extract's (SPEC §2): before the rules' earliest
    date or after `latest_date` (the run date; None for a source whose dates are shifted into
    the future by design, such as MIMIC-IV)."""
    return day.is_not_null() & ~date_in_range(day, rules.earliest_date, latest_date)


def validate_medications(
    frame: pl.LazyFrame, state: pl.DataFrame, rules: Rules, *, latest_date: date | None
) -> TableOutcome:
    columns = data_columns(frame)
    rows = patient_state_join(
        trimmed(frame).with_columns(_dup=dedupe_flag(columns)), state
    ).with_columns(
        start=parse_date(pl.col("start_date")),
        end=parse_date(pl.col("end_date")),
    )
    checks = [
        *patient_checks(pl.col("_state")),
        (pl.col("drug_name").is_null() & pl.col("drug_code").is_null(), "missing_drug"),
        (pl.col("start").is_null(), "invalid_start_date"),
        (out_of_range(pl.col("start"), rules, latest_date), "start_date_out_of_range"),
        (pl.col("end").is_null() & pl.col("end_date").is_not_null(), "invalid_end_date"),
        (out_of_range(pl.col("end"), rules, latest_date), "end_date_out_of_range"),
        (pl.col("end") < pl.col("start"), "end_before_start"),
    ]
    collected = rows.with_columns(_reason=first_reason(checks)).drop("_state", "_birth").collect()
    return split(collected, "medications", collected.height)


def validate_diagnoses(
    frame: pl.LazyFrame, state: pl.DataFrame, rules: Rules, *, latest_date: date | None
) -> TableOutcome:
    columns = data_columns(frame)
    system = pl.col("code_system").str.to_uppercase()
    rows = patient_state_join(
        trimmed(frame).with_columns(_dup=dedupe_flag(columns)), state
    ).with_columns(
        date=parse_date(pl.col("diagnosis_date")),
        system=pl.when(system.is_in(list(rules.code_systems["icd10"])))
        .then(pl.lit("icd10"))
        .when(system.is_in(list(rules.code_systems["icd9"])))
        .then(pl.lit("icd9")),
    )
    checks = [
        *patient_checks(pl.col("_state")),
        (pl.col("code").is_null(), "missing_code"),
        (pl.col("system").is_null(), "unknown_code_system"),
        (pl.col("date").is_null(), "invalid_date"),
        (out_of_range(pl.col("date"), rules, latest_date), "date_out_of_range"),
    ]
    collected = rows.with_columns(_reason=first_reason(checks)).drop("_state", "_birth").collect()
    return split(collected, "diagnoses", collected.height)
