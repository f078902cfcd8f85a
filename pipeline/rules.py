"""Load, validate and hash the screening rules.

The rules folder (`pipeline/rules/` by default, or a site's own with `--rules DIR`) holds every
clinical number, code list, window and reference interval. This module reads it once into a
frozen `Rules` object, checks each file's shape so that a broken rules folder fails with one clear
line, and hashes the folder's bytes so each run's audit row says exactly which rules it used.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from pathlib import Path

import polars as pl

from pipeline.errors import RulesError
from pipeline.result import DECIMAL_PLACES, EXACT

ANALYTES = ("igm", "igg", "iga")
DRUG_MATCH_KINDS = ("name", "not_name", "atc", "rxnorm")
DEFAULT_RULES_DIR = Path(str(files("pipeline") / "rules"))


@dataclass(frozen=True)
class Window:
    """Days around the index date in which a cause counts; None before means 'any time before'."""

    category: str
    days_before: int | None
    days_after: int


@dataclass(frozen=True)
class Rules:
    directory: Path
    version: str
    sha256: str
    loinc: dict[str, str]  # analyte -> LOINC code
    min_age_years: int
    birth_year_month: int
    birth_year_day: int
    complete_below_mg_dl: float
    panel_window_days: int
    repeat_low_min_days: int
    exposure_days_without_end: int
    max_unknown_unit_share: float
    unknown_unit_min_rows: int
    implausible_above_mg_dl: float
    earliest_date: date  # a date before this one cannot be a real date of the extract
    code_systems: dict[str, tuple[str, ...]]  # canonical name -> accepted upper-case spellings
    reference_intervals: (
        pl.DataFrame
    )  # analyte, age_from_months, age_to_months, lower_mg_dl, upper_mg_dl (exact decimals)
    units: pl.DataFrame  # analyte, unit_key, factor_to_mg_dl (an exact decimal)
    windows: dict[str, Window]
    drugs: pl.DataFrame  # cause, ingredient, match, value
    diagnoses: pl.DataFrame  # cause, code_system, range_start, range_end, rule
    local_routes: frozenset[str]
    local_name_words: tuple[str, ...]

    @property
    def analyte_by_loinc(self) -> dict[str, str]:
        return {code: analyte for analyte, code in self.loinc.items()}

    def system_of(self, spelling: str | None) -> str | None:
        """Canonical code-system name of a spelling, matched case-insensitively."""
        if spelling is None:
            return None
        key = spelling.strip().upper()
        for name, spellings in self.code_systems.items():
            if key in spellings:
                return name
        return None


def unit_key(expr: pl.Expr) -> pl.Expr:
    """Unit strings compare case-insensitively with spaces ignored; UCUM `[IU]` equals `IU`."""
    return (
        expr.str.to_lowercase()
        .str.replace_all(r"\s+", "")
        .str.replace_all("[iu]", "iu", literal=True)
    )


def undotted_code(expr: pl.Expr) -> pl.Expr:
    """Diagnosis codes match dotted or undotted: compare upper-case, without dots or spaces."""
    return expr.str.to_uppercase().str.replace_all(r"[.\s]", "")


def load_rules(directory: Path | str | None = None) -> Rules:
    """Read and validate a rules folder; raise RulesError naming the file and reason."""
    root = Path(directory) if directory is not None else DEFAULT_RULES_DIR
    if not root.is_dir():
        raise RulesError("rules folder not found", file=str(root))
    criteria = _read_toml(root / "criteria.toml")
    analytes = _section(criteria, "analytes", root / "criteria.toml")
    loinc = {a: str(_key(analytes, a, "criteria.toml")) for a in ANALYTES}
    systems = _section(criteria, "code_systems", root / "criteria.toml")
    windows = _windows(root / "exclusion_windows.csv")
    drugs = _drugs(root / "codelists" / "drugs.csv")
    diagnoses = _diagnoses(root / "codelists" / "diagnoses.csv")
    _check_causes_have_windows(drugs, root / "codelists" / "drugs.csv", windows, DRUG_CATEGORIES)
    _check_causes_have_windows(
        diagnoses, root / "codelists" / "diagnoses.csv", windows, DIAGNOSIS_CATEGORIES
    )
    birth_month = _whole(criteria, "age", "birth_year_month", minimum=1)
    birth_day = _whole(criteria, "age", "birth_year_day", minimum=1)
    try:
        date(date.min.year, birth_month, birth_day)  # year 1 is not a leap year
    except ValueError:
        raise RulesError(
            "[age] birth_year_month and birth_year_day must name a day of every year",
            file="criteria.toml",
        ) from None
    return Rules(
        directory=root,
        version=str(_key(criteria, "version", "criteria.toml")),
        sha256=hash_rules(root),
        loinc=loinc,
        min_age_years=_whole(criteria, "age", "min_age_years"),
        birth_year_month=birth_month,
        birth_year_day=birth_day,
        complete_below_mg_dl=float(_number(criteria, "severity", "complete_below_mg_dl")),
        panel_window_days=_whole(criteria, "panel", "window_days"),
        repeat_low_min_days=_whole(criteria, "persistence", "repeat_low_min_days"),
        exposure_days_without_end=_whole(criteria, "drugs", "exposure_days_without_end"),
        max_unknown_unit_share=float(_number(criteria, "validation", "max_unknown_unit_share")),
        unknown_unit_min_rows=_whole(criteria, "validation", "unknown_unit_min_rows"),
        implausible_above_mg_dl=float(_number(criteria, "validation", "implausible_above_mg_dl")),
        earliest_date=_date(criteria, "validation", "earliest_date"),
        code_systems={k: tuple(s.strip().upper() for s in v) for k, v in systems.items()},
        reference_intervals=_reference_intervals(root / "reference_intervals.csv"),
        units=_units(root / "units.csv"),
        windows=windows,
        drugs=drugs,
        diagnoses=diagnoses,
        **_local_routes(root / "codelists" / "local_routes.csv"),
    )


def hash_rules(root: Path) -> str:
    """SHA-256 over every file of the rules folder (relative path and bytes, in sorted order)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise RulesError("missing rules file", file=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"not valid TOML ({exc})", file=str(path)) from None


