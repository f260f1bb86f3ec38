"""Every DAG run for real with `airflow dags test` on generated data, then the resulting tables checked."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from devtools.airflow_runner import DagRunFailed, run_dag
from segwarehouse.core.paths import Paths


@pytest.fixture(scope="module")
def deployment(landing_zone, tmp_path_factory):
    """A private data folder (own copy of the landing zone, warehouse, Airflow home) for this module."""
    data = tmp_path_factory.mktemp("deployment")
    shutil.copytree(landing_zone.raw, data / "raw")
    shutil.copytree(landing_zone.truth, data / "truth")
    mp = pytest.MonkeyPatch()
    mp.setenv("SEGWAREHOUSE_TASK_RETRIES", "0")
    mp.setenv("SEGWAREHOUSE_PII_KEY", "test-only-key")
    yield Paths(home=landing_zone.home, data=data)
    mp.undo()


def _q(path, sql):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_warehouse_daily_builds_validates_and_publishes(deployment):
    first = run_dag("warehouse_daily", "2026-02-28", paths=deployment)
    second = run_dag("warehouse_daily", "2026-03-01", paths=deployment)
    assert first.seconds > 0
    assert second.seconds > 0
    as_of, persons = _q(deployment.serving, "select max(as_of_date), count(*) from dim_user_profile")[0]
    assert str(as_of) == "2026-03-01"
    assert persons == _q(deployment.warehouse, "select count(*) from dim_user_profile")[0][0] > 1500
    runs = _q(deployment.warehouse, "select count(distinct run_id), bool_and(success) from quality.data_quality_runs")[0]
    assert runs == (2, True)
    # the second day was incremental: both days' partitions are loaded once, late events included
    loaded = _q(deployment.warehouse, "select count(*), count(distinct (source_file, line_no)) from base_web__event_lines")[0]
    assert loaded[0] == loaded[1]
    # production builds run the data tests and leave the dbt unit tests to CI (tests/dbt/test_unit_tests.py)
    ran = [r["unique_id"] for r in json.loads((deployment.data / "dbt_target" / "run_results.json").read_text())["results"]]
    # run_results.json holds the last layer (marts); the profile's value checks live in the GE suite
    tests = [i for i in ran if i.startswith("test.")]
    assert len(tests) >= 10
    assert any(i.startswith("test.segwarehouse.primary_key_dim_user_profile_") for i in tests)
    assert not [i for i in ran if i.startswith("unit_test.")]


def test_rerunning_a_day_is_idempotent(deployment):
    # order-independent fingerprints of whole tables (a sum of per-row hashes is exact)
    profile = "select count(*), sum(hash(columns(*))) from dim_user_profile"
    events = "select count(*), sum(hash(columns(*))) from fct_events"
    before = _q(deployment.warehouse, profile), _q(deployment.warehouse, events)
    run_dag("warehouse_daily", "2026-03-01", paths=deployment)
    assert (_q(deployment.warehouse, profile), _q(deployment.warehouse, events)) == before


def test_weekly_tests_run_every_data_test_over_the_built_warehouse(deployment):
    """The daily runs above left the whole-table tests out (the second day was incremental); the weekly DAG
    runs every data test as of the day the warehouse describes."""
    ran = [r["unique_id"] for r in json.loads((deployment.data / "dbt_target" / "run_results.json").read_text())["results"]]
    assert not [i for i in ran if i.startswith("test.segwarehouse.relationships_fct_orders_person_id")]
    run_dag("warehouse_weekly_tests", "2026-03-01", paths=deployment)
    results = [r for r in json.loads((deployment.data / "dbt_target" / "run_results.json").read_text())["results"]
               if r["unique_id"].startswith("test.")]
    assert len(results) > 80
    assert {r["status"] for r in results} == {"pass"}
    assert any(r["unique_id"].startswith("test.segwarehouse.relationships_fct_orders_person_id") for r in results)
    assert any(r["unique_id"] == "test.segwarehouse.assert_every_web_identifier_has_a_person" for r in results)


def test_missing_landing_day_fails_the_run_with_the_folder_named(deployment):
    with pytest.raises(DagRunFailed, match=r"no events files for 2026-03-05"):
        run_dag("warehouse_daily", "2026-03-05", paths=deployment)


def test_retrain_then_score_publish_segments(deployment):
    run_dag("segments_retrain", "2026-03-01", paths=deployment)
    run_dag("segments_score", "2026-03-01", paths=deployment)
    persons = _q(deployment.warehouse, "select count(*) from dim_user_profile")[0][0]
    assigned, versions = _q(deployment.serving,
                            "select count(distinct person_id), count(distinct model_version) from segments.segment_assignments")[0]
    assert assigned == persons
    assert versions == 1
    champion = _q(deployment.warehouse, "select count(*) from segments.model_aliases where alias = 'champion'")[0][0]
    assert champion == 1
    assert _q(deployment.warehouse, "select count(distinct run_id) from segments.segment_history")[0][0] == 2
    assert _q(deployment.warehouse, "select count(*) from segments.drift_metrics")[0][0] > 0
    # each DAG's report task wrote the HTML report of its own scoring run
    assert len(list(deployment.runs.glob("*/report/index.html"))) == 2


def test_privacy_erasure_leaves_no_trace_of_the_person(deployment):
    email, customer_id = _q(deployment.warehouse, """
        select email, primary_customer_id from dim_user_profile
        where n_customer_ids = 2 and n_anonymous_ids >= 1 and email is not null order by person_id limit 1""")[0]
    identifiers = [r[0] for r in _q(deployment.warehouse, f"""
        select id_value from int_person_map where person_id =
            (select person_id from dim_user_profile where email = '{email}')""")]
    assert customer_id in identifiers
    run_dag("privacy_erasure", "2026-03-01", conf={"identifier": email.upper()}, paths=deployment)
    needles = [i.lower().encode() for i in identifiers]
    leftovers = [str(p) for p in deployment.data.rglob("*")
                 if p.is_file() and "airflow" not in p.parts and "truth" not in p.parts
                 and any(n in p.read_bytes().lower() for n in needles)]
    assert leftovers == []
    audits = list(deployment.runs.glob("*/erasure_audit.json"))
    assert len(audits) == 1
    audit = json.loads(audits[0].read_text())
    assert audit["raw_lines_removed"] > 0
    assert email not in audits[0].read_text()
    assert _q(deployment.warehouse, "select count(*) from privacy_erasure_audit")[0][0] == 1
