"""Run dbt programmatically against the project's DuckDB warehouse (used by Airflow tasks, the CLI, tests)."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from segwarehouse.core.paths import Paths, get_paths
from segwarehouse.warehouse.dbt_vars import validate_dbt_vars, validate_raw_path

# the base model that parses each landing source's files (what the file ledger marks as loaded)
BASE_MODELS = {
    "base_crm__contact_lines": "crm_contacts",
    "base_web__event_lines": "web_events",
    "base_shop__order_lines": "shop_orders",
    "base_shop__order_item_lines": "shop_order_items",
}

_LOCK = threading.Lock()  # dbtRunner is not re-entrant; one invocation per process at a time


class DbtRunFailed(RuntimeError):
    """dbt finished with failed nodes (or could not run); the message names each failed node."""


@dataclass
class DbtResult:
    args: list[str]
    nodes: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for node in self.nodes:
            out[node["status"]] = out.get(node["status"], 0) + 1
        return out


@contextmanager
def _env(paths: Paths, as_of_date: str = "") -> Iterator[None]:
    wanted = {
        # read at run time by the as_of_date() macro: a date passed in --vars would make dbt re-parse the
        # whole project every day (partial parsing is dropped whenever vars change)
        "SEGWAREHOUSE_AS_OF_DATE": as_of_date,
        "SEGWAREHOUSE_DUCKDB": str(paths.warehouse),
        "SEGWAREHOUSE_RAW": str(paths.raw),
        "DBT_PROFILES_DIR": str(paths.dbt_project),
        "DBT_PROJECT_DIR": str(paths.dbt_project),
        "DBT_TARGET_PATH": str(paths.data / "dbt_target"),
        "DBT_LOG_PATH": str(paths.data / "dbt_logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    saved = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _release_duckdb() -> None:
    """Close dbt-duckdb's cached connection so the file is free for other readers/writers afterwards."""
    import gc

    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.adapters.factory import cleanup_connections, reset_adapters

    env = DuckDBConnectionManager._ENV
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()
    cleanup_connections()
    reset_adapters()
    gc.collect()


def _forget_parse_of_another_checkout(paths: Paths) -> None:
    """Drop dbt's partial-parse cache when another project folder wrote it.

    The cache lives in the data folder and keeps absolute file paths (a seed's CSV); dbt reuses it when no project
    file changed, so after the checkout moved (or another checkout builds the same data folder) seeds would be
    read from the old place. The folder that last parsed is kept next to the cache.
    """
    target = paths.data / "dbt_target"
    marker = target / "segwarehouse_project_dir"
    here = str(paths.dbt_project.resolve())
    if marker.is_file() and marker.read_text() == here:
        return
    (target / "partial_parse.msgpack").unlink(missing_ok=True)
    target.mkdir(parents=True, exist_ok=True)
    marker.write_text(here)


def run_dbt(args: list[str], *, paths: Paths | None = None, vars: dict | None = None) -> DbtResult:
    """Invoke dbt (e.g. ``["build"]``) on the project's DuckDB; raise DbtRunFailed naming failed nodes.

    `vars` and the landing-zone path are validated first (`segwarehouse.warehouse.dbt_vars.DbtVarError`). A `run` or
    `build` scans the landing zone into the file ledger first (the base models list their files from it)
    and records afterwards which files the base models that ran now hold.
    """
    from dbt.cli.main import dbtRunner

    paths = paths or get_paths()
    # values that dbt pastes into SQL text: refuse a bad one before dbt runs (DbtVarError names var and rule)
    validate_raw_path(str(paths.raw))
    if os.environ.get("SEGWAREHOUSE_REPORTING_CURRENCY"):  # dbt var reporting_currency (dbt_project.yml)
        validate_dbt_vars({"reporting_currency": os.environ["SEGWAREHOUSE_REPORTING_CURRENCY"]})
    if vars:
        validate_dbt_vars(vars)
    paths.warehouse.parent.mkdir(parents=True, exist_ok=True)
    _forget_parse_of_another_checkout(paths)
    reads_landing = bool(args) and args[0] in ("run", "build")
    if reads_landing:
        scan_landing(paths)
    cli = [*args, "--project-dir", str(paths.dbt_project), "--profiles-dir", str(paths.dbt_project)]
    other_vars = {k: v for k, v in (vars or {}).items() if k != "as_of_date"}
    if other_vars:
        cli += ["--vars", json.dumps(other_vars)]
    with _LOCK, _env(paths, str((vars or {}).get("as_of_date") or "")):
        # dbt logs sys.argv as its "invocation_command": make it the dbt command, not the caller's
        # (an Airflow task's argv may carry run configuration such as an erasure subject)
        saved_argv = sys.argv
        sys.argv = ["dbt", *cli]
        try:
            res = dbtRunner().invoke(cli)
        finally:
            sys.argv = saved_argv
            _release_duckdb()
    nodes = []
    seconds = 0.0
    results = getattr(res.result, "results", None) or []
    for r in results:
        node = getattr(r, "node", None)
        message = r.message or ""
        if not message and getattr(r, "max_loaded_at", None) is not None:  # source freshness result
            message = f"newest delivery {r.max_loaded_at:%Y-%m-%d}, {r.age / 86400:.1f} days old"
        nodes.append({
            "name": getattr(node, "name", "?"),
            "type": str(getattr(node, "resource_type", "")),
            "status": str(r.status),
            "seconds": round(r.execution_time or 0.0, 2),
            "message": message,
            "failures": getattr(r, "failures", None),
        })
        seconds += r.execution_time or 0.0
    result = DbtResult(args=args, nodes=nodes, seconds=round(seconds, 2))
    if reads_landing:
        loaded = [BASE_MODELS[n["name"]] for n in nodes if n["name"] in BASE_MODELS and n["status"] == "success"]
        _mark_loaded(paths, loaded, str((vars or {}).get("as_of_date") or ""), "--full-refresh" in args)
    failed = [n for n in nodes if n["status"] in ("error", "fail", "runtime error")]
    if failed or not res.success:
        detail = "\n".join(f"  {n['type']} {n['name']}: {n['status']} {n['message'][:500]}" for n in failed)
        if res.exception is not None:
            detail += f"\n  {type(res.exception).__name__}: {res.exception}"
        raise DbtRunFailed(f"dbt {' '.join(args)} failed:\n{detail or '  (no node results; see dbt logs)'}")
    return result


def scan_landing(paths: Paths) -> dict:
    """Scan the landing zone into the warehouse's file ledger (see segwarehouse.landing.ledger)."""
    import duckdb

    from segwarehouse.landing import declared, ledger

    paths.warehouse.parent.mkdir(parents=True, exist_ok=True)
    decl = declared.declaration(paths.raw, paths.sources_config)
    with duckdb.connect(str(paths.warehouse)) as con:
        out = ledger.scan(con, paths.raw).as_dict()
        declared.record(con, decl)
    return {**out, "sources": decl.as_dict()}


def _mark_loaded(paths: Paths, sources: list[str], as_of: str, full_refresh: bool) -> None:
    import duckdb

    from segwarehouse.landing import ledger

    if not sources:
        return
    with duckdb.connect(str(paths.warehouse)) as con:
        day = as_of or con.execute(f"select max(delivery_date)::varchar from {ledger.LEDGER} "
                                   "where status in ('new', 'changed', 'loaded', 'reloaded')").fetchone()[0]
        ledger.mark_loaded(con, sources, date.fromisoformat(day), full_refresh=full_refresh)