def _section(doc: dict, name: str, path: Path) -> dict:
    value = doc.get(name)
    if not isinstance(value, dict):
        raise RulesError(f"missing section [{name}]", file=str(path))
    return value


def _key(doc: dict, key: str, file: str) -> object:
    if key not in doc:
        raise RulesError(f"missing key '{key}'", file=file)
    return doc[key]


def _number(doc: dict, section: str, key: str) -> float:
    value = _section(doc, section, Path("criteria.toml")).get(key)
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise RulesError(f"[{section}] {key} must be a non-negative number", file="criteria.toml")
    return value


def _whole(doc: dict, section: str, key: str, minimum: int = 0) -> int:
    """A criterion counted in whole units (years, days, rows, a month or day of the year).

    Only a TOML integer is accepted: `int()` of 4.5 would silently screen with 4.
    """
    value = _section(doc, section, Path("criteria.toml")).get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        shown = "missing" if value is None else f"got {value!r}"
        raise RulesError(
            f"[{section}] {key} must be a whole number >= {minimum}, written as a TOML integer "
            f"({shown})",
            file="criteria.toml",
        )
    return value


def _date(doc: dict, section: str, key: str) -> date:
    value = _section(doc, section, Path("criteria.toml")).get(key)
    if not isinstance(value, date) or hasattr(value, "hour"):
        raise RulesError(f"[{section}] {key} must be a date (YYYY-MM-DD)", file="criteria.toml")
    return value


def _exact(frame: pl.DataFrame, columns: list[str], path: Path) -> pl.DataFrame:
    """Turn columns of plain decimal text into exact decimals (`EXACT`), never floats.

    A number with more decimals than `EXACT` holds would have to be rounded, and a rounded
    factor or limit could move a result across a limit: such a file is refused.
    """
    precise = rf"^\d+(\.\d{{0,{DECIMAL_PLACES}}})?$"
    for column in columns:
        text = frame[column]
        if (text.is_null() | ~text.str.contains(r"^\d+(\.\d*)?$")).any():
            raise RulesError("a value is not of the expected type", file=str(path), column=column)
        if (~text.str.contains(precise)).any():
            raise RulesError(
                f"must be a non-negative decimal number with at most {DECIMAL_PLACES} decimals",
                file=str(path),
                column=column,
            )
    return frame.with_columns(pl.col(c).cast(EXACT) for c in columns)


