"""Defaults every segwarehouse DAG shares (kept free of heavy imports)."""

import os
from datetime import timedelta

import pendulum

from segwarehouse.pipeline import WRITER_POOL

START_DATE = pendulum.parse(os.environ.get("SEGWAREHOUSE_START_DATE", "2026-01-01"), tz="UTC")
__all__ = ["DEFAULT_ARGS", "START_DATE", "WRITER_POOL"]

DEFAULT_ARGS = {
    "owner": "segwarehouse",
    "retries": int(os.environ.get("SEGWAREHOUSE_TASK_RETRIES", "2")),
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
    "execution_timeout": timedelta(hours=1),
}
