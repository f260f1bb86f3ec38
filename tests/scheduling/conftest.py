"""A real Airflow deployment (api-server, scheduler, dag-processor, triggerer; LocalExecutor) for the module.

The metadata DB is a throw-away local PostgreSQL (Debian's postgresql package, which .ci/run installs): with
SQLite, `airflow backfill create` beside a busy scheduler fails with "database is locked". Without the
PostgreSQL binaries these tests fail rather than skip, unless SEGWAREHOUSE_TEST_AIRFLOW_DB=sqlite is set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from . import local_postgres


@pytest.fixture(scope="module")
def metadata_db_url() -> Iterator[str | None]:
    if os.environ.get("SEGWAREHOUSE_TEST_AIRFLOW_DB", "postgres") == "sqlite":
        yield None
        return
    if not local_postgres.available():
        pytest.fail(f"PostgreSQL server binaries not found in {local_postgres.PG_BIN}: "
                    "apt-get install postgresql (or SEGWAREHOUSE_TEST_AIRFLOW_DB=sqlite)")
    pg = local_postgres.LocalPostgres().start()
    try:
        yield pg.url
    finally:
        pg.stop()
