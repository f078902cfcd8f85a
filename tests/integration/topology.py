"""The docker-compose topology of sigmd's Airflow, on one machine without Docker, for tests.

`Topology` starts a private PostgreSQL cluster (initdb into a temporary folder) and a private
Redis, both on free 127.0.0.1 ports, then the Airflow 3 components as processes sharing one
environment (CeleryExecutor, the same JWT secret): `db migrate`, `api-server`, `scheduler`,
`dag-processor`, `triggerer` and a `celery worker`. Every process runs in its own process
group and is stopped (then killed) on `stop()`, which also removes the temporary folders. Each
component writes to its own log file under `<root>/logs/`; `diagnostics()` returns their tails
and the task logs, for a failing test to print.

Use it as a context manager:

    with Topology(dags_folder=Path("dags")) as top:
        top.start()
        top.airflow("dags", "unpause", "sigmd_screening")

PostgreSQL refuses to run as root: when the tests run as root (CI containers), the cluster is
created and run as the `postgres` user that the Debian package creates.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

AIRFLOW_COMPONENTS = (
    ("api-server", ("api-server", "--workers", "1")),
    ("scheduler", ("scheduler",)),
    ("dag-processor", ("dag-processor",)),
    ("triggerer", ("triggerer",)),
    (
        "celery-worker",
        ("celery", "worker", "--concurrency", "2", "--without-gossip", "--without-mingle"),
    ),
)


class TopologyError(RuntimeError):
    """A service could not be started, or a wait ran out of time."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_bin_dir() -> Path | None:
    """The folder holding `initdb` and `postgres`: SIGMD_PG_BIN, Debian's newest, else PATH."""
    candidates: list[Path] = []
    if configured := os.environ.get("SIGMD_PG_BIN"):
        candidates.append(Path(configured))

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(p) for p in re.findall(r"\d+", path.parent.name))

    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder
    return None


def airflow_settings(home: Path, dags_folder: Path, ports: dict[str, int]) -> dict[str, str]:
    """The AIRFLOW__* settings of the topology (ports: postgres, redis, api)."""
    from cryptography.fernet import Fernet

    db = f"airflow@127.0.0.1:{ports['postgres']}/airflow"
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder.resolve()),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{ports['api']}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{db}",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{ports['redis']}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://{db}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(ports["api"]),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        # A quick loop for a test; the defaults suit production.
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "PYTHONUNBUFFERED": "1",
    }


def missing_services() -> list[str]:
    """What this machine lacks to run the topology (empty when all is there)."""
    missing = []
    if postgres_bin_dir() is None:
        missing.append("PostgreSQL server (Debian package postgresql)")
    elif os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            missing.append("a 'postgres' user to run PostgreSQL as (we are root)")
    if shutil.which("redis-server") is None:
        missing.append("redis-server (Debian package redis-server)")
    return missing


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    stop_signal: int = signal.SIGTERM


