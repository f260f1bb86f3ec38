"""privacy_erasure: erase one person everywhere (GDPR/CCPA right to erasure), triggered by hand.

Trigger with `{"identifier": "<email or customer_id>"}`. Resolves the person through the identity graph,
removes exactly their lines from the landing files, rebuilds the warehouse without them beside the live one,
verifies, swaps both in, purges segment history and gate samples, publishes only through the quality gate
(else removes the person from the last published data), scans every file for leftovers and writes an audit
record that holds only a keyed hash of the identifier. A failed run is safe to re-trigger (docs/quality.md).
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task
from common import DEFAULT_ARGS, START_DATE


@dag(
    dag_id="privacy_erasure",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "retries": 0},
    params={"identifier": Param("", type="string", minLength=3, description="email or CRM customer_id")},
    doc_md=__doc__,
    tags=["segwarehouse", "privacy"],
)
def privacy_erasure():
    @task
    def erase(params: dict | None = None, run_id: str | None = None) -> dict:
        from segwarehouse import pipeline

        return pipeline.erase_person((params or {}).get("identifier", ""), run_id)

    erase()


privacy_erasure()
