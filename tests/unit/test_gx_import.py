"""The cheap Great Expectations import (pipeline/validate/gx_import.py), each case in a fresh interpreter.

The suites themselves run with this import in tests/unit/test_validate.py and the integration
tests; here we check what the import leaves behind in the process.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap

import pytest

PROBE = """
import json, sys
{before}
from pipeline.validate.gx_import import import_great_expectations, _LazyFinder
gx = import_great_expectations()
from great_expectations.compatibility import sqlalchemy as gx_sa
from great_expectations.execution_engine import pandas_execution_engine as engine
state = {{
    "gx_loaded": "great_expectations" in sys.modules,
    "same_module_again": import_great_expectations() is gx,
    "scipy_stats_lazy": type(sys.modules["scipy.stats"]).__name__ == "_LazyModule",
    "altair_lazy": type(sys.modules["altair"]).__name__ == "_LazyModule",
    "sqlalchemy_in_modules": sys.modules.get("sqlalchemy") is not None,
    "gx_sees_sqlalchemy": bool(gx_sa.sqlalchemy),
    "finder_removed": not any(isinstance(f, _LazyFinder) for f in sys.meta_path),
    "fingerprint_off": engine.HASH_THRESHOLD == 0,
}}
import sqlalchemy  # still importable for anyone else in the process
from scipy import stats  # a lazy module loads on first use
state["sqlalchemy_importable"] = bool(sqlalchemy.__version__)
state["scipy_stats_works"] = float(stats.norm.cdf(0.0)) == 0.5
print(json.dumps(state))
"""


def probe(before: str = "") -> dict[str, bool]:
    code = textwrap.dedent(PROBE.format(before=before))
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, bool] = json.loads(out.strip().splitlines()[-1])
    return result


# SQLAlchemy comes with the airflow dependency group; a core + dev install (.ci/run's Python 3.13
# check) has none, and these probes import it.
needs_sqlalchemy = pytest.mark.skipif(
    importlib.util.find_spec("sqlalchemy") is None,
    reason="SQLAlchemy is not installed (it comes with the airflow group)",
)


@needs_sqlalchemy
def test_gx_imports_with_heavy_optional_parts_deferred_or_hidden():
    state = probe()
    assert state == {
        "gx_loaded": True,
        "same_module_again": True,
        "scipy_stats_lazy": True,
        "altair_lazy": True,
        "sqlalchemy_in_modules": False,
        "gx_sees_sqlalchemy": False,
        "finder_removed": True,
        "fingerprint_off": True,
        "sqlalchemy_importable": True,
        "scipy_stats_works": True,
    }


@needs_sqlalchemy
def test_sqlalchemy_already_imported_is_left_to_gx():
    # An Airflow worker has SQLAlchemy loaded before any task runs: GX then gets it as usual.
    state = probe(before="import sqlalchemy")
    assert state["sqlalchemy_in_modules"] is True
    assert state["gx_sees_sqlalchemy"] is True
    assert state["fingerprint_off"] is True


def test_loading_the_module_quiets_gx_info_but_not_ours():
    import logging

    import pipeline.validate.gx_import  # noqa: F401 - loading it sets the levels

    assert not logging.getLogger("great_expectations._docs_decorators").isEnabledFor(logging.INFO)
    assert logging.getLogger("great_expectations.core").isEnabledFor(logging.WARNING)
    for ours in ("pipeline", "pipeline.validate.suites"):  # left to the application's config
        assert logging.getLogger(ours).level == logging.NOTSET
