"""The dbt unit tests (SQL logic against fixed fixtures). Production builds leave them out
(`pipeline.build_warehouse`; checked in tests/airflow/test_dag_runs.py), so they run here, on every change."""
from __future__ import annotations

from segwarehouse.warehouse.dbt import run_dbt


def test_every_dbt_unit_test_passes(warehouse):
    result = run_dbt(["test", "--select", "test_type:unit"], paths=warehouse)
    unit = [n for n in result.nodes if n["type"] == "unit_test"]
    assert len(unit) >= 9, [n["name"] for n in result.nodes]
    assert {n["status"] for n in unit} == {"pass"}, [(n["name"], n["status"]) for n in unit]
    assert {"recent_activity_windows_end_at_as_of_date",
            "thirty_minutes_of_inactivity_starts_a_new_session",
            "sessions_follow_the_gap_across_time_buckets"} <= {n["name"] for n in unit}
