"""The DAG files: import cleanly, follow the policy, and do no heavy work at parse time."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from devtools.airflow_runner import ensure_metadata_db

EXPECTED = {"warehouse_daily", "segments_score", "segments_retrain", "privacy_erasure", "warehouse_weekly_tests"}
HEAVY = ["pandas", "sklearn", "great_expectations", "dbt.cli", "duckdb", "ml", "numpy"]

_PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
from airflow.models.dagbag import DagBag
before = set(sys.modules)
t1 = time.perf_counter()
bag = DagBag()
t2 = time.perf_counter()
dags = {}
for dag_id, dag in bag.dags.items():
    dags[dag_id] = {
        "tags": sorted(dag.tags), "catchup": dag.catchup, "max_active_runs": dag.max_active_runs,
        "owner": dag.default_args.get("owner"), "retries": dag.default_args.get("retries"),
        "doc": bool(dag.doc_md), "schedule": type(dag.timetable).__name__,
        "schedule_assets": str(getattr(dag.timetable, "asset_condition", "")),
        "tasks": {t.task_id: {"pool": t.pool, "retries": t.retries, "sensor_timeout": getattr(t, "timeout", None),
                              "timeout": t.execution_timeout.total_seconds() if t.execution_timeout else None,
                              "outlets": [getattr(o, "name", str(o)) for o in t.outlets],
                              "upstream": sorted(t.upstream_task_ids)}
                  for t in dag.tasks},
    }
new = sorted(m for m in set(sys.modules) - before)
print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": dags,
                  "new_modules": new, "parse_seconds": t2 - t1}))
"""


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    from segwarehouse.core.paths import Paths

    paths = Paths(home=__import__("pathlib").Path(__file__).resolve().parents[2], data=tmp_path_factory.mktemp("af"))
    env = ensure_metadata_db(paths)
    proc = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_dagbag_imports_every_dag_without_errors(dagbag):
    assert dagbag["errors"] == {}
    assert set(dagbag["dags"]) == EXPECTED
    print(f"DagBag parse took {dagbag['parse_seconds']:.2f} s")


def test_parsing_dags_imports_no_heavy_libraries(dagbag):
    """DAG files are wiring: pandas, scikit-learn, GE, dbt and DuckDB load inside tasks only."""
    loaded = [m for m in dagbag["new_modules"] if any(m == h or m.startswith(h + ".") for h in HEAVY)]
    assert loaded == []


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_dag_policy(dagbag, dag_id):
    dag = dagbag["dags"][dag_id]
    assert "segwarehouse" in dag["tags"]
    assert dag["owner"] == "segwarehouse"
    assert dag["catchup"] is False
    assert dag["max_active_runs"] == 1
    assert dag["doc"]
    for task_id, task in dag["tasks"].items():
        if task["sensor_timeout"] is not None:  # a sensor waits up to its own timeout (earlier backfill days)
            assert task["timeout"] is None, task_id
            assert 0 < task["sensor_timeout"] <= 3 * 86400, task_id
        else:
            assert 0 < (task["timeout"] or 0) <= 3600, task_id


def test_no_task_needs_a_pool_a_deployment_must_create(dagbag):
    """Writers serialize on the warehouse writer lock, not on a pool: a fresh deployment has nothing to create
    (a task naming a missing pool would wait in `scheduled` forever)."""
    pools = {t["pool"] for dag in dagbag["dags"].values() for t in dag["tasks"].values()}
    assert pools == {"default_pool"}


def test_a_day_is_one_critical_section_after_the_ordering_guard(dagbag):
    tasks = dagbag["dags"]["warehouse_daily"]["tasks"]
    assert set(tasks) == {"previous_day_finished", "check_landing", "build_gate_publish", "announce_profiles"}
    assert dagbag["dags"]["warehouse_daily"]["schedule"] == "CronDataIntervalTimetable"
    assert set(dagbag["dags"]["segments_score"]["tasks"]) >= {"score_and_publish", "report"}
    assert set(dagbag["dags"]["segments_retrain"]["tasks"]) == {"train_and_promote", "score_and_publish", "report"}


def test_assets_wire_the_dags_together(dagbag):
    dags = dagbag["dags"]
    assert dags["warehouse_daily"]["tasks"]["announce_profiles"]["outlets"] == ["segwarehouse_profiles"]
    assert "segwarehouse_profiles" in dags["segments_score"]["schedule_assets"]
    assert "segwarehouse_drift_alert" in dags["segments_retrain"]["schedule_assets"]
    assert dags["segments_retrain"]["schedule"] == "AssetOrTimeSchedule"
    assert dags["privacy_erasure"]["schedule"] == "NullTimetable"
    assert dags["warehouse_weekly_tests"]["schedule"] == "CronTriggerTimetable"
    assert dags["segments_score"]["tasks"]["raise_drift_alert"]["outlets"] == ["segwarehouse_drift_alert"]
    assert dags["warehouse_daily"]["tasks"]["build_gate_publish"]["retries"] >= 1
    assert dags["warehouse_daily"]["tasks"]["previous_day_finished"]["retries"] == 0


def test_a_run_before_the_start_date_is_refused_not_silently_empty(tmp_path, monkeypatch):
    from devtools.airflow_runner import run_dag
    from segwarehouse.core.paths import Paths

    monkeypatch.setenv("SEGWAREHOUSE_START_DATE", "2026-01-01")
    paths = Paths(home=__import__("pathlib").Path(__file__).resolve().parents[2], data=tmp_path)
    with pytest.raises(ValueError, match=r"warehouse_daily 1997-03-01: before SEGWAREHOUSE_START_DATE=2026-01-01"):
        run_dag("warehouse_daily", "1997-03-01", paths=paths)
    assert not (tmp_path / "airflow").exists()  # refused before any Airflow work


def test_the_weekly_dag_re_estimates_the_identity_model_after_the_whole_table_tests(dagbag):
    tasks = dagbag["dags"]["warehouse_weekly_tests"]["tasks"]
    assert set(tasks) == {"whole_table_tests", "train_identity_model"}
    assert tasks["train_identity_model"]["upstream"] == ["whole_table_tests"]
