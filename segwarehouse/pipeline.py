"""The pipeline's stages as plain functions: what each Airflow task (and the CLI) calls.

Each takes the run's date and/or run id, works on the configured paths, and returns a small
JSON-serialisable summary (it travels through XCom). Heavy imports happen inside the functions.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from pathlib import Path

from .paths import Paths, get_paths

log = logging.getLogger(__name__)

# what the serving file BI reads contains (tables missing from the warehouse are skipped)
SERVING_TABLES = [
    "main.dim_user_profile",
    "main.identity_graph_health",
    "main.int_source_load_audit",
    "quality.data_quality_runs",
    "segments.segment_assignments",
    "segments.segment_profiles",
    "segments.segment_profile_features",
    "segments.segment_history",
    "segments.rule_segment_assignments",
    "segments.model_registry",
    "segments.model_aliases",
    "segments.model_events",
    "segments.segment_catalog",
    "segments.model_selection",
    "segments.model_stability",
    "segments.drift_metrics",
    "experiments.definitions",
    "experiments.assignments",
    "experiments.results",
]


def run_folder_name(run_id: str | None, fallback: str) -> str:
    """A file-system safe name for a run id (Airflow run ids hold ':' and '+')."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id or fallback).strip("_")


def _day(ds: str | date | None) -> date:
    if ds is None:
        raise ValueError("a run date (YYYY-MM-DD) is required")
    return ds if isinstance(ds, date) else date.fromisoformat(str(ds)[:10])


def check_landing(ds: str | date | None, paths: Paths | None = None) -> dict:
    """Fail early (and retry later) when the day's files have not landed."""
    from .landing import check_landing as check

    return check(paths or get_paths(), _day(ds)).as_dict()


# dbt layers as separate, observable steps (each builds its models and runs their tests)
DBT_LAYERS = {
    "staging": "resource_type:seed path:models/staging",
    "identity_and_facts": "path:models/intermediate/identity path:models/intermediate/web "
                          "path:models/intermediate/quality path:models/marts/identity fct_events fct_sessions fct_orders",
    "profiles": "path:models/intermediate/features dim_user_profile",
}


def build_warehouse(ds: str | date | None, paths: Paths | None = None, *, full_refresh: bool = False,
                    layer: str | None = None) -> dict:
    """`dbt build` (seeds, models, data tests) for the run date, all layers or one of DBT_LAYERS.

    The landing zone is scanned into the file ledger first. The build becomes a full refresh when an
    incremental one would give another warehouse (segwarehouse.landing.ledger.full_refresh_reasons: a past
    day re-run, files new or changed in partitions the incremental models no longer re-read, or an earlier
    full refresh that did not finish); the reasons are returned and logged. A full refresh stays pending
    until every layer has been rebuilt, so the DAG's layer tasks (and their retries) all rebuild.

    dbt unit tests are left out, as dbt recommends for production runs: they check the SQL against fixed
    fixtures, not the day's data, so the test suite and CI run them on every change instead.
    """
    import duckdb

    from .dbt_runner import run_dbt, scan_landing
    from .dbt_vars import project_var
    from .landing import ledger

    paths = paths or get_paths()
    if layer is not None and layer not in DBT_LAYERS:
        raise ValueError(f"unknown dbt layer {layer!r}; expected one of {sorted(DBT_LAYERS)}")
    day = _day(ds)
    scanned = scan_landing(paths)
    with duckdb.connect(str(paths.warehouse)) as con:
        reasons = ledger.full_refresh_reasons(con, day, int(project_var(paths, "lookback_days")))
        if full_refresh and not reasons:
            reasons = ["asked for (--full-refresh)"]
        if reasons:
            ledger.set_pending(con, day, reasons)
            log.warning("full refresh as of %s: %s", day, "; ".join(reasons))
    full = bool(reasons)
    args = ["build", *(["--full-refresh"] if full else []), "--exclude-resource-type", "unit_test"]
    if layer:
        # "buildable": a test runs with the layer that completes its parents (fct_orders -> fx_rates in marts)
        args += ["--select", DBT_LAYERS[layer], "--indirect-selection", "buildable"]
    result = run_dbt(args, paths=paths, vars={"as_of_date": day.isoformat()})
    if full and (layer is None or layer == list(DBT_LAYERS)[-1]):
        with duckdb.connect(str(paths.warehouse)) as con:
            ledger.clear_pending(con)
    return {"as_of_date": day.isoformat(), "layer": layer or "all", "full_refresh": full,
            "full_refresh_reasons": reasons, "landing": scanned, "nodes": result.counts(),
            "seconds": result.seconds, "slowest": sorted(result.nodes, key=lambda n: -n["seconds"])[:8],
            "rows": warehouse_row_counts(paths)}


# rows per relation for run summaries; a view is counted through the table it reads row for row (counting
# the 20M-row event views themselves means running their joins: 3.8 s of every build at 1M persons)
# stg_web__events: the valid lines minus the re-delivered copies (a subset of them, one row each)
_EVENT_COUNT = ("select (select count(*) from main.base_web__event_lines where reject_reason is null)"
                " - (select count(*) from main.base_web__event_redeliveries)")
