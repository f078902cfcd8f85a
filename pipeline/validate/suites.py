"""Run the Great Expectations suites of `expectations/` on the frames each stage produces.

The suites are versioned JSON, one per stage (`extract`, `ig_results`, `cohort`); the clinical
numbers and value sets they need (`$PARAMETER`s) come from the rules at run time, so the rules
stay the single source. We validate pandas frames made from Arrow (GX's SQL source does not work
with DuckDB) with result format BOOLEAN_ONLY: GX keeps no failing value, so its results, the
Data Docs and our logs never show patient data.

Importing great_expectations takes seconds even when made cheap (`pipeline.validate.gx_import`):
`preload()` starts that import in a background thread at the beginning of a run, so it overlaps
with reading the extract.

Every suite runs in an in-memory (ephemeral) GX context: no GX file is written while
validating, so no crash can leave a broken GX project behind. With a `results_dir` (run-scoped),
each suite's result is saved there atomically, for `pipeline.validate.docs` to render as Data Docs.
"""

from __future__ import annotations

import json
import logging
import threading
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.validate.check import Check
from pipeline.validate.gx_import import import_great_expectations
from pipeline.validate.results import save_result

log = logging.getLogger(__name__)

SUITES_DIRS = (
    Path(__file__).parents[1] / "_expectations",  # installed wheel
    Path(__file__).parents[2] / "expectations",  # source tree
)
DATASOURCE = "sigmd"

_import_thread: threading.Thread | None = None


def preload() -> None:
    """Start importing great_expectations in the background (idempotent)."""
    global _import_thread  # noqa: PLW0603 - one import thread per process
    if _import_thread is None:
        _import_thread = threading.Thread(target=_import_gx, name="import-gx", daemon=True)
        _import_thread.start()


def _import_gx() -> None:
    import_great_expectations()


def suites_dir() -> Path:
    for candidate in SUITES_DIRS:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("no expectations folder found next to the pipeline package")


@cache
def load_suite(name: str) -> dict[str, Any]:
    """The JSON of one suite, e.g. `load_suite("cohort")`."""
    suite: dict[str, Any] = json.loads((suites_dir() / f"{name}.json").read_text("utf-8"))
    return suite


def run_suite(
    name: str,
    frame: pl.DataFrame,
    parameters: dict[str, Any],
    *,
    run_name: str,
    results_dir: Path | None = None,
) -> list[Check]:
    """Validate `frame` against suite `name`; one `Check` per expectation (no values).

    With `results_dir`, GX's result is saved there as `<name>.json` (for the Data Docs).
    """
    preload()
    assert _import_thread is not None
    _import_thread.join()
    gx = import_great_expectations()
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig

    suite_json = load_suite(name)
    context: Any = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_or_update_pandas(DATASOURCE)
    asset = next((a for a in source.assets if a.name == name), None) or (
        source.add_dataframe_asset(name)
    )
    batch = next(iter(asset.batch_definitions), None) or (
        asset.add_batch_definition_whole_dataframe("whole")
    )
    suite = context.suites.add_or_update(gx.ExpectationSuite(**suite_json))
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=batch, suite=suite)
    )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=name,
            validation_definitions=[definition],
            actions=[],
            result_format={"result_format": "BOOLEAN_ONLY"},
        )
    )
    outcome = checkpoint.run(
        batch_parameters={"dataframe": pandas_frame(frame)},
        expectation_parameters=parameters,
        run_id=RunIdentifier(run_name=run_name),
    )
    [(key, result)] = outcome.run_results.items()
    if results_dir is not None:
        store = context.validation_results_store
        save_result(results_dir, name, key.to_tuple(), store.serialize(result))
    checks = []
    for item in result.results:
        config = item.expectation_config
        assert config is not None
        meta = config.meta or {}
        kwargs = config.kwargs
        checks.append(
            Check(
                stage=suite_json["meta"]["stage"],
                name=meta.get("check", config.type),
                column=kwargs.get("column") or kwargs.get("column_A"),
                level=meta.get("level", "table"),
                success=bool(item.success),
                engine="great_expectations",
            )
        )
    failed = sum(not c.success for c in checks)
    log.info("suite %s: %d expectations, %d failed", name, len(checks), failed)
    return checks


# Integer dtypes GX compares with a vectorised test; any other one is compared value by value.
NARROW_INTEGERS = (pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16, pl.UInt32)


def pandas_frame(frame: pl.DataFrame) -> Any:
    """The pandas frame GX validates, in dtypes it compares vectorised.

    GX's `expect_column_values_to_be_between` on pandas is vectorised for int64, float64 and
    datetimes only; any other dtype is tested by a Python function called once per value. The
    exact decimals of `ig_results` (Decimal(38, 12)) would arrive as Python `Decimal` objects:
    making them costs about 1 s of CPU, and checking them another 1 s, for the 600k results of a
    20M-row extract. So narrow integers become int64 (exactly) and decimals float64. Nothing is
    judged on the float64: every clinical comparison, and the exact row checks that quarantine
    a negative or implausible value, are made in decimal before this point; the suite re-checks
    plausibility bounds and the order of the limits as a gate. float64 keeps the order of two
    such decimals unless they lie within 10**-12 of each other above 4,096 mg/dL (below that, a
    double's spacing is finer than the decimals' step of 10**-12).
    """
    converted = frame.with_columns(
        pl.col(pl.Decimal).cast(pl.Float64), pl.col(NARROW_INTEGERS).cast(pl.Int64)
    )
    return converted.to_pandas(use_pyarrow_extension_array=False)
