"""Shared fixtures: one generated landing zone per test session, reused by every stage's tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from devtools.generator import GeneratorConfig, generate
from segwarehouse.core.paths import Paths

# An xdist worker's __main__ has neither __spec__ nor __file__; pyspark.sql.connect (imported by Great
# Expectations) takes that for a doctest run without its extras and calls sys.exit(0) at import.
_main = sys.modules["__main__"]
if getattr(_main, "__spec__", None) is None and not hasattr(_main, "__file__"):
    _main.__file__ = "<pytest-xdist worker>"

# small but complete: every persona, every kind of dirt, 60 days of history
TEST_DATA = GeneratorConfig(users=2000, days=60, seed=7)


@pytest.fixture(scope="session")
def landing_zone(tmp_path_factory) -> Paths:
    """A generated landing zone (data/raw + data/truth) in a temp project data folder."""
    data = tmp_path_factory.mktemp("data")
    generate(TEST_DATA, data / "raw", data / "truth")
    return Paths(home=Path(__file__).resolve().parent.parent, data=data)


@pytest.fixture
def isolated_env(monkeypatch, tmp_path) -> Paths:
    """Point every SEGWAREHOUSE_* variable at a fresh temp folder for one test."""
    for key in [k for k in os.environ if k.startswith("SEGWAREHOUSE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("SEGWAREHOUSE_DATA", str(tmp_path / "data"))
    return Paths(home=Path(__file__).resolve().parent.parent, data=tmp_path / "data")


@pytest.fixture(scope="session")
def warehouse(landing_zone: Paths) -> Paths:
    """The landing zone built into a DuckDB warehouse with `dbt seed` + `dbt build` (models and data tests), and
    the validated profile snapshot a passing gate's publish leaves (what ML and experiments read)."""
    from segwarehouse.serving.validated import snapshot_profiles
    from segwarehouse.warehouse.dbt import run_dbt

    run_dbt(["seed"], paths=landing_zone)
    # data tests as in production; the unit tests run once, in tests/dbt/test_unit_tests.py
    run_dbt(["build", "--exclude-resource-type", "unit_test"], paths=landing_zone)
    snapshot_profiles(landing_zone.warehouse)
    return landing_zone


@pytest.fixture
def warehouse_con(warehouse: Paths):
    """A read-only connection to the built warehouse with the ground truth folder as search path."""
    import duckdb

    con = duckdb.connect(str(warehouse.warehouse), read_only=True)
    con.execute(f"SET file_search_path = '{warehouse.truth}'")
    yield con
    con.close()


# Modules whose module-scoped setup runs for minutes (a real Airflow deployment, a local Spark, end-to-end
# runs). Started first, so that `make test`'s two workers (pytest-xdist, one module per worker at a time)
# do not end with one of them alone on a long module.
LONG_MODULES = (
    "scheduling/test_scheduler.py",
    "spark/test_spark_parity.py",
    "airflow/test_dag_runs.py",
    "privacy/test_erasure.py",
    "reliability/test_faults.py",
    "own_data/test_shapes.py",
)


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        path = item.path.as_posix()
        return next((i for i, name in enumerate(LONG_MODULES) if path.endswith(name)), len(LONG_MODULES))
    items.sort(key=rank)  # stable: the order inside each group is unchanged
