"""The project's own DAGs under a real Airflow scheduler, the way a data engineer deploys them (README
"Scheduling and backfills" lists these same commands).

Generated data ending yesterday; a fresh deploy (metadata DB migrated, nothing else created); `airflow backfill
create` of three earlier days with Airflow's default limits, then unpause segments_score and warehouse_daily.
A reader polls the served as_of_date the whole time. Then an older day is re-run (rebuilt, not republished),
and a day whose files never arrived fails alone, naming the folder.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from devtools.generator import GeneratorConfig, generate

from .airflow_deployment import AirflowDeployment

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DAYS = 14


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> tuple[Path, date]:
    """300 persons x 14 days, ending yesterday (UTC)."""
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    data = tmp_path_factory.mktemp("sched-data")
    generate(GeneratorConfig(users=300, days=DAYS, seed=11, start_date=yesterday - timedelta(days=DAYS - 1)),
             data / "raw", data / "truth")
    return data, yesterday


@pytest.fixture(scope="module")
def deployment(landing, tmp_path_factory, metadata_db_url) -> Iterator[AirflowDeployment]:
    data, yesterday = landing
    home = tmp_path_factory.mktemp("sched-airflow")
    # 300 persons make small segments: let the first model pass the size gate so the chain scores and publishes
    ml_config = home / "ml.yml"
    ml_config.write_text((REPO / "config" / "ml.yml").read_text().replace("min_segment_size: 100", "min_segment_size: 5"))
    d = AirflowDeployment(home=home, dags_folder=REPO / "dags", db_url=metadata_db_url, extra_env={
        "SEGWAREHOUSE_HOME": str(REPO),
        "SEGWAREHOUSE_DATA": str(data),
        "SEGWAREHOUSE_START_DATE": (yesterday - timedelta(days=DAYS - 1)).isoformat(),
        "SEGWAREHOUSE_TASK_RETRIES": "0",
        "SEGWAREHOUSE_PII_KEY": secrets.token_hex(16),
        "SEGWAREHOUSE_ML_CONFIG": str(ml_config),
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "dags")]),
    })
    try:
        d.start()
        print("deployment start:", {k: round(v, 1) for k, v in d.timings.items()})
        d.wait_for_dags("warehouse_daily", "segments_score", "segments_retrain", "privacy_erasure")
        yield d
    finally:
        d.stop()


class ServedDayReader(threading.Thread):
    """Polls the served profiles' as_of_date as a BI tool would, recording every value it sees."""

    def __init__(self, serving: Path):
        super().__init__(daemon=True)
        self.serving, self.seen, self.stop = serving, [], threading.Event()

    def run(self):
        while not self.stop.is_set():
            if self.serving.exists():
                try:
                    with duckdb.connect(str(self.serving), read_only=True) as con:
                        day = con.execute("select max(as_of_date) from dim_user_profile").fetchone()[0]
                    if not self.seen or self.seen[-1] != day:
                        self.seen.append(day)
                except duckdb.Error:
                    pass  # between publishes the file may be mid-swap; the next poll reads it
            time.sleep(0.2)


def _queued_asset_events(deployment) -> int:
    return deployment.query("select count(*) from asset_dag_run_queue where target_dag_id = 'segments_score'")[0][0]


def _profile_events(deployment) -> int:
    return deployment.query("select count(*) from asset_event e join asset a on a.id = e.asset_id "
                            "where a.name = 'segwarehouse_profiles'")[0][0]


def _ti(deployment, dag_id):
    return {(t["run_id"], t["task_id"]): t for t in deployment.tasks(dag_id)}


