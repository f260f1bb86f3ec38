"""The quality gate with the real GX API on real DuckDB files: passing data, each kind of defect, evidence."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from segwarehouse.quality.gate import QualityGateFailed, validate_warehouse
from segwarehouse.serving.publish import publish

_spec = importlib.util.spec_from_file_location("quality_profiles", Path(__file__).with_name("profiles.py"))
profiles = importlib.util.module_from_spec(_spec)
sys.modules["quality_profiles"] = profiles
_spec.loader.exec_module(profiles)

ROWS = 20_000
PROFILE = "dim_user_profile"
SERVE = [PROFILE]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pid(i: int) -> str:
    return f"p_{i:016x}"


def audit_and_publish(warehouse: Path, serving: Path, tables: list[str], *, run_id: str, runs_dir: Path):
    """Write-audit-publish as the pipeline does it: the gate, then (only if it passed) the publish of what it
    audited (a table whose row count changed since aborts the publish)."""
    gate = validate_warehouse(warehouse, run_id, runs_dir)
    audited = {s.table: s.n_rows for s in gate.suites if s.suite == f"{s.table}_suite" and s.is_whole_table}
    return gate, publish(warehouse, serving, tables, expected_rows={t: audited[t] for t in tables if t in audited})


@pytest.fixture
def warehouse(tmp_path) -> Path:
    return profiles.build_warehouse(tmp_path / "warehouse.duckdb", profile_rows=ROWS)


@pytest.fixture
def good_run(warehouse, tmp_path) -> dict:
    """A first, passing audit-and-publish: leaves a baseline and a serving file."""
    serving = tmp_path / "serving" / "segments.duckdb"
    runs = tmp_path / "runs"
    result = audit_and_publish(warehouse, serving, SERVE, run_id="run-1", runs_dir=runs)
    return {"warehouse": warehouse, "serving": serving, "runs": runs, "result": result}


def test_valid_data_passes_and_records_runs_and_baseline(warehouse, tmp_path):
    runs = tmp_path / "runs"
    result = validate_warehouse(warehouse, "run-ok", runs)

    assert result.success
    assert result.baseline_recorded
    assert not result.failures
    profile = next(s for s in result.suites if s.suite == "dim_user_profile_suite")
    assert profile.n_rows == ROWS
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select suite, success, n_expectations, n_failed, result_path from quality.data_quality_runs "
            "where run_id = 'run-ok' order by suite"
        ).fetchall()
        baseline = con.execute(
            "select run_id, row_count, monetary_mean from quality.profile_baselines"
        ).fetchall()
    assert {r[0] for r in rows} == {
        "stg_crm__contacts_suite",
        "stg_web__events_suite",
        "stg_shop__orders_suite",
        "stg_shop__order_items_suite",
        "dim_user_profile_suite",
        "dim_user_profile_keys_suite",
        "dim_user_profile_metrics_suite",
    }
    assert all(r[1] and r[2] > 0 and r[3] == 0 and Path(r[4]).exists() for r in rows)
    assert len(baseline) == 1
    assert baseline[0][0] == "run-ok"
    assert baseline[0][1] == ROWS
    assert baseline[0][2] > 0


def test_evidence_json_and_data_docs_under_run_folder(warehouse, tmp_path):
    runs = tmp_path / "runs"
    result = validate_warehouse(warehouse, "run-docs", runs)

    folder = runs / "run-docs" / "validation"
    assert result.validation_dir == folder.resolve()
    doc = json.loads((folder / "dim_user_profile_suite.json").read_text())
    assert doc["success"] is True
    assert doc["n_rows"] == ROWS
    assert len(doc["gx_results"]) == 2  # the zero-row frame for the column set + the profile's rows
    summary = json.loads((folder / "gate_result.json").read_text())
    assert summary["success"] is True
    assert result.data_docs_index == (folder / "data_docs" / "index.html").resolve()
    assert result.data_docs_index.exists()
    pages = list((folder / "data_docs" / "validations").rglob("*.html"))
    assert pages, "data docs has a page per validation result"
    assert "dim_user_profile_suite" in result.data_docs_index.read_text()


def test_rerun_of_same_run_id_replaces_its_rows(warehouse, tmp_path):
    runs = tmp_path / "runs"
    tables = ["stg_shop__orders", "dim_user_profile"]
    validate_warehouse(warehouse, "run-x", runs, tables=tables)
    validate_warehouse(warehouse, "run-x", runs, tables=tables)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (n_runs,) = con.execute("select count(*) from quality.data_quality_runs").fetchone()
        (n_base,) = con.execute("select count(*) from quality.profile_baselines").fetchone()
    assert n_runs == 4  # orders + the profile's rows, keys and metrics suites
    assert n_base == 1


DEFECTS = {
    "age_300": (
        [f"update dim_user_profile set age = 300 where person_id in ('{_pid(3)}', '{_pid(17_000)}')"],
        [
            "dim_user_profile.age",
            "expect_column_values_to_be_between",
            "2 of 20000",
            "observed values [300]",
            f"rows person_id={_pid(3)}, person_id={_pid(17_000)}",
        ],
    ),
    "duplicate_ids_far_apart": (
        # the first and the last row share a key
        [f"update dim_user_profile set person_id = '{_pid(1)}' where person_id = '{_pid(19_999)}'"],
        ["dim_user_profile.person_id", "expect_column_values_to_be_unique", _pid(1)],
    ),
    "half_the_rows_dropped": (
        ["delete from dim_user_profile where hash(person_id) % 2 = 0"],  # about half the rows
        [
            "dim_user_profile.*",
            "row count vs previous good run",
            "expect_column_values_to_be_between",
            "baseline 20000",
        ],
    ),
    "engagement_150": (
        [f"update dim_user_profile set engagement_score = 150 where person_id = '{_pid(12_345)}'"],
        [
            "dim_user_profile.engagement_score",
            "expect_column_values_to_be_between",
            "observed values [150]",
            f"rows person_id={_pid(12_345)}",
        ],
    ),
    "unknown_lifecycle": (
        [f"update dim_user_profile set lifecycle_stage = 'zombie' where person_id = '{_pid(8)}'"],
        [
            "dim_user_profile.lifecycle_stage",
            "expect_column_values_to_be_in_set",
            "observed values [zombie]",
            f"rows person_id={_pid(8)}",
        ],
    ),
    "mean_monetary_drift": (
        ["update dim_user_profile set monetary = monetary * 2 + 50"],
        ["dim_user_profile.monetary", "mean vs previous good run", "expect_column_values_to_be_between"],
    ),
}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_defect_fails_gate_and_leaves_serving_file_unchanged(good_run, defect):
    warehouse, serving, runs = good_run["warehouse"], good_run["serving"], good_run["runs"]
    before_sha = _sha256(serving)
    with duckdb.connect(str(serving), read_only=True) as con:
        before_rows = con.execute("select count(*), sum(monetary) from dim_user_profile").fetchone()
    statements, expected_fragments = DEFECTS[defect]
    profiles.execute(warehouse, *statements)

    with pytest.raises(QualityGateFailed) as failed:
        audit_and_publish(warehouse, serving, SERVE, run_id="run-2", runs_dir=runs)

    message = str(failed.value)
    for fragment in expected_fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    assert _sha256(serving) == before_sha
    with duckdb.connect(str(serving), read_only=True) as con:
        assert con.execute("select count(*), sum(monetary) from dim_user_profile").fetchone() == before_rows
    assert not list(serving.parent.glob("*.tmp")), "no temp file left behind"
    # the failed run is recorded, evidence written, and it does not become the new baseline
    with duckdb.connect(str(warehouse), read_only=True) as con:
        failed_rows = con.execute(
            "select suite, failed_summary from quality.data_quality_runs where run_id = 'run-2' and not success"
        ).fetchall()
        baselines = con.execute("select run_id from quality.profile_baselines").fetchall()
    assert failed_rows
    assert all(r[1] for r in failed_rows)
    assert baselines == [("run-1",)]
    assert (runs / "run-2" / "validation" / "data_docs" / "index.html").exists()
    assert failed.value.result.failures


def test_tolerance_is_configurable(good_run):
    warehouse, runs = good_run["warehouse"], good_run["runs"]
    # drop the last 4000 of 20000 rows (-20 %): outside +-10 %, inside +-50 %
    profiles.execute(warehouse, "delete from dim_user_profile where person_id >= 'p_0000000000003e80'")
    with pytest.raises(QualityGateFailed, match="row count vs previous good run"):
        validate_warehouse(warehouse, "run-2", runs, tolerance=0.1, tables=[PROFILE])
    result = validate_warehouse(warehouse, "run-3", runs, tolerance=0.5, tables=[PROFILE])
    assert result.success


def test_tolerance_from_environment(good_run, monkeypatch):
    warehouse, runs = good_run["warehouse"], good_run["runs"]
    profiles.execute(
        warehouse, "delete from dim_user_profile where person_id >= 'p_0000000000003e80'"
    )  # -20 %
    monkeypatch.setenv("SEGWAREHOUSE_GATE_TOLERANCE", "0.1")
    with pytest.raises(QualityGateFailed, match=r"min_value=18000, max_value=22000"):
        validate_warehouse(warehouse, "run-2", runs, tables=[PROFILE])
    monkeypatch.setenv("SEGWAREHOUSE_GATE_TOLERANCE", "0.5")
    assert validate_warehouse(warehouse, "run-3", runs, tables=[PROFILE]).success
    monkeypatch.setenv("SEGWAREHOUSE_GATE_TOLERANCE", "twenty percent")
    with pytest.raises(ValueError, match="SEGWAREHOUSE_GATE_TOLERANCE"):
        validate_warehouse(warehouse, "run-4", runs, tables=[PROFILE])


def test_staging_value_set_violation_is_named(warehouse, tmp_path):
    profiles.execute(
        warehouse,
        "update stg_web__events set event_type = 'teleport' where event_id = 'e00000007'",
        "update stg_shop__orders set currency = 'XYZ' where order_id = 'O00000003'",
    )
    with pytest.raises(QualityGateFailed) as failed:
        validate_warehouse(warehouse, "run-stg", tmp_path / "runs")
    message = str(failed.value)
    assert "stg_web__events.event_type" in message
    assert "observed values [teleport]" in message
    # the failing row is named by its key and the landing file/line staging carries
    assert "rows event_id=e00000007 source_file=web/events/date=2026-02-01/events.jsonl line_no=8" in message
    assert "stg_shop__orders.currency" in message
    assert "XYZ" in message


def test_missing_table_and_configurable_schema(tmp_path):
    warehouse = profiles.build_warehouse(tmp_path / "wh.duckdb", profile_rows=500, schema="marts")
    result = validate_warehouse(warehouse, "r", tmp_path / "runs", schema="marts")
    assert result.success
    with pytest.raises(QualityGateFailed, match=r"dim_user_profile\.\*: table_exists"):
        validate_warehouse(warehouse, "r2", tmp_path / "runs", schema="main", tables=["dim_user_profile"])


def test_mostly_threshold_is_evaluated_on_whole_table(warehouse, tmp_path):
    # 15 % of contacts without e-mail: allowed (mostly=0.8 over the whole table)
    profiles.execute(warehouse, "update stg_crm__contacts set email = null where customer_id < 'C00000030'")
    result = validate_warehouse(
        warehouse, "run-mostly", tmp_path / "runs", tables=["stg_crm__contacts"]
    )
    assert result.success
    profiles.execute(warehouse, "update stg_crm__contacts set email = null where customer_id < 'C00000060'")
    with pytest.raises(QualityGateFailed, match=r"stg_crm__contacts.email.*60 of 200"):
        validate_warehouse(
            warehouse, "run-mostly-2", tmp_path / "runs", tables=["stg_crm__contacts"]
        )


def test_cookie_rule_skips_email_opens(warehouse, tmp_path):
    """anonymous_id may be missing on e-mail opens (a pixel has no cookie), on 1 % of other events at most."""
    profiles.execute(
        warehouse,
        "update stg_web__events set event_type = 'email_open', anonymous_id = null where event_id < 'e00000400'",
    )
    result = validate_warehouse(warehouse, "run-opens", tmp_path / "runs", tables=["stg_web__events"])
    assert result.success  # 40 % of the events have no cookie, all of them e-mail opens
    profiles.execute(
        warehouse, "update stg_web__events set anonymous_id = null where event_id between 'e00000400' and 'e00000419'"
    )
    with pytest.raises(QualityGateFailed) as failed:
        validate_warehouse(warehouse, "run-opens-2", tmp_path / "runs", tables=["stg_web__events"])
    message = str(failed.value)
    # 20 of the 600 other events: the condition column was streamed and the share is over the others only
    assert "stg_web__events.anonymous_id" in message
    assert "20 of 600 rows unexpected" in message
    assert "event_id=e00000400" in message


def test_publish_needs_tables(warehouse, tmp_path):
    with pytest.raises(ValueError, match="at least one table"):
        publish(warehouse, tmp_path / "s.duckdb", [])


def test_missing_contract_column_is_named(tmp_path):
    warehouse = profiles.build_warehouse(tmp_path / "wh.duckdb", profile_rows=500)
    profiles.execute(
        warehouse,
        "alter table dim_user_profile drop column age",
        "alter table dim_user_profile drop column monetary",
    )
    with pytest.raises(QualityGateFailed) as failed:
        validate_warehouse(warehouse, "r", tmp_path / "runs", tables=[PROFILE])
    message = str(failed.value)
    assert "expect_table_columns_to_match_set" in message
    assert "{'missing': ['age', 'monetary']}" in message
    assert "dim_user_profile.age: expect_column_values_to_be_between" in message


def test_failing_rows_named_for_nulls_and_sampled_not_exhaustive(warehouse, tmp_path):
    profiles.execute(
        warehouse,
        f"update dim_user_profile set engagement_score = null where person_id = '{_pid(15_000)}'",
        "update dim_user_profile set r_score = 9",  # every row fails: only a sample is listed
    )
    with pytest.raises(QualityGateFailed) as failed:
        validate_warehouse(warehouse, "r", tmp_path / "runs", tables=[PROFILE])
    lines = {f.column: f for f in failed.value.result.failures}
    assert lines["engagement_score"].failing_rows == (f"person_id={_pid(15_000)}",)
    assert "observed values [None]" in lines["engagement_score"].describe()
    r_score = lines["r_score"]
    assert r_score.unexpected_count == ROWS
    assert len(r_score.failing_rows) == 20
    assert r_score.describe().endswith(f"rows {', '.join(f'person_id={_pid(i)}' for i in range(5))}, ...")
    saved = json.loads((tmp_path / "runs" / "r" / "validation" / "dim_user_profile_suite.json").read_text())
    saved_r = next(e for e in saved["expectations"] if e["column"] == "r_score" and not e["success"])
    assert saved_r["failing_rows"][0] == f"person_id={_pid(0)}"


def _suite(result, suite: str):
    return next(s for s in result.suites if s.suite == suite)


def test_event_history_is_validated_load_by_load(warehouse, tmp_path):
    """With a loaded_at column, a gate validates only rows loaded after the last passing validation."""
    runs = tmp_path / "runs"
    profiles.execute(
        warehouse, "alter table stg_web__events add column loaded_at timestamp default timestamp '2026-02-01 06:00'"
    )
    first = validate_warehouse(warehouse, "load-1", runs, tables=["stg_web__events"])
    events = _suite(first, "stg_web__events_suite")
    assert (events.n_rows, events.validated_from) == (1000, None)
    assert str(events.validated_through) == "2026-02-01 06:00:00"

    # the next day's load: 200 new rows, one with an unknown event type (and an old row broken meanwhile,
    # which this gate does not read again: it was validated when loaded)
    profiles.execute(
        warehouse,
        """insert into stg_web__events (event_id, anonymous_id, event_type, device, channel, event_at, source_file,
               line_no, loaded_at)
           select printf('n%08d', i), 'a1', case when i = 7 then 'teleport' else 'page_view' end, 'mobile',
                  'direct', timestamptz '2026-02-02 10:00:00+00', 'web/events/date=2026-02-02/events.jsonl',
                  (i + 1)::integer, timestamp '2026-02-02 06:00'
           from range(200) t(i)""",
        "update stg_web__events set channel = 'pigeon' where event_id = 'e00000003'",
    )
    with pytest.raises(QualityGateFailed, match=r"observed values \[teleport\]") as failed:
        validate_warehouse(warehouse, "load-2", runs, tables=["stg_web__events"])
    events = _suite(failed.value.result, "stg_web__events_suite")
    assert events.n_rows == 200
    assert str(events.validated_from) == "2026-02-01 06:00:00"
    assert "pigeon" not in str(failed.value)

    # a failed run moves nothing: the fixed load is validated again, then nothing is left to validate
    profiles.execute(warehouse, "update stg_web__events set event_type = 'search' where event_id = 'n00000007'")
    fixed = validate_warehouse(warehouse, "load-2b", runs, tables=["stg_web__events"])
    assert _suite(fixed, "stg_web__events_suite").n_rows == 200
    idle = validate_warehouse(warehouse, "load-3", runs, tables=["stg_web__events"])
    assert idle.success
    assert _suite(idle, "stg_web__events_suite").n_rows == 0
    with duckdb.connect(str(warehouse)) as con:
        recorded = con.execute(
            "select run_id, n_rows, validated_from is null, validated_through::varchar from quality.data_quality_runs "
            "where suite = 'stg_web__events_suite' order by started_at"
        ).fetchall()
    assert recorded == [
        ("load-1", 1000, True, "2026-02-01 06:00:00"),
        ("load-2", 200, False, "2026-02-02 06:00:00"),
        ("load-2b", 200, False, "2026-02-02 06:00:00"),
        ("load-3", 0, False, "2026-02-02 06:00:00"),
    ]


def test_failures_carry_the_detail_of_a_single_summary_pass(warehouse, tmp_path):
    """The gate asks GX for verdicts first and reruns only what failed with the full detail: each failure has
    the counts, sampled values and row positions one SUMMARY pass over the whole frame gives."""
    import great_expectations as gx

    from expectations import dim_user_profile_suite
    from segwarehouse.quality import gate

    profiles.execute(
        warehouse,
        f"update dim_user_profile set age = 300 where person_id in ('{_pid(3)}', '{_pid(17_000)}')",
        f"update dim_user_profile set lifecycle_stage = 'zombie' where person_id = '{_pid(8)}'",
    )
    with pytest.raises(QualityGateFailed) as failed:
        validate_warehouse(warehouse, "r", tmp_path / "runs", tables=[PROFILE])
    profile = _suite(failed.value.result, "dim_user_profile_suite")
    assert {(f.column, f.expectation_type) for f in profile.failures} == {
        ("age", "expect_column_values_to_be_between"), ("lifecycle_stage", "expect_column_values_to_be_in_set")}

    # one SUMMARY pass of the suite over the frame the gate read
    context = gx.get_context(mode="ephemeral")
    suite = dim_user_profile_suite()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns = [c for c in gate._columns(con, "main", PROFILE) if c in gate._referenced(suite)]
        frame = gate._frame(con, f"select {', '.join(columns)} from {PROFILE}")
    rows = [e for e in suite.expectations if e.expectation_type not in gate._SHAPE]
    single = gate._checkpoint(context, context.data_sources.add_pandas("w"), "single", rows, frame, "SUMMARY",
                              "r", datetime.now(UTC))
    expected = {r["expectation_config"]["kwargs"]["column"]: r["result"] for r in single["results"] if not r["success"]}
    saved = json.loads((tmp_path / "runs" / "r" / "validation" / "dim_user_profile_suite.json").read_text())
    verdicts, detail, _shape = saved["gx_results"]
    assert len(verdicts["results"]) == len(rows)
    assert all(not r["result"] for r in verdicts["results"])
    assert {r["expectation_config"]["kwargs"]["column"]: r["result"] for r in detail["results"]} == expected
    assert expected["age"]["unexpected_count"] == 2
    assert expected["age"]["element_count"] == ROWS
    ages = next(f for f in profile.failures if f.column == "age")
    assert ages.failing_rows == (f"person_id={_pid(3)}", f"person_id={_pid(17_000)}")
    # outcomes keep the suite's order; the passing ones are verdicts only
    assert [e["expectation_type"] for e in saved["expectations"]] == [
        e.expectation_type for e in [*rows, *(e for e in suite.expectations if e.expectation_type in gate._SHAPE)]]
    assert all(e.unexpected_count is None for e in profile.expectations if e.success)


def test_a_table_read_in_chunks_is_judged_as_a_whole(warehouse, tmp_path, monkeypatch):
    """A first run reads a whole history in chunks of bounded memory: counts add up over the chunks, a `mostly`
    is decided on the whole table (not per chunk), and failing rows in a later chunk are still named."""
    monkeypatch.setenv("SEGWAREHOUSE_GATE_CHUNK_ROWS", "50")
    # contacts: 30 of 200 without e-mail (mostly 0.8 passes), all in the first chunk of 50 (which alone would fail)
    profiles.execute(warehouse, "update stg_crm__contacts set email = null where customer_id < 'C00000030'")
    # events: e-mail opens without cookie (allowed) and 20 other events without one, in chunks 9 and 10
    profiles.execute(
        warehouse,
        "update stg_web__events set event_type = 'email_open', anonymous_id = null where event_id < 'e00000400'",
        "update stg_web__events set anonymous_id = null where event_id between 'e00000440' and 'e00000459'",
        "update stg_web__events set device = 'fridge' where event_id = 'e00000987'",
    )
    tables = ["stg_crm__contacts", "stg_web__events"]
    with pytest.raises(QualityGateFailed) as failed:
        validate_warehouse(warehouse, "r-chunked", tmp_path / "runs", tables=tables)
    chunked = failed.value.result
    contacts, events = _suite(chunked, "stg_crm__contacts_suite"), _suite(chunked, "stg_web__events_suite")
    assert (contacts.n_rows, events.n_rows) == (200, 1000)
    assert contacts.success
    email = next(e for e in contacts.expectations if e.column == "email")
    assert (email.unexpected_count, email.element_count) == (30, 200)
    # 20 of the 600 events that are not e-mail opens: 3.3 % > 1 % allowed, though chunks 1-8 have none
    assert {(f.column, f.expectation_type) for f in events.failures} == {
        ("anonymous_id", "expect_column_values_to_not_be_null"), ("device", "expect_column_values_to_be_in_set")}
    cookie = next(f for f in events.failures if f.column == "anonymous_id")
    assert "20 of 600 rows unexpected" in cookie.describe()
    assert cookie.failing_rows[0].startswith("event_id=e00000440 ")
    assert len(cookie.failing_rows) == 20
    device = next(f for f in events.failures if f.column == "device")
    assert (device.unexpected_count, device.element_count) == (1, 1000)
    assert [r.split()[0] for r in device.failing_rows] == ["event_id=e00000987"]

    # the same tables as one frame each give the same verdicts, and the failures the same counts and rows
    monkeypatch.setenv("SEGWAREHOUSE_GATE_CHUNK_ROWS", "1000000")
    with pytest.raises(QualityGateFailed) as whole:
        validate_warehouse(warehouse, "r-whole", tmp_path / "runs", tables=tables)

    def verdicts(result):
        return [(s.suite, e.expectation_type, e.column, e.success) for s in result.suites for e in s.expectations]

    def failures(result):
        return [(f.expectation_type, f.column, f.unexpected_count, f.element_count, f.failing_rows)
                for f in result.failures]

    assert verdicts(whole.value.result) == verdicts(chunked)
    assert failures(whole.value.result) == failures(chunked)


def test_chunk_size_must_be_a_positive_number(monkeypatch):
    from segwarehouse.quality import gate

    monkeypatch.setenv("SEGWAREHOUSE_GATE_CHUNK_ROWS", "lots")
    with pytest.raises(ValueError, match="SEGWAREHOUSE_GATE_CHUNK_ROWS must be a whole number"):
        gate._chunk_rows()
    monkeypatch.setenv("SEGWAREHOUSE_GATE_CHUNK_ROWS", "0")
    with pytest.raises(ValueError, match="at least 1"):
        gate._chunk_rows()
