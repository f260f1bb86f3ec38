"""`segwarehouse demo`: generate a landing zone, then run the real Airflow DAGs over it, end to end.

Runs `airflow dags test` (real task execution on a private SQLite metadata DB) in schedule order:
warehouse_daily for the last days (the first run builds the whole history, the next ones are
incremental), segments_retrain (train, gate, promote, score, publish) and segments_score (score + drift).
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from datetime import timedelta

import duckdb

from devtools.airflow_runner import run_dag
from devtools.generator import GeneratorConfig, generate
from segwarehouse.core.paths import Paths, get_paths

DEMO_DATA = GeneratorConfig(users=5000, days=90, seed=42)
DAILY_RUNS = 3  # warehouse_daily runs over the last N delivery days
_MANAGED = ("raw", "truth", "warehouse", "serving", "runs", "models", "airflow", "dbt_target", "dbt_logs")


def _demo_env(paths: Paths) -> None:
    os.environ.setdefault("SEGWAREHOUSE_TASK_RETRIES", "0")  # fail fast in a demo; deployments retry
    if not os.environ.get("SEGWAREHOUSE_PII_KEY"):
        key_file = paths.data / ".pii_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        os.environ["SEGWAREHOUSE_PII_KEY"] = key_file.read_text().strip()


def run_demo(paths: Paths | None = None, cfg: GeneratorConfig = DEMO_DATA, log=print) -> dict:
    """Rebuild the demo's folders under the data root and run every stage through Airflow."""
    paths = paths or get_paths()
    t0 = time.perf_counter()
    for name in _MANAGED:
        shutil.rmtree(paths.data / name, ignore_errors=True)
    paths.data.mkdir(parents=True, exist_ok=True)
    _demo_env(paths)
    log(f"generating {cfg.users:,} persons x {cfg.days} days into {paths.raw} ...")
    manifest = generate(cfg, paths.raw, paths.truth)
    end = cfg.start_date + timedelta(days=cfg.days - 1)
    runs = []
    for back in range(DAILY_RUNS - 1, -1, -1):
        day = (end - timedelta(days=back)).isoformat()
        log(f"airflow dags test warehouse_daily {day} ...")
        runs.append(run_dag("warehouse_daily", day, paths=paths))
    for dag_id in ("segments_retrain", "segments_score"):
        log(f"airflow dags test {dag_id} {end} ...")
        runs.append(run_dag(dag_id, end.isoformat(), paths=paths))
    return {"generate": manifest, "runs": runs, "seconds": round(time.perf_counter() - t0, 1)}


def _q(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def print_summary(summary: dict, paths: Paths) -> None:
    m = summary["generate"]
    c = m["counts"]
    print("\n=== segwarehouse demo ===")
    print(f"landing zone   {paths.raw}")
    print(f"  {m['persons']:,} persons, {c['events_rows']:,} events, {c['orders_rows']:,} orders, "
          f"{c['contacts_rows']:,} contact rows over {m['config']['days']} days")
    print("airflow runs (airflow dags test)")
    for r in summary["runs"]:
        print(f"  {r.dag_id:<18} {r.logical_date}  success  {r.seconds:>6.1f} s   log {r.log_path}")
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        print(f"warehouse      {paths.warehouse}")
        for layer, table in [("base lines", "base_web__event_lines"), ("staging events", "stg_web__events"),
                             ("staging contacts", "stg_crm__contacts"), ("staging orders", "stg_shop__orders"),
                             ("fct_events", "fct_events"), ("fct_sessions", "fct_sessions"),
                             ("fct_orders", "fct_orders"), ("dim_user_profile", "dim_user_profile")]:
            print(f"  {layer:<18} {_q(con, f'select count(*) from main.{table}')[0][0]:>10,} rows")
        print("quarantined rows (source, reason)")
        for source, reason, n in _q(con, "select source_name, reason, count(*) from int_quarantine_rows "
                                         "group by all order by 3 desc limit 8"):
            print(f"  {n:>7,}  {source:<14} {reason}")
        health = _q(con, "select n_persons, largest_component_size, rejected_shared_device, rejected_placeholder "
                         "from identity_graph_health order by as_of_date desc limit 1")[0]
        print(f"identity       {health[0]:,} persons, largest component {health[1]}, "
              f"{health[2]} shared devices and {health[3]} placeholder values rejected")
        print("quality gate (last run)")
        for suite, ok, n_exp, n_failed, rows in _q(con, """
                select suite, success, n_expectations, n_failed, n_rows from quality.data_quality_runs
                where run_id = (select run_id from quality.data_quality_runs order by started_at desc limit 1)
                order by suite"""):
            print(f"  {'PASS' if ok else 'FAIL'}  {suite:<36} {n_exp:>3} expectations, {n_failed} failed, {rows:,} rows")
        champion = _q(con, """select r.model_version, r.algorithm, r.k from segments.model_aliases a
                              join segments.model_registry r using (model_version) where a.alias = 'champion'""")
        if champion:
            version, algorithm, k = champion[0]
            print(f"champion model {version} ({algorithm}, k={k})")
        print("segments (latest scoring run)")
        for sid, name, size, share in _q(con, """
                select segment_id, persona_name, size, share from segments.segment_profiles
                where run_id = (select run_id from segments.segment_assignments limit 1) order by segment_id"""):
            print(f"  {sid:>3}  {name:<40} {size:>7,}  {share:6.1%}")
    print(f"serving file   {paths.serving}  (read-only copy for BI tools; see docs/bi.md)")
    reports = sorted(paths.runs.glob("*/report/index.html"), key=lambda p: p.stat().st_mtime)
    if reports:
        print(f"segment report {reports[-1]}")
    print(f"finished in {summary['seconds']} s")