def test_fresh_deploy_backfill_then_daily_run_in_date_order_with_the_asset_chain(deployment, landing):
    data, yesterday = landing
    reader = ServedDayReader(data / "serving" / "segwarehouse_serving.duckdb")
    reader.start()
    days = [yesterday - timedelta(days=n) for n in (4, 3, 2)]

    # 1. a 3-day backfill with Airflow's defaults (max_active_runs 10), created while the DAG is still paused
    t0 = time.perf_counter()
    deployment.wait_for_backfills_done("warehouse_daily")
    deployment.cli("backfill", "create", "--dag-id", "warehouse_daily", "--from-date", days[0].isoformat(),
                   "--to-date", days[-1].isoformat())
    # 2. unpausing starts it, and creates the scheduled run for the last complete day (yesterday)
    deployment.cli("dags", "unpause", "segments_score")
    deployment.cli("dags", "unpause", "warehouse_daily")
    runs = deployment.wait_for_runs("warehouse_daily", 4, timeout=1500)
    print(f"3-day backfill + yesterday's scheduled run: {time.perf_counter() - t0:.0f} s")
    runs.sort(key=lambda r: str(r["logical_date"]))
    assert [str(r["logical_date"])[:10] for r in runs] == [d.isoformat() for d in [*days, yesterday]]
    assert [r["run_type"] for r in runs] == ["backfill"] * 3 + ["scheduled"]
    assert all(r["state"] == "success" for r in runs), deployment.diagnostics()
    tis = _ti(deployment, "warehouse_daily")
    txn = [tis[(r["run_id"], "build_gate_publish")] for r in runs]
    # one day at a time, in date order: each day's build -> gate -> publish ends before the next day's starts
    assert all(a["end_date"] <= b["start_date"] for a, b in itertools.pairwise(txn))
    assert {tis[(r["run_id"], "announce_profiles")]["state"] for r in runs} == {"success"}

    # 3. the Asset chain: scoring ran (training the first champion) and published segments
    def scoring_done():  # every Asset event consumed (none queued for a run) and every scoring run finished
        # the queue first: an event consumed after this check is a run the listing below already shows (the
        # other order can miss a run created between the two reads)
        if _queued_asset_events(deployment):
            return None
        score_runs = deployment.runs("segments_score")
        finished = score_runs and all(r["state"] in ("success", "failed") for r in score_runs)
        return score_runs if finished else None
    score_runs = deployment.wait_for(scoring_done, 900, "segments_score runs finished")
    print(f"... and scoring: {time.perf_counter() - t0:.0f} s ({len(score_runs)} asset-triggered runs)")
    assert {r["state"] for r in score_runs} == {"success"}, deployment.diagnostics()
    assert {r["run_type"] for r in score_runs} == {"asset_triggered"}
    with duckdb.connect(str(data / "serving" / "segwarehouse_serving.duckdb"), read_only=True) as con:
        assert con.execute("select count(distinct person_id) from segments.segment_assignments").fetchone()[0] > 200

    reader.stop.set()
    reader.join()
    # 4. the served day only ever moved forward while the reader polled, and ends at yesterday
    assert reader.seen == sorted(reader.seen)
    assert len(reader.seen) >= 2
    assert reader.seen[-1] == yesterday
    # 5. nothing failed on this fresh deploy (no champion, no pool created by hand)
    states = {t["state"] for dag_id in ("warehouse_daily", "segments_score") for t in deployment.tasks(dag_id)}
    assert states <= {"success", "skipped"}, deployment.diagnostics()
    first_score = min(score_runs, key=lambda r: str(r["start_date"]))
    assert "training the first one before scoring" in deployment.task_log(
        "segments_score", first_score["run_id"], "score_and_publish")


