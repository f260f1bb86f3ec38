"""A real Airflow 3 deployment for tests: api-server, scheduler, dag-processor and triggerer, LocalExecutor, SQLite.

Start it with `AirflowDeployment(...).start()`, stop it with `.stop()`. Waiting is done by polling the metadata
DB (read-only SQLite connection) against a deadline, never by fixed sleeps; a timeout raises with the tail of
each component's log and the state of every run and task.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

COMPONENTS = {
    # the api-server also serves the Execution API that LocalExecutor's task processes talk to
    "api-server": ["api-server"],
    # --skip-serve-logs: logs are on this disk; avoids the fixed log-server ports 8793/8794
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
}
FINISHED = {"success", "failed"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def airflow_bin() -> str:
    return str(Path(sys.executable).with_name("airflow"))


@dataclass
class AirflowDeployment:
    home: Path
    dags_folder: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    db_url: str | None = None  # a PostgreSQL URL; None: SQLite in the Airflow home
    port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def db_path(self) -> Path:
        return self.home / "airflow.db"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        secret = getattr(self, "_secret", None) or secrets.token_urlsafe(32)
        self._secret = secret
        env.update({
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": "4",
            # SQLite: wait up to 60 s for a write lock (pysqlite's default is 5 s; see start() for WAL)
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.db_url or f"sqlite:///{self.db_path}?timeout=60",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{self.port}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
            # one secret for every component: the scheduler signs task tokens the api-server checks
            "AIRFLOW__API_AUTH__JWT_SECRET": secret,
            "AIRFLOW__API__SECRET_KEY": secret,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            # pick up new/changed DAG files quickly (defaults 300 s / 30 s)
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "600",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(self.dags_folder), os.environ.get("PYTHONPATH", "")])),
        })
        env.update(self.extra_env)
        return env

    # ---- CLI -------------------------------------------------------------------------------------------------
    def cli(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        proc = subprocess.run([airflow_bin(), *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        if check and proc.returncode:
            raise RuntimeError(f"airflow {' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
        return proc

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        """Call the public REST API (/api/v2); SimpleAuthManager with all_admins needs no token."""
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/v2/{path.lstrip('/')}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"{method} {path} -> {e.code}: {e.read()[:2000]!r}") from None

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        """A manual run, as the UI's Trigger button makes it (no logical date); returns its run_id."""
        return self.api("POST", f"dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}})["dag_run_id"]

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"dags/{dag_id}", {"is_paused": False})

    # ---- lifecycle -------------------------------------------------------------------------------------------
    def start(self, *, pools: dict[str, int] | None = None, timeout: float = 240) -> AirflowDeployment:
        self.home.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        self.cli("db", "migrate")
        # WAL (kept in the file): readers no longer block the one writer, so the CLI, the api-server and the
        # scheduler stop failing each other with "database is locked"
        if self.db_url is None:
            con = sqlite3.connect(self.db_path)
            con.execute("pragma journal_mode=wal")
            con.close()
        self.timings["db_migrate"] = time.perf_counter() - t0
        for name, slots in (pools or {}).items():
            self.cli("pools", "set", name, str(slots), f"{name} (created by the deployment)")
        t1 = time.perf_counter()
        logs = self.home / "component-logs"
        logs.mkdir(exist_ok=True)
        for name, args in COMPONENTS.items():
            out = (logs / f"{name}.log").open("ab")
            self.procs[name] = subprocess.Popen([airflow_bin(), *args], env=self.env, stdout=out,
                                                stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_for(self._healthy, timeout, "api-server, scheduler, dag-processor and triggerer healthy")
        self.timings["components_healthy"] = time.perf_counter() - t1
        return self

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM every component's process group (their task/parse children too), SIGKILL what remains."""
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()

    def _healthy(self) -> bool:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.component_log_tail(name)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v2/monitor/health", timeout=2) as r:
                health = json.load(r)
        except OSError:
            return False
        return all(health.get(k, {}).get("status") == "healthy"
                   for k in ("metadatabase", "scheduler", "triggerer", "dag_processor"))

    # ---- metadata DB ---------------------------------------------------------------------------------------------
    def query(self, sql: str, params: dict | None = None) -> list[tuple]:
        import sqlalchemy

        if getattr(self, "_engine", None) is None:
            url = self.db_url or f"sqlite:///file:{self.db_path}?mode=ro&uri=true&timeout=30"
            self._engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
        with self._engine.connect() as con:
            return [tuple(r) for r in con.execute(sqlalchemy.text(sql), params or {})]

    def wait_for(self, predicate, timeout: float, what: str, interval: float = 0.5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise TimeoutError(f"timed out after {timeout:.0f} s waiting for: {what}\n{self.diagnostics()}")

    def wait_for_dags(self, *dag_ids: str, timeout: float = 180) -> None:
        """Every DAG serialized by the dag-processor (import errors are raised at once)."""
        def parsed():
            if self.db_url or self.db_path.exists():
                errors = self.query("select filename, stacktrace from import_error")
                if errors:
                    raise RuntimeError(f"DAG import errors: {errors}")
                found = {r[0] for r in self.query("select dag_id from serialized_dag")}
                return set(dag_ids) <= found
            return False
        self.wait_for(parsed, timeout, f"DAGs parsed: {dag_ids}")

    def runs(self, dag_id: str) -> list[dict]:
        rows = self.query("""select run_id, run_type, state, logical_date, data_interval_start, data_interval_end,
                                    start_date, end_date, backfill_id from dag_run where dag_id = :d order by id""",
                          {"d": dag_id})
        keys = ["run_id", "run_type", "state", "logical_date", "data_interval_start", "data_interval_end",
                "start_date", "end_date", "backfill_id"]
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def tasks(self, dag_id: str) -> list[dict]:
        rows = self.query("""select run_id, task_id, state, try_number, start_date, end_date, pool
                             from task_instance where dag_id = :d order by start_date""", {"d": dag_id})
        keys = ["run_id", "task_id", "state", "try_number", "start_date", "end_date", "pool"]
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def wait_for_backfills_done(self, dag_id: str, timeout: float = 300) -> None:
        """Airflow allows one running backfill per DAG: the scheduler marks one completed a loop after its runs."""
        def done():
            return not self.query("select id from backfill where dag_id = :d and completed_at is null", {"d": dag_id})
        self.wait_for(done, timeout, f"every backfill of {dag_id} marked completed")

    def wait_for_runs(self, dag_id: str, count: int, timeout: float = 300, states=FINISHED) -> list[dict]:
        def done():
            runs = self.runs(dag_id)
            return runs if len(runs) >= count and all(r["state"] in states for r in runs) else None
        return self.wait_for(done, timeout, f"{count} finished runs of {dag_id}")

    # ---- diagnostics -----------------------------------------------------------------------------------------
    def component_log_tail(self, name: str, lines: int = 30) -> str:
        path = self.home / "component-logs" / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def diagnostics(self) -> str:
        parts = []
        if self.db_url or self.db_path.exists():
            try:
                parts.append("runs: " + repr(self.query("select dag_id, run_id, state from dag_run")))
                parts.append("tasks: " + repr(self.query("select dag_id, run_id, task_id, state from task_instance")))
            except Exception as e:
                parts.append(f"metadata DB unreadable: {e}")
        for name in COMPONENTS:
            parts.append(f"--- {name} ---\n{self.component_log_tail(name, 15)}")
        return "\n".join(parts)

    def task_log(self, dag_id: str, run_id: str, task_id: str) -> str:
        files = sorted((self.home / "logs").glob(f"dag_id={dag_id}/run_id={run_id}/task_id={task_id}/*.log"))
        return "\n".join(p.read_text(errors="replace") for p in files)