def _read_csv(path: Path, columns: dict[str, type[pl.DataType]]) -> pl.DataFrame:
    if not path.is_file():
        raise RulesError("missing rules file", file=str(path))
    frame = pl.read_csv(path, infer_schema=False)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RulesError("missing required column", file=str(path), column=missing[0])
    frame = frame.select(pl.col(c).str.strip_chars() for c in columns)
    try:
        return frame.cast(columns)  # type: ignore[arg-type]
    except pl.exceptions.InvalidOperationError:
        raise RulesError("a value is not of the expected type", file=str(path)) from None


def _reference_intervals(path: Path) -> pl.DataFrame:
    frame = _read_csv(
        path,
        {
            "analyte": pl.String,
            "age_from_months": pl.Int32,
            "age_to_months": pl.Int32,
            "lower_mg_dl": pl.String,
            "upper_mg_dl": pl.String,
        },
    ).with_columns(pl.col("analyte").str.to_lowercase())
    frame = _exact(frame, ["lower_mg_dl", "upper_mg_dl"], path)
    for analyte in ANALYTES:
        bands = frame.filter(pl.col("analyte") == analyte).sort("age_from_months")
        if bands.is_empty() or bands["age_from_months"][0] != 0:
            raise RulesError(f"no age band from 0 months for {analyte}", file=str(path))
        ends = bands["age_to_months"].to_list()
        starts = bands["age_from_months"].to_list()
        if ends[-1] is not None or any(e != s for e, s in zip(ends[:-1], starts[1:], strict=True)):
            raise RulesError(
                f"age bands for {analyte} must be contiguous and open-ended", file=str(path)
            )
        if (bands["lower_mg_dl"] >= bands["upper_mg_dl"]).any():
            raise RulesError(f"a band for {analyte} has lower >= upper", file=str(path))
    return frame


def _units(path: Path) -> pl.DataFrame:
    frame = _read_csv(path, {"analyte": pl.String, "unit": pl.String, "factor_to_mg_dl": pl.String})
    frame = _exact(frame, ["factor_to_mg_dl"], path).with_columns(
        pl.col("analyte").str.to_lowercase()
    )
    unknown = set(frame["analyte"]) - {*ANALYTES, "*"}
    if unknown:
        raise RulesError("analyte must be igm, igg, iga or *", file=str(path), column="analyte")
    # Expand '*' rows to every analyte; an analyte-specific row wins over '*'.
    star = frame.filter(pl.col("analyte") == "*")
    expanded = pl.concat(
        [frame.filter(pl.col("analyte") != "*")]
        + [star.with_columns(pl.lit(a).alias("analyte")) for a in ANALYTES]
    )
    return (
        expanded.with_columns(unit_key(pl.col("unit")).alias("unit_key"))
        .unique(["analyte", "unit_key"], keep="first", maintain_order=True)
        .select("analyte", "unit_key", "factor_to_mg_dl")
    )


def _windows(path: Path) -> dict[str, Window]:
    frame = _read_csv(
        path,
        {
            "cause": pl.String,
            "category": pl.String,
            "days_before_index": pl.Int32,
            "days_after_index": pl.Int32,
        },
    )
    windows = {}
    for row in frame.iter_rows(named=True):
        if row["category"] not in ("drug", "malignancy", "other"):
            raise RulesError("category must be drug, malignancy or other", file=str(path))
        if row["days_after_index"] is None:
            raise RulesError(f"days_after_index missing for {row['cause']}", file=str(path))
        windows[row["cause"]] = Window(
            row["category"], row["days_before_index"], row["days_after_index"]
        )
    return windows


