"""Every dbt data test over whole tables, as of the day the warehouse was built.

A daily build tests what it wrote (tests configured `where: "<load column> = __latest_load__"` check the rows of
the latest load) and leaves out the tests tagged `whole_table` (links between whole tables); a full refresh
runs them all. This check, scheduled weekly (dags/warehouse_weekly_tests.py), runs `dbt test`: every test over
every row, so nothing a daily build skips goes untested for more than a week.
"""

from __future__ import annotations

import duckdb

from segwarehouse.core.paths import Paths
from segwarehouse.warehouse.dbt import run_dbt

PROFILE = "main.dim_user_profile"


def built_as_of(paths: Paths) -> str:
    """The as_of_date of the built warehouse (its profile), so the tests judge it as of the day it describes."""
    try:
        with duckdb.connect(str(paths.warehouse), read_only=True) as con:
            day = con.execute(f"select max(as_of_date)::varchar from {PROFILE}").fetchone()[0]
    except (duckdb.CatalogException, duckdb.IOException) as exc:
        raise RuntimeError(f"no built warehouse to test at {paths.warehouse}: {exc}") from exc
    if day is None:
        raise RuntimeError(f"the warehouse at {paths.warehouse} has an empty profile: build it first")
    return day


def run_whole_table_tests(paths: Paths) -> dict:
    """`dbt test` (data tests, no unit tests) of every row; raises DbtRunFailed naming each failed test."""
    day = built_as_of(paths)
    result = run_dbt(["test", "--exclude-resource-type", "unit_test"], paths=paths, vars={"as_of_date": day})
    return {"as_of_date": day, "nodes": result.counts(), "seconds": result.seconds,
            "slowest": sorted(result.nodes, key=lambda n: -n["seconds"])[:8]}