@dataclass
class Topology:
    """PostgreSQL, Redis and the Airflow components of the compose file, as local processes."""

    dags_folder: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    # Celery workers to start (the compose file's `--scale celery-worker=N`). Each reports its
    # own hostname (`worker_hostname.py`), so a test can tell which one ran a task.
    workers: int = 1
    root: Path = field(init=False)
    processes: list[Process] = field(default_factory=list, init=False)
    env: dict[str, str] = field(default_factory=dict, init=False)
    ports: dict[str, int] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="sigmd-topology-"))
        self.root.chmod(0o755)  # the postgres user must reach its data folder inside
        (self.root / "logs").mkdir()
        self._stopped = False
        atexit.register(self.stop)  # a backstop: the owner calls stop() in a finally

    def __enter__(self) -> Topology:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- services -------------------------------------------------------------------------------

    def start(self, timeout: float = 180) -> None:
        """Start every service and wait until the API server answers (then see `wait_for_dag`)."""
        deadline = time.monotonic() + timeout
        self.start_postgres()
        self.start_redis()
        self.env = self.airflow_env()
        self.airflow("db", "migrate", timeout=max(30.0, deadline - time.monotonic()))
        for name, args in AIRFLOW_COMPONENTS:
            if name == "celery-worker":
                for i in range(1, self.workers + 1):
                    self.start_worker(i, args)
                continue
            self._spawn(name, [self.airflow_executable(), *args], env=self.env)
        self.wait_for(self.api_server_healthy, "the API server", deadline)

    def start_postgres(self) -> None:
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            raise TopologyError("no PostgreSQL server binaries found (install postgresql)")
        data = self.root / "postgres"
        data.mkdir()
        run_as: dict[str, Any] = {}
        if os.geteuid() == 0:  # initdb and postgres refuse root
            user = pwd.getpwnam("postgres")
            os.chown(data, user.pw_uid, user.pw_gid)
            run_as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": [], "cwd": data}
        self._run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "airflow",
                "--auth=trust",  # a private cluster on 127.0.0.1, removed after the test
                "-E",
                "UTF8",
                "--no-sync",
            ],
            "initdb",
            **run_as,
        )
        port = self.ports["postgres"] = free_port()
        # Durability is not needed for a throw-away cluster: skip the fsyncs.
        settings = ["fsync=off", "synchronous_commit=off", "full_page_writes=off"]
        settings += ["max_connections=300", "unix_socket_directories="]
        command = [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port)]
        command += ["-h", "127.0.0.1", *(a for s in settings for a in ("-c", s))]
        self._spawn("postgres", command, stop_signal=signal.SIGINT, **run_as)
        self.wait_for(self.postgres_ready, "PostgreSQL", time.monotonic() + 60)
        with self.postgres_connection("postgres", autocommit=True) as con:
            con.execute("create database airflow")

    def start_redis(self) -> None:
        redis_server = shutil.which("redis-server")
        if redis_server is None:
            raise TopologyError("redis-server not found (install redis-server)")
        folder = self.root / "redis"
        folder.mkdir()
        port = self.ports["redis"] = free_port()
        command = [redis_server, "--port", str(port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(folder)]
        self._spawn("redis", command)
        self.wait_for(self.redis_ready, "Redis", time.monotonic() + 30)

    def airflow_env(self) -> dict[str, str]:
        """One environment for every Airflow component, as x-airflow-common in the compose file."""
        self.ports["api"] = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SIGMD_"))}
        env.update(airflow_settings(self.root / "airflow", self.dags_folder, self.ports))
        env.update(self.extra_env)
        return env

    def start_worker(self, i: int, args: Sequence[str]) -> None:
        if self.workers == 1:
            self._spawn("celery-worker", [self.airflow_executable(), *args], env=self.env)
            return
        named = [*args, "--celery-hostname", f"sigmd-worker-{i}@%h"]
        self._spawn(
            f"celery-worker-{i}", [self.airflow_executable(), *named], env=self.worker_env(i)
        )

    def worker_env(self, i: int) -> dict[str, str]:
        """Worker `i`'s environment: its own log server port and hostname (`sigmd-worker-i`)."""
        env = dict(self.env)
        path = [str(Path(__file__).parent), *filter(None, [env.get("PYTHONPATH")])]
        env.update(
            {
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "worker_hostname.hostname",
                "SIGMD_TOPOLOGY_WORKER": f"sigmd-worker-{i}",
                "PYTHONPATH": os.pathsep.join(path),
            }
        )
        return env

    # --- readiness ------------------------------------------------------------------------------

    def postgres_connection(self, dbname: str = "airflow", autocommit: bool = False) -> Any:
        import psycopg

        return psycopg.connect(
            host="127.0.0.1",
            port=self.ports["postgres"],
            user="airflow",
            dbname=dbname,
            connect_timeout=2,
            autocommit=autocommit,
        )

    def postgres_ready(self) -> bool:
        try:
            with self.postgres_connection("postgres"):
                return True
        except Exception:
            return False

    def redis_ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.ports["redis"]), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def api_server_healthy(self) -> bool:
        url = f"http://127.0.0.1:{self.ports['api']}/api/v2/monitor/health"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the Airflow metadata database (for waits and diagnostics)."""
        with self.postgres_connection() as con:
            return con.execute(sql, params).fetchall()

    def wait_for(
        self, ready: Callable[[], bool], what: str, deadline: float, interval: float = 0.5
    ) -> None:
        while not ready():
            self.check_alive()
            if time.monotonic() > deadline:
                raise TopologyError(f"timed out waiting for {what}")
            time.sleep(interval)

    def check_alive(self) -> None:
        for p in self.processes:
            if p.popen.poll() is not None:
                raise TopologyError(f"{p.name} exited with code {p.popen.returncode}")

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> None:
        """Until the DAG processor has parsed and serialised the DAG."""

        def parsed() -> bool:
            return bool(self.query("select 1 from serialized_dag where dag_id = %s", dag_id))

        self.wait_for(parsed, f"the DAG {dag_id} to be parsed", time.monotonic() + timeout, 1)

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 240) -> str:
        """Until the DAG run finishes; returns its final state."""
        finished = ("success", "failed")
        state: list[str] = []

        def done() -> bool:
            rows = self.query(
                "select state from dag_run where dag_id = %s and run_id = %s", dag_id, run_id
            )
            state[:] = [rows[0][0]] if rows else []
            return bool(state) and state[0] in finished

        self.wait_for(done, f"the run {run_id} to finish", time.monotonic() + timeout, 1)
        return state[0]

    # --- commands -------------------------------------------------------------------------------

    @staticmethod
    def airflow_executable() -> str:
        script = Path(sys.executable).with_name("airflow")
        return str(script) if script.exists() else "airflow"

    def airflow(self, *args: str, timeout: float = 120) -> str:
        """Run one `airflow` CLI command with the topology's environment; return its stdout."""
        name = "airflow-" + "-".join(a for a in args[:2] if not a.startswith("-"))
        return self._run([self.airflow_executable(), *args], name, env=self.env, timeout=timeout)

    def airflow_many(self, commands: Sequence[Sequence[str]], timeout: float = 120) -> None:
        """Run several `airflow` CLI commands at once (each costs seconds of imports)."""
        running = [
            self._spawn("airflow-" + "-".join(c[:4]), [self.airflow_executable(), *c], env=self.env)
            for c in commands
        ]
        deadline = time.monotonic() + timeout
        try:
            for p in running:
                code = p.popen.wait(timeout=max(1.0, deadline - time.monotonic()))
                if code != 0:
                    raise TopologyError(f"{p.name} failed with exit code {code}")
        finally:
            for p in running:
                _stop_group(p, grace=5)
                self.processes.remove(p)

    def _run(self, command: Sequence[str], name: str, timeout: float = 120, **kwargs: Any) -> str:
        log_path = self.root / "logs" / f"{name}.log"
        with open(log_path, "ab") as log:
            done = subprocess.run(
                command,
                stdout=subprocess.PIPE,
                stderr=log,
                timeout=timeout,
                check=False,
                start_new_session=True,
                **kwargs,
            )
            log.write(done.stdout)
        if done.returncode != 0:
            raise TopologyError(f"{name} failed with exit code {done.returncode}")
        return done.stdout.decode(errors="replace")

    def _spawn(
        self, name: str, command: Sequence[str], stop_signal: int = signal.SIGTERM, **kwargs: Any
    ) -> Process:
        log_path = self.root / "logs" / f"{name}.log"
        log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - closed when the process ends
        try:
            popen = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped with all its children
                **kwargs,
            )
        finally:
            log.close()
        process = Process(name, popen, log_path, stop_signal)
        self.processes.append(process)
        return process

    # --- teardown -------------------------------------------------------------------------------

    def stop(self, grace: float = 20) -> None:
        """Stop every process started (newest first, whole process groups), remove the folders."""
        if self._stopped:
            return
        self._stopped = True
        for p in reversed(self.processes):
            _stop_group(p, grace)
        self.processes.clear()
        shutil.rmtree(self.root, ignore_errors=True)
        atexit.unregister(self.stop)

    # --- diagnostics ----------------------------------------------------------------------------

    def diagnostics(self, lines: int = 60) -> str:
        """The tails of every component's log and of the task logs, for a failing test."""
        parts = []
        logs = sorted((self.root / "logs").glob("*.log"))
        logs += sorted((self.root / "airflow" / "logs").glob("dag_id=*/**/*.log"))
        for path in logs:
            text = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"===== {path.relative_to(self.root)} =====\n" + "\n".join(text))
        with contextlib.suppress(Exception):
            states = self.query("select task_id, map_index, state, try_number from task_instance")
            parts.append("===== task instances =====\n" + json.dumps(states, default=str))
        return "\n".join(parts)


def _stop_group(process: Process, grace: float) -> None:
    popen = process.popen
    if popen.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, process.stop_signal)
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=grace)
    # Children that outlived their parent (task processes, pool workers) share its group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        popen.wait(timeout=5)
