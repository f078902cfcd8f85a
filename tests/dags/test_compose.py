"""The structure of docker-compose.yml, the Dockerfile and .env.example (Docker does not run here).

The deployment is run for real, without Docker, by tests/integration/test_celery.py; these tests
check that the compose file describes the same topology: a CeleryExecutor Airflow 3 on
PostgreSQL and Redis, one image built from our lock, one environment for every Airflow
component, ports on 127.0.0.1 only, and our data folders mounted.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = {"api-server", "scheduler", "dag-processor", "triggerer", "celery-worker"}
ALL_SERVICES = AIRFLOW_SERVICES | {"airflow-init", "postgres", "redis"}
COMMANDS = {
    "api-server": ["api-server"],
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer"],
    "celery-worker": ["celery", "worker"],
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict[str, Any]]:
    return compose["services"]


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def mount_target(volume: str) -> str:
    """`source:target[:mode]` -> target (the source may hold `${VAR:-default}`)."""
    match = re.search(r":(/[^:]+)(?::(?:ro|rw))?$", volume)
    assert match, volume
    return match.group(1)


def test_compose_has_every_component(services):
    assert set(services) == ALL_SERVICES
    for name, command in COMMANDS.items():
        assert services[name]["command"] == command, name


def test_airflow_components_share_one_image_built_from_the_lock(services):
    images = {services[name]["image"] for name in AIRFLOW_SERVICES | {"airflow-init"}}
    assert len(images) == 1 and next(iter(images)).startswith("sigmd-airflow")
    for name in AIRFLOW_SERVICES | {"airflow-init"}:
        assert services[name]["build"] == {"context": ".", "dockerfile": "Dockerfile"}
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11", dockerfile, re.M)
    assert "COPY pyproject.toml uv.lock" in dockerfile
    assert dockerfile.count("uv sync --frozen") == 2  # dependencies layer, then the project
    assert "--group airflow" in dockerfile and "--no-dev" in dockerfile
    assert 'ENTRYPOINT ["airflow"]' in dockerfile


def test_dockerignore_keeps_data_and_environments_out_of_the_image():
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    ignored = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert {".git", ".venv", ".env", "data", "*.duckdb", "tests"} <= set(ignored)
    assert "*.csv" not in ignored  # the rules folder is CSV files
    for needed in ("pyproject.toml", "uv.lock", "pipeline", "sql", "expectations", "dags"):
        assert needed not in ignored


def test_every_airflow_component_gets_the_same_environment(services):
    common = env_of(services["scheduler"])
    for name in AIRFLOW_SERVICES:
        assert env_of(services[name]) == common, name
    init = env_of(services["airflow-init"])
    assert {k: init[k] for k in common} == common
    assert common["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert common["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert common["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert "@postgres:5432/" in common["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert common["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
    assert common["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
    assert common["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://api-server:8080/execution/"


def test_secrets_come_from_the_environment_and_are_required(services):
    common = env_of(services["scheduler"])
    for key in (
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__CORE__FERNET_KEY",
    ):
        assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", common[key]), key
    text = (ROOT / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    example = (ROOT / ".env.example").read_text()
    defined = set(re.findall(r"^([A-Z_]+)=", example, re.M))
    assert required <= defined, f"missing from .env.example: {required - defined}"
    assert required >= {"POSTGRES_PASSWORD", "REDIS_PASSWORD", "AIRFLOW_JWT_SECRET"}


def test_the_compose_settings_are_those_the_topology_test_runs(services):
    spec = importlib.util.spec_from_file_location(
        "topology_for_compose_test", ROOT / "tests" / "integration" / "topology.py"
    )
    assert spec is not None and spec.loader is not None
    topology = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = topology  # dataclasses look their module up
    spec.loader.exec_module(topology)
    tested = topology.airflow_settings(
        Path("/tmp/home"), ROOT / "dags", {"postgres": 1, "redis": 2, "api": 3}
    )
    common = env_of(services["scheduler"])
    shared = {
        "AIRFLOW__CORE__EXECUTOR",
        "AIRFLOW__CORE__DAGS_FOLDER",
        "AIRFLOW__CORE__LOAD_EXAMPLES",
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CELERY__BROKER_URL",
        "AIRFLOW__CELERY__RESULT_BACKEND",
        "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__API_AUTH__JWT_SECRET",
    }
    assert shared <= set(common) and shared <= set(tested)
    assert tested["AIRFLOW__CORE__EXECUTOR"] == common["AIRFLOW__CORE__EXECUTOR"]
    components = {name: list(args[:2]) for name, args in topology.AIRFLOW_COMPONENTS}
    assert {name: cmd[: len(COMMANDS[name])] for name, cmd in components.items()} == COMMANDS


def test_ports_are_bound_to_localhost_only(services):
    published = [(n, p) for n, s in services.items() for p in s.get("ports", [])]
    assert published, "the API server must be reachable on 127.0.0.1"
    for name, port in published:
        assert isinstance(port, str) and port.startswith("127.0.0.1:"), (name, port)
    assert {n for n, _ in published} == {"api-server"}


def test_data_folders_and_dags_are_mounted(services):
    for name in AIRFLOW_SERVICES | {"airflow-init"}:
        volumes = services[name]["volumes"]
        targets = {mount_target(v): v for v in volumes}
        assert targets["/data/extracts"].endswith(":ro"), "extracts are read-only"
        assert targets["/data/landing"].endswith(":ro"), "the landing zone is read-only"
        assert not targets["/data/output"].endswith(":ro")
        assert "/opt/sigmd/dags" in targets
    env = env_of(services["scheduler"])
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/sigmd/dags"
    assert env["SIGMD_DB_PATH"].startswith("/data/output/")
    assert env["SIGMD_WORK_DIR"].startswith("/data/output/")
    assert env["SIGMD_EXTRACT_DIR"].startswith("/data/extracts/")
    assert env["SIGMD_LANDING_DIR"] == "/data/landing"
    dag_source = "".join(p.read_text() for p in sorted((ROOT / "dags").glob("*.py")))
    for variable in (k for k in env if k.startswith("SIGMD_")):
        assert f'"{variable}"' in dag_source, f"no DAG reads {variable}"


def test_startup_order_and_healthchecks(services):
    for name in ("postgres", "redis", *AIRFLOW_SERVICES):
        assert services[name]["healthcheck"]["test"], name
    for name in AIRFLOW_SERVICES | {"airflow-init"}:
        depends = services[name]["depends_on"]
        assert depends["postgres"] == {"condition": "service_healthy"}
        assert depends["redis"] == {"condition": "service_healthy"}
    for name in AIRFLOW_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["airflow-init"] == {"condition": "service_completed_successfully"}
    assert services["celery-worker"]["depends_on"]["api-server"] == {"condition": "service_healthy"}
    init = " ".join(services["airflow-init"]["command"])
    assert "airflow db migrate" in init and "AIRFLOW_ADMIN_PASSWORD" in init
    jobs = {"scheduler": "SchedulerJob", "dag-processor": "DagProcessorJob"}
    jobs["triggerer"] = "TriggererJob"
    for name, job in jobs.items():
        assert job in services[name]["healthcheck"]["test"], name
