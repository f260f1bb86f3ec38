"""warehouse_weekly_tests: every dbt data test over every row of the warehouse, and the probabilistic identity
model re-estimated, once a week.

Daily builds test the rows they wrote and leave the whole-table link tests (tagged `whole_table`) to full
builds and to this DAG, so nothing goes untested for more than a week. Daily matching scores new contacts
with a fixed model; this DAG trains a new version on the current contacts (the next daily build rescores
every pair with it).
Inputs: the built warehouse DuckDB file (judged as of the day it was built for).
Outputs: a new identity model version (`$SEGWAREHOUSE_MODELS/identity/`); the run fails naming each failed test.
"""

from __future__ import annotations

from airflow.sdk import dag, task
from common import DEFAULT_ARGS, START_DATE


@dag(
    dag_id="warehouse_weekly_tests",
    schedule="@weekly",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["segwarehouse", "warehouse", "tests"],
)
def warehouse_weekly_tests():
    # dbt opens the warehouse file read-write: the run takes the warehouse writer lock (pipeline)
    @task
    def whole_table_tests() -> dict:
        from segwarehouse import pipeline

        return pipeline.run_whole_table_tests()

    @task
    def train_identity_model() -> dict:
        from segwarehouse import pipeline

        return pipeline.train_identity_model()

    whole_table_tests() >> train_identity_model()


warehouse_weekly_tests()