def test_rerunning_an_older_day_rebuilds_it_and_republishes_it_only_when_asked(deployment, landing):
    data, yesterday = landing
    older = yesterday - timedelta(days=3)
    before = len(deployment.runs("segments_score")), _profile_events(deployment)
    deployment.wait_for_backfills_done("warehouse_daily")
    deployment.cli("backfill", "create", "--dag-id", "warehouse_daily", "--from-date", older.isoformat(),
                   "--to-date", older.isoformat(), "--reprocess-behavior", "completed")
    def rerun_done():
        [run] = [r for r in deployment.runs("warehouse_daily") if str(r["logical_date"])[:10] == older.isoformat()]
        return run if run["state"] in ("success", "failed") and run["backfill_id"] is not None else None
    run = deployment.wait_for(rerun_done, 900, "the re-run of an older day")
    assert run["state"] == "success", deployment.diagnostics()
    assert _ti(deployment, "warehouse_daily")[(run["run_id"], "announce_profiles")]["state"] == "skipped"
    log = deployment.task_log("warehouse_daily", run["run_id"], "build_gate_publish")
    assert f"built and validated {older} but not published: serving already holds {yesterday}" in log
    with duckdb.connect(str(data / "serving" / "segwarehouse_serving.duckdb"), read_only=True) as con:
        assert con.execute("select max(as_of_date) from dim_user_profile").fetchone()[0] == yesterday
    time.sleep(5)
    assert (len(deployment.runs("segments_score")), _profile_events(deployment)) == before  # no event, no scoring
    assert not _queued_asset_events(deployment)

    # asked for explicitly, the older day is published (and scored)
    deployment.wait_for_backfills_done("warehouse_daily")
    deployment.cli("backfill", "create", "--dag-id", "warehouse_daily", "--from-date", older.isoformat(),
                   "--to-date", older.isoformat(), "--reprocess-behavior", "completed",
                   "--dag-run-conf", '{"republish_older": true}')
    def republished():
        [again] = [r for r in deployment.runs("warehouse_daily") if str(r["logical_date"])[:10] == older.isoformat()]
        return again if again["state"] in ("success", "failed") and again["end_date"] > run["end_date"] else None
    again = deployment.wait_for(republished, 900, "the re-run of an older day with republish_older")
    assert again["state"] == "success", deployment.diagnostics()
    assert _ti(deployment, "warehouse_daily")[(again["run_id"], "announce_profiles")]["state"] == "success"
    with duckdb.connect(str(data / "serving" / "segwarehouse_serving.duckdb"), read_only=True) as con:
        assert con.execute("select max(as_of_date) from dim_user_profile").fetchone()[0] == older
    def rescored():  # the queue first, as in scoring_done above
        if _queued_asset_events(deployment):
            return None
        runs = deployment.runs("segments_score")
        finished = len(runs) > before[0] and all(r["state"] in ("success", "failed") for r in runs)
        return runs if finished else None
    assert {r["state"] for r in deployment.wait_for(rescored, 600, "scoring of the republished day")} == {"success"}


def test_a_day_whose_files_never_arrive_fails_alone_and_names_the_folder(deployment, landing):
    data, yesterday = landing
    missing, next_day = yesterday - timedelta(days=6), yesterday - timedelta(days=5)
    folder = data / "raw" / "web" / "events" / f"date={missing.isoformat()}"
    shutil.rmtree(folder)
    deployment.wait_for_backfills_done("warehouse_daily")
    deployment.cli("backfill", "create", "--dag-id", "warehouse_daily", "--from-date", missing.isoformat(),
                   "--to-date", next_day.isoformat())
    def both_done():
        runs = [r for r in deployment.runs("warehouse_daily")
                if str(r["logical_date"])[:10] in (missing.isoformat(), next_day.isoformat())]
        return runs if len(runs) == 2 and all(r["state"] in ("success", "failed") for r in runs) else None
    failed, done = sorted(deployment.wait_for(both_done, 900, "two backfill days"), key=lambda r: str(r["logical_date"]))
    assert failed["state"] == "failed"
    assert done["state"] == "success", deployment.diagnostics()
    tis = _ti(deployment, "warehouse_daily")
    assert tis[(done["run_id"], "check_landing")]["state"] == "success"
    assert tis[(failed["run_id"], "check_landing")]["state"] == "failed"
    assert f"no events files for {missing}: expected {folder}/*.jsonl" in \
        deployment.task_log("warehouse_daily", failed["run_id"], "check_landing")
    # the next day was not blocked: it ran once the failed day had finished
    assert tis[(done["run_id"], "build_gate_publish")]["start_date"] >= failed["end_date"]
