"""segments_retrain: weekly (and on a drift alert) retrain candidate models, gate them, then score.

Inputs: the validated profiles (`validated.dim_user_profile`); the deployment's ML config (`SEGWAREHOUSE_ML_CONFIG`, default
`config/ml.yml`; validated before any data is read).
Outputs: a versioned model artifact and registry row per candidate; the champion pointer moves only when the
challenger passes the promotion gates and loads in a fresh process (otherwise the reason is recorded, audit
rows in `segments.model_events`); then everyone is re-scored and published in one critical section.
"""

from __future__ import annotations

from airflow.sdk import chain, dag, task
from airflow.timetables.assets import AssetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable
from assets import DRIFT_ALERT, SEGMENTS
from common import DEFAULT_ARGS, START_DATE


@dag(
    dag_id="segments_retrain",
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 3 * * 1", timezone="UTC"), assets=[DRIFT_ALERT]),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["segwarehouse", "ml"],
)
def segments_retrain():
    @task
    def train_and_promote(run_id: str | None = None) -> dict:
        from segwarehouse import pipeline

        return pipeline.retrain_segments(run_id)

    @task(outlets=[SEGMENTS])
    def score_and_publish(run_id: str | None = None) -> dict:
        from segwarehouse import pipeline

        return pipeline.score_and_publish(run_id)

    @task
    def report(run_id: str | None = None) -> dict:
        from segwarehouse import pipeline

        return pipeline.report_segments(run_id)

    chain(train_and_promote(), score_and_publish(), report())


segments_retrain()
