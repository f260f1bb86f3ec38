"""The pipeline's stages as plain functions: what each Airflow task (and the CLI) calls.

Each takes the run's date and/or run id, works on the configured paths, and returns a small
JSON-serialisable summary (it travels through XCom). Heavy imports happen inside the functions.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from segwarehouse.core.paths import Paths, get_paths, run_folder_name

log = logging.getLogger(__name__)

# the Airflow pool every task that writes the warehouse runs in: one slot, DuckDB allows a single writer
WRITER_POOL = "duckdb_writer"

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


def _day(ds: str | date | None) -> date:
    if ds is None:
        raise ValueError("a run date (YYYY-MM-DD) is required")
    return ds if isinstance(ds, date) else date.fromisoformat(str(ds)[:10])


def check_landing(ds: str | date | None, paths: Paths | None = None) -> dict:
    """Fail early (and retry later) when the day's files have not landed."""
    from segwarehouse.landing import check_landing as check

    return check(paths or get_paths(), _day(ds)).as_dict()


def build_warehouse(ds: str | date | None, paths: Paths | None = None, *, full_refresh: bool = False,
                    layer: str | None = None) -> dict:
    """`dbt build` of the warehouse as of the run date, all layers or one (segwarehouse.warehouse.build)."""
    from segwarehouse.warehouse.build import build

    return build(_day(ds), paths or get_paths(), full_refresh=full_refresh, layer=layer)


def validate_profiles(ds: str | date | None, run_id: str | None, paths: Paths | None = None) -> dict:
    """Great Expectations gate on staging and the profile mart; raises QualityGateFailed on failure."""
    from expectations.thresholds import load_thresholds
    from segwarehouse.quality.gate import validate_warehouse

    paths = paths or get_paths()
    name = run_folder_name(run_id, f"warehouse_{_day(ds)}")
    gate = validate_warehouse(paths.warehouse, name, paths.runs, thresholds=load_thresholds(paths.gate_config))
    return {"run": name, "success": gate.success, "suites": {s.suite: s.success for s in gate.suites},
            "n_expectations": sum(len(s.expectations) for s in gate.suites), "seconds": round(gate.duration_s, 2),
            "evidence": str(gate.validation_dir)}


def publish_serving(paths: Paths | None = None, *, allow_failed_gate: bool | None = None) -> dict:
    """Atomically replace the serving file with the current validated tables (see SERVING_TABLES).

    Refuses (GateNotPassed) when the warehouse's latest quality gate run did not pass, unless overridden
    deliberately (`allow_failed_gate`, else $SEGWAREHOUSE_PUBLISH_WITHOUT_GATE; segwarehouse.quality.guard).
    The profile mart goes out pseudonymized only (`main.user_profile_public`, keyed HMAC of its PII
    columns; needs SEGWAREHOUSE_PII_KEY), with the BI views of `segwarehouse.serving.contract` and their Parquet
    exports (docs/bi.md).
    """
    import duckdb

    from segwarehouse.quality.guard import require_passed_gate
    from segwarehouse.serving.contract import PROFILE_SOURCE, publish_serving_contract

    paths = paths or get_paths()
    gate = require_passed_gate(paths.warehouse, allow_failed_gate=allow_failed_gate)
    if gate["gate_overridden"]:
        log.warning("publishing although %s (override requested)", gate["gate_problem"])
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        present = {f"{s}.{t}" for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}
    tables = [t for t in SERVING_TABLES if t in present and t != PROFILE_SOURCE]
    return {**publish_serving_contract(paths, tables).as_dict(), **gate}


def publish_profiles(ds: str | date | None, run_id: str | None, paths: Paths | None = None) -> dict:
    """Publish after a passing gate (the task only runs when the gate task succeeded)."""
    return publish_serving(paths)


def retrain_segments(run_id: str | None, paths: Paths | None = None, config: str | Path | None = None) -> dict:
    """Train a challenger, register it, promote it only if it passes the gates. `config`: the ML config file
    (default `SEGWAREHOUSE_ML_CONFIG`, else config/ml.yml), validated before any data is read."""
    from ml.config_loader import load_config

    cfg = load_config(config)  # before the heavier imports: a bad config fails at once

    from ml.train import train_from_warehouse

    return train_from_warehouse(run_folder_name(run_id, "retrain"), config=cfg, paths=paths or get_paths())


def score_segments(run_id: str | None, paths: Paths | None = None, config: str | Path | None = None) -> dict:
    """Score everyone with the champion, write segment tables, rule segments and drift (`config` as for
    `retrain_segments`)."""
    from ml.config_loader import load_config

    cfg = load_config(config, for_scoring=True)

    from ml.score import score_from_warehouse

    return score_from_warehouse(run_folder_name(run_id, "score"), config=cfg, paths=paths or get_paths())


def report_segments(run_id: str | None, paths: Paths | None = None) -> dict:
    """Write the HTML segment report of the scoring run `run_id` (read-only; its own task, so a report
    problem never fails or delays the scoring)."""
    from ml.report import write_report

    return {"report": str(write_report(paths or get_paths(), run_folder_name(run_id, "score")))}


def refresh_experiments(run_id: str | None, paths: Paths | None = None) -> dict:
    """Assign newly eligible persons to the running experiments and recompute every experiment's results."""
    from segwarehouse.experiments.refresh import refresh_from_warehouse

    return refresh_from_warehouse(run_folder_name(run_id, "experiments"), paths=paths or get_paths())


def publish_segments(run_id: str | None, paths: Paths | None = None) -> dict:
    return publish_serving(paths)


def erase_person(identifier: str, run_id: str | None, paths: Paths | None = None) -> dict:
    """Right to erasure for one email / customer id (see segwarehouse.privacy): the warehouse is rebuilt
    without the person, then published only through the quality gate."""
    from segwarehouse.privacy import Stages
    from segwarehouse.privacy import erase_person as erase
    from segwarehouse.quality.gate import validate_warehouse
    from segwarehouse.serving.contract import remove_persons

    def rebuild(work: Paths, as_of: date) -> dict:
        return build_warehouse(as_of, work, full_refresh=True)

    def validate(target: Paths, run_name: str) -> bool:
        return validate_warehouse(target.warehouse, run_name, target.runs, raise_on_failure=False).success

    stages = Stages(rebuild=rebuild, validate=validate, publish=publish_serving, purge_serving=remove_persons)
    return erase(identifier, run_folder_name(run_id, "erasure"), paths or get_paths(), stages)
