"""segments_score: score every person with the champion model whenever new profiles are published.

Inputs: the published `dim_user_profile` (Asset `segwarehouse_profiles`), the champion in the registry and the
ML config (`SEGWAREHOUSE_ML_CONFIG`, default `config/ml.yml`). A champion that does not load is marked failed and
the run fails: `segwarehouse models rollback` puts the previous good one back.
Outputs: `segment_assignments`, `segment_profiles`, rule segments, assignment history and drift metrics,
then the A/B experiments of `config/experiments.yml` (newly eligible persons assigned on today's segments,
results recomputed), all published to the serving file (Asset `segwarehouse_segments`); a drift alert emits `segwarehouse_drift_alert`,
which triggers `segments_retrain`. Last, the run's HTML segment report: its own task, so a report problem
never fails or delays the scores.
"""

from __future__ import annotations

from airflow.sdk import chain, dag, task
from assets import DRIFT_ALERT, PROFILES, SEGMENTS
from common import DEFAULT_ARGS, START_DATE, WRITER_POOL


@dag(
    dag_id="segments_score",
    schedule=[PROFILES],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["segwarehouse", "ml"],
)
def segments_score():
    @task(pool=WRITER_POOL)
    def score(run_id: str | None = None) -> dict:
        from segwarehouse import pipeline

        return pipeline.score_segments(run_id)

    @task(pool=WRITER_POOL)
    def refresh_experiments(run_id: str | None = None) -> dict:
        from segwarehouse import pipeline

        return pipeline.refresh_experiments(run_id)

    @task(pool=WRITER_POOL, outlets=[SEGMENTS])
    def publish_segments(run_id: str | None = None) -> dict:
        from segwarehouse import pipeline

        return pipeline.publish_segments(run_id)

    @task(pool=WRITER_POOL)  # reads the warehouse: queued behind its writers
    def report(run_id: str | None = None) -> dict:
        from segwarehouse import pipeline

        return pipeline.report_segments(run_id)

    @task.short_circuit
    def drift_alert(scored: dict) -> bool:
        """Continue to the alert only when a feature or the segment shares drifted past the alert PSI."""
        return bool(scored.get("drift_alert"))

    @task(outlets=[DRIFT_ALERT])
    def raise_drift_alert(scored: dict) -> dict:
        return {"drifted": scored.get("drifted", [])}

    scored = score()
    chain(scored, refresh_experiments(), publish_segments(), report())
    chain(drift_alert(scored), raise_drift_alert(scored))


segments_score()
