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

# what the serving file BI reads contains (tables missing from the warehouse are skipped); the profiles go out
# from the validated snapshot, pseudonymized (segwarehouse.serving.contract)
SERVING_TABLES = [
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


class NoChampion(RuntimeError):
    """No champion model, even after training the first one: its promotion gates rejected it."""


def _lock(what: str, paths: Paths):
    from segwarehouse.core.writer_lock import writer_lock

    return writer_lock(what, paths)


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

    paths = paths or get_paths()
    with _lock(f"build {_day(ds)}", paths):
        return build(_day(ds), paths, full_refresh=full_refresh, layer=layer)


def train_identity_model(paths: Paths | None = None) -> dict:
    """Re-estimate the probabilistic identity model on the built warehouse's contacts (a new version; the next
    build rescores every pair with it). Weekly, or on demand (`segwarehouse identity-train`)."""
    from segwarehouse.warehouse.identity.matching import train_identity_model as train

    paths = paths or get_paths()
    with _lock("identity model training", paths):
        return train(paths)


def run_whole_table_tests(paths: Paths | None = None) -> dict:
    """Every dbt data test over every row of the built warehouse (the weekly check behind the daily builds)."""
    from segwarehouse.warehouse.whole_table_tests import run_whole_table_tests as run

    paths = paths or get_paths()
    with _lock("whole-table tests", paths):
        return run(paths)


def validate_profiles(ds: str | date | None, run_id: str | None, paths: Paths | None = None) -> dict:
    """Great Expectations gate on staging and the profile mart; raises QualityGateFailed on failure."""
    from expectations.thresholds import load_thresholds
    from segwarehouse.quality.gate import validate_warehouse

    paths = paths or get_paths()
    name = run_folder_name(run_id, f"warehouse_{_day(ds)}")
    with _lock(f"gate {name}", paths):
        gate = validate_warehouse(paths.warehouse, name, paths.runs, thresholds=load_thresholds(paths.gate_config))
    return {"run": name, "success": gate.success, "suites": {s.suite: s.success for s in gate.suites},
            "n_expectations": sum(len(s.expectations) for s in gate.suites), "seconds": round(gate.duration_s, 2),
            "evidence": str(gate.validation_dir)}


def publish_serving(paths: Paths | None = None, *, allow_failed_gate: bool | None = None) -> dict:
    """Atomically replace the serving file with the validated profile snapshot and the tables of SERVING_TABLES.

    Refuses (GateNotPassed) when the warehouse's latest quality gate run did not pass, unless overridden
    deliberately (`allow_failed_gate`, else $SEGWAREHOUSE_PUBLISH_WITHOUT_GATE; segwarehouse.quality.guard).
    The profiles go out pseudonymized only (`main.user_profile_public`, keyed HMAC of their PII columns; needs
    SEGWAREHOUSE_PII_KEY), with the BI views of `segwarehouse.serving.contract` and their Parquet exports
    (docs/bi.md). New profiles reach the snapshot only through `publish_profiles`.
    """
    import duckdb

    from segwarehouse.quality.guard import require_passed_gate
    from segwarehouse.serving.contract import publish_serving_contract

    paths = paths or get_paths()
    with _lock("publish", paths):
        gate = require_passed_gate(paths.warehouse, allow_failed_gate=allow_failed_gate)
        if gate["gate_overridden"]:
            log.warning("publishing although %s (override requested)", gate["gate_problem"])
        with duckdb.connect(str(paths.warehouse), read_only=True) as con:
            present = {f"{s}.{t}" for s, t in con.execute(
                "select table_schema, table_name from information_schema.tables").fetchall()}
        tables = [t for t in SERVING_TABLES if t in present]
        return {**publish_serving_contract(paths, tables).as_dict(), **gate}


def publish_profiles(ds: str | date | None, run_id: str | None, paths: Paths | None = None, *,
                     republish_older: bool = False, allow_failed_gate: bool | None = None) -> dict:
    """Promote the live profile mart to the validated snapshot and publish it, when its latest gate passed
    (GateNotPassed otherwise, unless `allow_failed_gate`: see `publish_serving`).

    The served as_of_date never goes backwards: a warehouse built for an older day than the one served is not
    published unless `republish_older`; the result says so (`published: False`) and the log says why.
    """
    import duckdb

    from segwarehouse.quality.guard import require_passed_gate
    from segwarehouse.serving import validated

    paths = paths or get_paths()
    with _lock(f"publish profiles {run_id or ''}".strip(), paths):
        require_passed_gate(paths.warehouse, allow_failed_gate=allow_failed_gate)  # before the snapshot changes
        with duckdb.connect(str(paths.warehouse), read_only=True) as con:
            day = con.execute(f"select max(as_of_date) from {validated.LIVE_PROFILE}").fetchall()[0][0]
        served = validated.served_as_of(paths.serving)
        if served is not None and day is not None and day < served and not republish_older:
            log.warning("built and validated %s but not published: serving already holds %s (re-run with "
                        "republish_older to publish an older day over a newer one)", day, served)
            return {"as_of_date": str(day), "published": False, "served": str(served)}
        snapshot = validated.snapshot_profiles(paths.warehouse)
        return {"as_of_date": str(day), "published": True, "snapshot": snapshot,
                **publish_serving(paths, allow_failed_gate=allow_failed_gate)}


def previous_run_finished(previous) -> bool:
    """Whether the previous day's DAG run (None for the first) has finished, whatever its outcome; logs the wait.

    A failed day does not block later days: it is re-run on its own (docs/scheduling.md)."""
    if previous is None or previous.state not in ("queued", "running"):
        return True
    log.info("waiting for the run of the previous day to finish: %s (%s)", previous.run_id, previous.state)
    return False


def run_day(ds: str | date | None, run_id: str | None, paths: Paths | None = None, *,
            republish_older: bool = False) -> dict:
    """A delivery day's build -> gate -> publish as one critical section under the warehouse writer lock:
    no scoring, retraining, erasure or other day interleaves with it, so what is published is what was gated."""
    from segwarehouse.warehouse.build import DBT_LAYERS

    paths = paths or get_paths()
    with _lock(f"warehouse day {_day(ds)} {run_id or ''}".strip(), paths):
        layers = {layer: build_warehouse(ds, paths, layer=layer) for layer in DBT_LAYERS}
        gate = validate_profiles(ds, run_id, paths)
        published = publish_profiles(ds, run_id, paths, republish_older=republish_older)
    return {"as_of_date": str(_day(ds)), "layers": {k: v.get("seconds") for k, v in layers.items()},
            "full_refresh": any(v.get("full_refresh") for v in layers.values()), "gate": gate, **published}


def retrain_segments(run_id: str | None, paths: Paths | None = None, config: str | Path | None = None) -> dict:
    """Train a challenger, register it, promote it only if it passes the gates. `config`: the ML config file
    (default `SEGWAREHOUSE_ML_CONFIG`, else config/ml.yml), validated before any data is read."""
    from ml.config_loader import load_config

    cfg = load_config(config)  # before the heavier imports: a bad config fails at once

    from ml.train import train_from_warehouse

    paths = paths or get_paths()
    with _lock(f"retrain {run_id or ''}".strip(), paths):
        return train_from_warehouse(run_folder_name(run_id, "retrain"), config=cfg, paths=paths)


def score_segments(run_id: str | None, paths: Paths | None = None, config: str | Path | None = None) -> dict:
    """Score everyone with the champion, write segment tables, rule segments and drift (`config` as for
    `retrain_segments`)."""
    from ml.config_loader import load_config

    cfg = load_config(config, for_scoring=True)

    from ml.score import score_from_warehouse

    paths = paths or get_paths()
    with _lock(f"score {run_id or ''}".strip(), paths):
        return score_from_warehouse(run_folder_name(run_id, "score"), config=cfg, paths=paths)


def has_champion(paths: Paths) -> bool:
    """Whether the registry names a champion model (False on a fresh deploy)."""
    import duckdb

    from ml.registry import CHAMPION, get_alias

    if not paths.warehouse.exists():
        return False
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        found = con.execute("select count(*) from information_schema.tables where table_schema = 'segments' "
                            "and table_name = 'model_aliases'").fetchall()[0][0]
        return bool(found) and get_alias(con, "segments", CHAMPION) is not None


def score_and_publish(run_id: str | None, paths: Paths | None = None) -> dict:
    """Score the validated profiles with the champion, refresh the experiments and publish, as one critical
    section (served profiles and segments always come from the same day). A fresh deploy without a champion
    trains the first one; raises NoChampion when its promotion gates reject it."""
    paths = paths or get_paths()
    with _lock(f"score and publish {run_id or ''}".strip(), paths):
        trained = None
        if not has_champion(paths):
            log.warning("no champion model yet (fresh deploy): training the first one before scoring")
            trained = retrain_segments(run_id, paths)
            if not has_champion(paths):
                raise NoChampion(f"no champion model: the first model trained was not promoted "
                                 f"({trained.get('status')}: {trained.get('reasons')}); scoring waits until "
                                 "segments_retrain promotes one")
        scored = score_segments(run_id, paths)
        experiments = refresh_experiments(run_id, paths)
        published = publish_serving(paths)
    return {**scored, "trained_first": trained is not None, "experiments": experiments, "published": published}


def report_segments(run_id: str | None, paths: Paths | None = None) -> dict:
    """Write the HTML segment report of the scoring run `run_id` (reads the warehouse, so it queues behind
    its writers; its own task, so a report problem never fails or delays the scoring)."""
    from ml.report import write_report

    paths = paths or get_paths()
    with _lock(f"report {run_id or ''}".strip(), paths):
        return {"report": str(write_report(paths, run_folder_name(run_id, "score")))}


def refresh_experiments(run_id: str | None, paths: Paths | None = None) -> dict:
    """Assign newly eligible persons to the running experiments and recompute every experiment's results."""
    from segwarehouse.experiments.refresh import refresh_from_warehouse

    paths = paths or get_paths()
    with _lock(f"experiments {run_id or ''}".strip(), paths):
        return refresh_from_warehouse(run_folder_name(run_id, "experiments"), paths=paths)


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

    def publish(target: Paths) -> bool:
        return publish_profiles(None, run_id, target)["published"]

    paths = paths or get_paths()
    stages = Stages(rebuild=rebuild, validate=validate, publish=publish, purge_serving=remove_persons)
    with _lock(f"erasure {run_id or ''}".strip(), paths):
        return erase(identifier, run_folder_name(run_id, "erasure"), paths, stages)
