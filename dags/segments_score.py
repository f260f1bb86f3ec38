"""segments_score: score every person with the champion model whenever new profiles are published.

Inputs: the validated profiles (`validated.dim_user_profile`, published with the Asset `segwarehouse_profiles`),
the champion in the registry and the ML config (`SEGWAREHOUSE_ML_CONFIG`, default `config/ml.yml`). On a fresh
deploy without a champion the first model is trained (and gated) before scoring; if its gates reject it the run
skips with the reason instead of failing. A champion that does not load is marked failed and the run fails:
`segwarehouse models rollback` puts the previous good one back.
Outputs: `segment_assignments`, `segment_profiles`, rule segments, assignment history and drift metrics, then the
A/B experiments of `config/experiments.yml`, all published to the serving file (Asset `segwarehouse_segments`)
in one critical section under the warehouse writer lock; a drift alert emits `segwarehouse_drift_alert`, which
triggers `segments_retrain`. Last, the run's HTML segment report: its own task, so a report problem never
fails or delays the scores.
"""

from __future__ import annotations

from airflow.sdk import chain, dag, task
from assets import DRIFT_ALERT, PROFILES, SEGMENTS
from common import DEFAULT_ARGS, START_DATE


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
    @task(outlets=[SEGMENTS])
    def score_and_publish(run_id: str | None = None) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from segwarehouse import pipeline

        try:
            return pipeline.score_and_publish(run_id)
        except pipeline.NoChampion as exc:
            raise AirflowSkipException(str(exc)) from None

    @task
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

    scored = score_and_publish()
    chain(scored, report())
    chain(drift_alert(scored), raise_drift_alert(scored))


segments_score()
