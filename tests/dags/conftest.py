"""Fixtures for the DAG tests: a private AIRFLOW_HOME, its metadata database, the DAG module.

Airflow reads its configuration when it is first imported, so the environment is set by a
session fixture before any test here imports it (no test module imports Airflow at top level).
The metadata database (SQLite, `airflow db migrate`, about 5 s) is made once per session, and
only for the tests that run the DAG.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
DAG_FILE = DAGS / "sigmd_screening.py"


def airflow_env(home: Path) -> dict[str, str]:
    """The variables of an offline Airflow in `home`, as the README's local run sets them."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }


@pytest.fixture(scope="session", autouse=True)
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("airflow-home")
    if "airflow" in sys.modules and os.environ.get("AIRFLOW_HOME") != str(home):
        pytest.fail("Airflow was imported before the DAG tests could set AIRFLOW_HOME")
    with pytest.MonkeyPatch.context() as mp:
        for name, value in airflow_env(home).items():
            mp.setenv(name, value)
        for name in list(os.environ):
            if name.startswith("SIGMD_"):  # the DAG's defaults must not come from the caller
                mp.delenv(name)
        yield home


@pytest.fixture(scope="session")
def airflow_db(airflow_home: Path) -> Path:
    """A migrated metadata database in the session's AIRFLOW_HOME."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )
    return airflow_home


def load_dag_module(name: str = "sigmd_screening_under_test", path: Path = DAG_FILE) -> ModuleType:
    """Import the DAG file as a fresh module (its defaults are read from the environment)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def dag_module(airflow_home: Path) -> ModuleType:
    return load_dag_module()
