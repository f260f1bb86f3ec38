"""The daily experiment run: assign newly eligible persons, measure every experiment, write its results.

`refresh(con_or_path, config, run_id)` works on the warehouse (one writer: run it in the writer pool,
after scoring, so today's segments decide eligibility). One transaction per experiment: a failure leaves
that experiment's assignments and results as the previous run wrote them.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from segwarehouse.core.paths import Paths, get_paths
from segwarehouse.experiments.assignment import as_of_date, assign
from segwarehouse.experiments.config import Experiment, ExperimentsConfig, load_config
from segwarehouse.experiments.outcomes import arm_counts, build_outcomes, metric_values
from segwarehouse.experiments.schema import TABLES, ensure_tables, qualified
from segwarehouse.experiments.statistics import analyse

log = logging.getLogger(__name__)


def _segments_ready(con: duckdb.DuckDBPyConnection, schema: str) -> bool:
    found = {r[0] for r in con.execute("select table_name from information_schema.tables where table_schema = ?",
                                       [schema]).fetchall()}
    return {"segment_assignments", "rule_segment_assignments"} <= found


def write_definition(con: duckdb.DuckDBPyConnection, experiment: Experiment, now: datetime) -> None:
    con.execute(f"delete from {qualified('definitions')} where experiment = ?", [experiment.name])
    con.execute(f"insert into {qualified('definitions')} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        experiment.name, experiment.description, experiment.assignment_salt, experiment.start_date,
        experiment.end_date, experiment.holdout_share, experiment.control.name,
        json.dumps([v.model_dump(mode="json") for v in experiment.variants]),
        experiment.targets.model_dump_json(), experiment.primary_metric.name,
        json.dumps([m.model_dump(mode="json") for m in experiment.metrics]),
        experiment.requires_consent, experiment.retrospective, now])


def measure(con: duckdb.DuckDBPyConnection, experiment: Experiment, cfg: ExperimentsConfig,
            today: date) -> pd.DataFrame:
    """Results of one experiment from its current assignments and the warehouse's orders and events."""
    build_outcomes(con, experiment, today)
    counts = arm_counts(con, experiment)
    if counts.empty:
        return pd.DataFrame(columns=[c.split()[0] for c in TABLES["results"].split(",")])

    def values(metric, segment_type, segment_id, arm):
        return metric_values(con, metric, segment_type, segment_id, arm)

    results = analyse(counts, experiment, cfg.statistics, values)
    horizon = max(m.window_days for m in experiment.metrics)
    results["as_of_date"] = today
    results["is_final"] = today >= experiment.end_date + timedelta(days=horizon)
    return results


def write_results(con: duckdb.DuckDBPyConnection, experiment: Experiment, results: pd.DataFrame, run_id: str,
                  now: datetime) -> int:
    table = qualified("results")
    con.execute(f"delete from {table} where run_id = ? and experiment = ?", [run_id, experiment.name])
    if results.empty:
        return 0
    frame = results.assign(run_id=run_id, experiment=experiment.name, computed_at=now)
    con.register("_experiment_results", frame)
    try:
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        con.execute(f"insert into {table} ({cols}) select {cols} from _experiment_results")
    finally:
        con.unregister("_experiment_results")
    return len(frame)


def refresh(con_or_path: Any, config: ExperimentsConfig | None = None, run_id: str | None = None, *,
            today: date | None = None) -> dict[str, Any]:
    """Assign and measure every configured experiment; returns a small summary per experiment."""
    cfg = config or load_config()
    if isinstance(con_or_path, str | Path):
        with duckdb.connect(str(con_or_path)) as con:
            return refresh(con, cfg, run_id, today=today)
    con = con_or_path
    started = time.perf_counter()
    ensure_tables(con)
    if not cfg.experiments:
        return {"experiments": {}, "seconds": 0.0}
    if not _segments_ready(con, cfg.segments_schema):
        raise RuntimeError(f"no segment tables in schema {cfg.segments_schema!r}: score segments before "
                           "refreshing experiments (eligibility is decided on today's segments)")
    today = today or as_of_date(con)
    run_id = run_id or f"manual__{today}"
    now = datetime.now(UTC)
    summary: dict[str, Any] = {}
    for experiment in cfg.experiments:
        con.execute("begin transaction")
        try:
            write_definition(con, experiment, now)
            changed = assign(con, experiment, segments_schema=cfg.segments_schema, run_id=run_id, today=today,
                             now=now)
            results = measure(con, experiment, cfg, today)
            rows = write_results(con, experiment, results, run_id, now)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        primary = results[(results["is_primary"]) & (results["segment_type"] == "all")] if rows else results
        summary[experiment.name] = {
            **changed, "result_rows": rows,
            "srm": bool(primary["is_srm"].any()) if rows else False,
            "significant_segments": int(results.loc[results["is_primary"] & (results["is_significant"] == True),  # noqa: E712
                                                    "segment_id"].nunique()) if rows else 0,
        }
        log.info("experiment %s: %s", experiment.name, summary[experiment.name])
    return {"run_id": run_id, "as_of_date": today.isoformat(), "experiments": summary,
            "seconds": round(time.perf_counter() - started, 2)}


def refresh_from_warehouse(run_id: str | None = None, *, config: ExperimentsConfig | None = None,
                           paths: Paths | None = None) -> dict[str, Any]:
    """`refresh` on the configured warehouse (what the Airflow task returns)."""
    return refresh((paths or get_paths()).warehouse, config, run_id)
