"""warehouse_daily: land-check a delivery day, build the dbt warehouse, gate it, publish profiles.

Inputs: the day's files in the landing zone (`data/raw/<source>/date=<ds>/`).
Outputs: dbt models in the warehouse DuckDB file; on a passing quality gate, the validated profiles in the
serving file BI reads, and the `segwarehouse_profiles` Asset event that triggers scoring.
Idempotent per day: re-running a day rebuilds the same tables (incremental models merge by key).
"""

from __future__ import annotations

from airflow.sdk import chain, dag, task, task_group
from assets import PROFILES
from common import DEFAULT_ARGS, START_DATE, WRITER_POOL


@dag(
    dag_id="warehouse_daily",
    schedule="@daily",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["segwarehouse", "warehouse"],
)
def warehouse_daily():
    @task
    def check_landing(ds: str | None = None) -> dict:
        from segwarehouse import pipeline

        return pipeline.check_landing(ds)

    @task_group(group_id="dbt")
    def dbt_build():
        """One task per stage of the dbt graph: each builds its models and runs their tests."""
        steps = []
        for layer in ("staging", "identity_and_facts", "profiles"):

            @task(task_id=layer, pool=WRITER_POOL)
            def build_layer(layer: str = layer, ds: str | None = None) -> dict:
                from segwarehouse import pipeline

                return pipeline.build_warehouse(ds, layer=layer)

            steps.append(build_layer())
        chain(*steps)

    @task(pool=WRITER_POOL)
    def quality_gate(ds: str | None = None, run_id: str | None = None) -> dict:
        from segwarehouse import pipeline

        return pipeline.validate_profiles(ds, run_id)

    @task(pool=WRITER_POOL, outlets=[PROFILES])
    def publish(ds: str | None = None, run_id: str | None = None) -> dict:
        from segwarehouse import pipeline

        return pipeline.publish_profiles(ds, run_id)

    chain(check_landing(), dbt_build(), quality_gate(), publish())


warehouse_daily()