_ROW_COUNTS = {
    "base_web__event_lines": "select count(*) from main.base_web__event_lines",
    "stg_web__events": _EVENT_COUNT,
    "stg_crm__contacts": "select count(*) from main.stg_crm__contacts",
    "stg_shop__orders": "select count(*) from main.stg_shop__orders",
    "int_quarantine_rows": "select count(*) from main.int_quarantine_rows",
    # the events with their person: left joins on int_person_map's unique node key keep one row per event
    "fct_events": _EVENT_COUNT,
    "fct_sessions": "select count(*) from main.int_sessions_sessionized",
    "fct_orders": "select count(*) from main.fct_orders",
    "dim_user_profile": "select count(*) from main.dim_user_profile",
}


def warehouse_row_counts(paths: Paths | None = None) -> dict[str, int]:
    """Rows per relation of the warehouse, for summaries (the relations that exist yet)."""
    import duckdb

    paths = paths or get_paths()
    needs = {"stg_web__events": "base_web__event_redeliveries", "fct_events": "base_web__event_redeliveries",
             "fct_sessions": "int_sessions_sessionized"}
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        present = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        return {name: con.execute(sql).fetchone()[0] for name, sql in _ROW_COUNTS.items()
                if name in present and needs.get(name, name) in present}


def validate_profiles(ds: str | date | None, run_id: str | None, paths: Paths | None = None) -> dict:
    """Great Expectations gate on staging and the profile mart; raises QualityGateFailed on failure."""
    from .quality_gate import validate_warehouse

    paths = paths or get_paths()
    name = run_folder_name(run_id, f"warehouse_{_day(ds)}")
    gate = validate_warehouse(paths.warehouse, name, paths.runs)
    return {"run": name, "success": gate.success, "suites": {s.suite: s.success for s in gate.suites},
            "n_expectations": sum(len(s.expectations) for s in gate.suites), "seconds": round(gate.duration_s, 2),
            "evidence": str(gate.validation_dir)}


def publish_serving(paths: Paths | None = None) -> dict:
    """Atomically replace the serving file with the current validated tables (see SERVING_TABLES).

    The profile mart goes out pseudonymized only (`main.user_profile_public`, keyed HMAC of its PII
    columns; needs SEGWAREHOUSE_PII_KEY), with the BI views of `segwarehouse.serving` and their Parquet
    exports (docs/bi.md).
    """
    import duckdb

    from .serving import PROFILE_SOURCE, publish_serving_contract

    paths = paths or get_paths()
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        present = {f"{s}.{t}" for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}
    tables = [t for t in SERVING_TABLES if t in present and t != PROFILE_SOURCE]
    return publish_serving_contract(paths, tables).as_dict()


def publish_profiles(ds: str | date | None, run_id: str | None, paths: Paths | None = None) -> dict:
    """Publish after a passing gate (the task only runs when the gate task succeeded)."""
    return publish_serving(paths)


def retrain_segments(run_id: str | None, paths: Paths | None = None, config: str | Path | None = None) -> dict:
    """Train a challenger, register it, promote it only if it passes the gates. `config`: the ML config file
    (default `SEGWAREHOUSE_ML_CONFIG`, else config/ml.yml), validated before any data is read."""
    from ml.config import load_config

    cfg = load_config(config)  # before the heavier imports: a bad config fails at once

    from ml.train import train_from_warehouse

    return train_from_warehouse(run_folder_name(run_id, "retrain"), config=cfg, paths=paths or get_paths())


def score_segments(run_id: str | None, paths: Paths | None = None, config: str | Path | None = None) -> dict:
    """Score everyone with the champion, write segment tables, rule segments and drift (`config` as for
    `retrain_segments`)."""
    from ml.config import load_config

    cfg = load_config(config, for_scoring=True)

    from ml.score import score_from_warehouse

    return score_from_warehouse(run_folder_name(run_id, "score"), config=cfg, paths=paths or get_paths())


def report_segments(run_id: str | None, paths: Paths | None = None) -> dict:
    """Write the HTML segment report of the scoring run `run_id` (read-only; its own task, so a report
    problem never fails or delays the scoring)."""
    from .report import write_report

    return {"report": str(write_report(paths or get_paths(), run_folder_name(run_id, "score")))}


def refresh_experiments(run_id: str | None, paths: Paths | None = None) -> dict:
    """Assign newly eligible persons to the running experiments and recompute every experiment's results."""
    from .experiments.refresh import refresh_from_warehouse

    return refresh_from_warehouse(run_folder_name(run_id, "experiments"), paths=paths or get_paths())


def publish_segments(run_id: str | None, paths: Paths | None = None) -> dict:
    return publish_serving(paths)


def erase_person(identifier: str, run_id: str | None, paths: Paths | None = None) -> dict:
    """Right to erasure for one email / customer id (see segwarehouse.privacy): the warehouse is rebuilt
    without the person, then published only through the quality gate."""
    from .privacy import Stages
    from .privacy import erase_person as erase
    from .quality_gate import validate_warehouse
    from .serving import remove_persons

    def rebuild(work: Paths, as_of: date) -> dict:
        return build_warehouse(as_of, work, full_refresh=True)

    def validate(target: Paths, run_name: str) -> bool:
        return validate_warehouse(target.warehouse, run_name, target.runs, raise_on_failure=False).success

    stages = Stages(rebuild=rebuild, validate=validate, publish=publish_serving, purge_serving=remove_persons)
    return erase(identifier, run_folder_name(run_id, "erasure"), paths or get_paths(), stages)