def _drugs(path: Path) -> pl.DataFrame:
    frame = _read_csv(
        path, {"cause": pl.String, "ingredient": pl.String, "match": pl.String, "value": pl.String}
    ).with_columns(
        pl.col("match").str.to_lowercase(),
        pl.col("ingredient").str.to_lowercase(),
    )
    if frame["match"].is_in(DRUG_MATCH_KINDS).not_().any():
        raise RulesError(
            "match must be name, not_name, atc or rxnorm", file=str(path), column="match"
        )
    if frame["value"].is_null().any():
        raise RulesError("empty value", file=str(path), column="value")
    return frame.with_columns(
        pl.when(pl.col("match").is_in(["name", "not_name"]))
        .then(pl.col("value").str.to_lowercase())
        .otherwise(pl.col("value").str.to_uppercase())
        .alias("value")
    )


def _diagnoses(path: Path) -> pl.DataFrame:
    frame = _read_csv(
        path,
        {
            "cause": pl.String,
            "code_system": pl.String,
            "range_start": pl.String,
            "range_end": pl.String,
            "rule": pl.String,
        },
    ).with_columns(
        pl.col("code_system").str.to_lowercase(),
        undotted_code(pl.col("range_start")).alias("range_start"),
        undotted_code(pl.col("range_end")).alias("range_end"),
        pl.col("rule").str.to_lowercase(),
    )
    if frame["code_system"].is_in(["icd10", "icd9"]).not_().any():
        raise RulesError("code_system must be ICD10 or ICD9", file=str(path), column="code_system")
    if frame["rule"].is_in(["include", "exclude"]).not_().any():
        raise RulesError("rule must be include or exclude", file=str(path), column="rule")
    return frame


# The window categories a cause of each code list may have: a drug match is always reported
# as a drug (status excluded_drug), a diagnosis as a malignancy or another secondary cause.
DRUG_CATEGORIES = ("drug",)
DIAGNOSIS_CATEGORIES = ("malignancy", "other")


def _check_causes_have_windows(
    frame: pl.DataFrame, path: Path, windows: dict[str, Window], categories: tuple[str, ...]
) -> None:
    """Every cause of a code list needs its row in exclusion_windows.csv: without a window the
    cause could never exclude anyone, so its matches would be dropped without a word. The
    window's category must suit the list (a diagnosis with a drug window would give a patient
    the status excluded_drug)."""
    if frame["cause"].is_null().any():
        raise RulesError("empty value", file=str(path), column="cause")
    for cause in frame["cause"].unique(maintain_order=True):
        window = windows.get(cause)
        if window is None:
            problem = "has no row in exclusion_windows.csv"
        elif window.category not in categories:
            problem = (
                f"has the category '{window.category}' in exclusion_windows.csv; "
                f"a cause of this list must be {' or '.join(categories)}"
            )
        else:
            continue
        raise RulesError(f"cause '{cause}' {problem}", file=str(path), column="cause")


def _local_routes(path: Path) -> dict:
    frame = _read_csv(path, {"kind": pl.String, "value": pl.String}).with_columns(
        pl.col("value").str.to_lowercase()
    )
    routes = frame.filter(pl.col("kind") == "route")["value"]
    words = frame.filter(pl.col("kind") == "name_word")["value"]
    return {"local_routes": frozenset(routes), "local_name_words": tuple(words)}


def applied_criteria(rules: Rules) -> dict:
    """The numbers of the screening definition as these rules set them, for audit.runs.criteria
    (SPEC §4): what the report and `sigmd explain` quote, rather than the shipped defaults."""
    return {
        "min_age_years": rules.min_age_years,
        "complete_below_mg_dl": rules.complete_below_mg_dl,
        "panel_window_days": rules.panel_window_days,
        "repeat_low_min_days": rules.repeat_low_min_days,
        "exposure_days_without_end": rules.exposure_days_without_end,
        "implausible_above_mg_dl": rules.implausible_above_mg_dl,
        "windows": [
            {
                "cause": cause,
                "category": w.category,
                "days_before_index": w.days_before,
                "days_after_index": w.days_after,
            }
            for cause, w in rules.windows.items()
        ],
        "reference_intervals": rules.reference_intervals.sort("analyte", "age_from_months")
        .select("analyte", "age_from_months", "age_to_months", "lower_mg_dl", "upper_mg_dl")
        .to_dicts(),
    }
