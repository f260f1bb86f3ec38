"""Defaults every segwarehouse DAG shares (kept free of heavy imports).

SEGWAREHOUSE_START_DATE (default 2026-01-01) is the first delivery day the DAGs know: a backfill or a
`run_dag` before it has nothing to run. Warehouse writers need no pool: every write path takes the warehouse
writer lock (segwarehouse.core.writer_lock), whichever DAG, backfill or CLI command runs it.
"""

import os
from datetime import timedelta

import pendulum

START_DATE = pendulum.parse(os.environ.get("SEGWAREHOUSE_START_DATE", "2026-01-01"), tz="UTC")
__all__ = ["DEFAULT_ARGS", "START_DATE"]

DEFAULT_ARGS = {
    "owner": "segwarehouse",
    "retries": int(os.environ.get("SEGWAREHOUSE_TASK_RETRIES", "2")),
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
    "execution_timeout": timedelta(hours=1),
}
