"""warehouse_daily: for each closed delivery day D, land-check D, then build, gate and publish it.

Day semantics: the run for D covers the data interval [D, D+1) and starts once D has closed (`ds` = D), so
unpausing creates the run for the last complete day (yesterday), never one for files not yet delivered.
Inputs: the day's files in the landing zone (`data/raw/<source>/date=<ds>/`).
Outputs: dbt models in the warehouse DuckDB file; on a passing quality gate, the validated profiles in the
serving file BI reads, and the `segwarehouse_profiles` Asset event that triggers scoring.
Runs go one day at a time in date order, however they were started (schedule, backfill, UI): each waits until
the run of the previous day has finished, then builds, gates and publishes as one critical section under the
warehouse writer lock. An older day than the one served is rebuilt but not republished unless the run's conf
says `{"republish_older": true}` (docs/scheduling.md).
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import CronDataIntervalTimetable, Param, PokeReturnValue, chain, dag, task
from assets import PROFILES
from common import DEFAULT_ARGS, START_DATE


@dag(
    dag_id="warehouse_daily",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={"republish_older": Param(False, type="boolean",
                                     description="publish this day even if serving holds a later one")},
    doc_md=__doc__,
    tags=["segwarehouse", "warehouse"],
)
def warehouse_daily():
    # poke mode: a reschedule-mode sensor can be failed by a scheduler race in Airflow 3.3 (apache/airflow#71172);
    # no execution timeout: in a long backfill a later day waits for all earlier ones (the sensor timeout bounds it)
    @task.sensor(mode="poke", poke_interval=10, timeout=timedelta(days=2).total_seconds(), retries=0,
                 execution_timeout=None)
    def previous_day_finished(ti=None) -> PokeReturnValue:
        """Backfills start many days at once: wait until the previous day's run has finished (any outcome)."""
        from segwarehouse.pipeline import previous_run_finished

        return PokeReturnValue(is_done=previous_run_finished(ti.get_previous_dagrun()))

    @task
    def check_landing(ds: str | None = None) -> dict:
        from segwarehouse import pipeline

        return pipeline.check_landing(ds)

    @task
    def build_gate_publish(ds: str | None = None, run_id: str | None = None, params: dict | None = None) -> dict:
        from segwarehouse import pipeline

        return pipeline.run_day(ds, run_id, republish_older=bool((params or {}).get("republish_older")))

    @task(outlets=[PROFILES])
    def announce_profiles(day: dict) -> dict:
        """Emit the Asset event only when new profiles went out (a skipped task emits none)."""
        from airflow.sdk.exceptions import AirflowSkipException

        if not day["published"]:
            raise AirflowSkipException(f"{day['as_of_date']} not published: serving holds {day['served']}")
        return {"as_of_date": day["as_of_date"]}

    day = build_gate_publish()
    chain(previous_day_finished(), check_landing(), day)
    announce_profiles(day)


warehouse_daily()
