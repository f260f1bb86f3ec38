"""Run the project's DAGs for real with `airflow dags test` on a private SQLite metadata DB.

Used by `segwarehouse demo` and the tests; a deployment uses a scheduler instead (docker-compose.yml).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from segwarehouse.core.paths import Paths, get_paths


class DagRunFailed(RuntimeError):
    """A DAG run ended in a state other than success; the message carries the log tail."""


@dataclass(frozen=True)
class DagRunResult:
    dag_id: str
    logical_date: str
    seconds: float
    log_path: Path


def airflow_env(paths: Paths) -> dict[str, str]:
    """Environment for an isolated Airflow home under the data folder, pointing at this repo's dags/."""
    home = paths.data / "airflow"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(paths.home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "SEGWAREHOUSE_HOME": str(paths.home),
        "SEGWAREHOUSE_DATA": str(paths.data),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(paths.home), str(paths.home / "dags"), env.get("PYTHONPATH", "")])),
    })
    return env


def _airflow(args: list[str], env: dict[str, str], log: Path | None = None) -> subprocess.CompletedProcess:
    cmd = [str(Path(sys.executable).with_name("airflow")), *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(proc.stdout + proc.stderr)
    return proc


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Failed|Exception|Exit)\w*: ")


def _task_errors(output: str) -> str:
    """The exception message(s) of failed tasks, with their indented detail lines."""
    lines = output.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if _EXCEPTION_LINE.match(line):
            block = [line]
            for nxt in lines[i + 1:]:
                if not nxt.startswith(" "):
                    break
                block.append(nxt)
            blocks.append("\n".join(block))
    return "\n".join(dict.fromkeys(blocks)) or "\n".join(lines[-20:])


def ensure_metadata_db(paths: Paths | None = None) -> dict[str, str]:
    """Create the metadata DB once; return the environment to use."""
    paths = paths or get_paths()
    env = airflow_env(paths)
    home = Path(env["AIRFLOW_HOME"])
    marker = home / ".segwarehouse_ready"
    if not marker.exists():
        home.mkdir(parents=True, exist_ok=True)
        proc = _airflow(["db", "migrate"], env)
        if proc.returncode:
            raise RuntimeError(f"airflow db migrate failed:\n{proc.stderr[-3000:]}")
        marker.write_text("ok\n")
    return env


def run_dag(dag_id: str, logical_date: str, *, conf: dict | None = None, paths: Paths | None = None) -> DagRunResult:
    """`airflow dags test DAG DATE`: runs every task in-process order, for real; raises on failure."""
    start = os.environ.get("SEGWAREHOUSE_START_DATE", "2026-01-01")
    if logical_date[:10] < start:
        raise ValueError(f"{dag_id} {logical_date}: before SEGWAREHOUSE_START_DATE={start}, the first day the DAGs "
                         "know; Airflow would run no task. Set SEGWAREHOUSE_START_DATE to the first delivery day")
    paths = paths or get_paths()
    env = ensure_metadata_db(paths)
    log = paths.data / "airflow" / "runs" / f"{dag_id}__{logical_date.replace(':', '-')}.log"
    args = ["dags", "test", dag_id, logical_date]
    if conf:
        args += ["--conf", json.dumps(conf)]
    t0 = time.perf_counter()
    proc = _airflow(args, env, log)
    seconds = time.perf_counter() - t0
    output = proc.stdout + proc.stderr
    if proc.returncode or "state=success" not in output:
        raise DagRunFailed(f"{dag_id} {logical_date} failed (log: {log}):\n{_task_errors(output)}")
    return DagRunResult(dag_id, logical_date, round(seconds, 1), log)
