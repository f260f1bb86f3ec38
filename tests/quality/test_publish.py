"""Write-audit-publish: the serving file changes only by one atomic rename, never half-written."""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from segwarehouse.quality.gate import validate_warehouse
from segwarehouse.serving.publish import PublishAborted, publish

_spec = importlib.util.spec_from_file_location("quality_profiles", Path(__file__).with_name("profiles.py"))
profiles = importlib.util.module_from_spec(_spec)
sys.modules["quality_profiles"] = profiles
_spec.loader.exec_module(profiles)


def _warehouse(path: Path, value: int, extra_table: bool = False) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute(
            f"create or replace table dim_user_profile as select i as n, {value} as v from range(1000) t(i)"
        )
        con.execute("create schema if not exists ml")
        con.execute(
            f"create or replace table ml.segments as select i as n, {value} % 4 as segment from range(10) t(i)"
        )
        if extra_table:
            con.execute("create or replace table fresh as select 42 as answer")
    return path


def _read_in_subprocess(path: Path, sql: str) -> str:
    """A separate process, like a BI tool: no shared DuckDB instance cache with the test process."""
    code = (
        "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
        "print(c.execute(sys.argv[2]).fetchall())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path), sql], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_publish_copies_tables_and_views(tmp_path):
    warehouse = _warehouse(tmp_path / "wh.duckdb", 1)
    serving = tmp_path / "serving" / "segments.duckdb"

    result = publish(
        warehouse,
        serving,
        ["dim_user_profile", "ml.segments"],
        views_sql=["create view bi_profile as select n, v from dim_user_profile where n < 10"],
    )

    assert result.tables == {"dim_user_profile": 1000, "ml.segments": 10}
    assert result.views == 1
    assert result.serving_path == serving.resolve()
    with duckdb.connect(str(serving), read_only=True) as con:
        assert con.execute("select count(*) from bi_profile").fetchone() == (10,)
        assert con.execute("select count(*) from ml.segments").fetchone() == (10,)
    assert sorted(p.name for p in serving.parent.iterdir()) == ["segments.duckdb"]


def test_open_reader_keeps_old_snapshot_new_connection_sees_new(tmp_path):
    serving = tmp_path / "serving.duckdb"
    publish(_warehouse(tmp_path / "wh1.duckdb", 1), serving, ["dim_user_profile"])
    reader = duckdb.connect(str(serving), read_only=True)
    assert reader.execute("select distinct v from dim_user_profile").fetchall() == [(1,)]

    publish(_warehouse(tmp_path / "wh2.duckdb", 2, extra_table=True), serving, ["dim_user_profile", "fresh"])

    # the reader opened before the swap still reads the old file (its inode survives the rename)
    assert reader.execute("select distinct v from dim_user_profile").fetchall() == [(1,)]
    assert reader.execute("select count(*) from dim_user_profile").fetchone() == (1000,)
    # new connections see the new snapshot: another process, and a fresh in-process database
    assert _read_in_subprocess(serving, "select distinct v from dim_user_profile") == "[(2,)]"
    assert _read_in_subprocess(serving, "select answer from fresh") == "[(42,)]"
    with duckdb.connect() as fresh:
        fresh.execute(f"attach '{serving}' as s (read_only)")
        assert fresh.execute("select distinct v from s.dim_user_profile").fetchall() == [(2,)]
    reader.close()


def test_failed_publish_leaves_serving_untouched_and_no_temp_file(tmp_path):
    serving = tmp_path / "serving.duckdb"
    publish(_warehouse(tmp_path / "wh1.duckdb", 1), serving, ["dim_user_profile"])
    before = hashlib.sha256(serving.read_bytes()).hexdigest()

    with pytest.raises(duckdb.Error):
        publish(_warehouse(tmp_path / "wh2.duckdb", 2), serving, ["dim_user_profile", "no_such_table"])
    with pytest.raises(duckdb.Error):
        publish(
            tmp_path / "wh2.duckdb",
            serving,
            ["dim_user_profile"],
            views_sql=["create view broken as select x"],
        )

    assert hashlib.sha256(serving.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_publish_refuses_to_overwrite_the_warehouse(tmp_path):
    warehouse = _warehouse(tmp_path / "wh.duckdb", 1)
    with pytest.raises(ValueError, match="must differ"):
        publish(warehouse, warehouse, ["dim_user_profile"])


def test_publish_rejects_non_identifier_names(tmp_path):
    warehouse = _warehouse(tmp_path / "wh.duckdb", 1)
    with pytest.raises(ValueError, match="identifier"):
        publish(warehouse, tmp_path / "s.duckdb", ["dim_user_profile; drop table x"])


def test_publish_aborts_when_rows_differ_from_what_was_audited(tmp_path):
    serving = tmp_path / "serving.duckdb"
    publish(_warehouse(tmp_path / "wh1.duckdb", 1), serving, ["dim_user_profile"])
    before = hashlib.sha256(serving.read_bytes()).hexdigest()

    with pytest.raises(PublishAborted, match=r"dim_user_profile: 999, 1000"):
        publish(
            _warehouse(tmp_path / "wh2.duckdb", 2),
            serving,
            ["dim_user_profile", "ml.segments"],
            expected_rows={"dim_user_profile": 999, "ml.segments": 10},
        )

    assert hashlib.sha256(serving.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_gate_and_publish_with_environment_paths(isolated_env):
    paths = isolated_env
    paths.warehouse.parent.mkdir(parents=True)
    profiles.build_warehouse(paths.warehouse, profile_rows=2_000)

    gate = validate_warehouse(paths.warehouse, "daily-1", paths.runs)
    published = publish(paths.warehouse, paths.serving, ["dim_user_profile"])

    assert gate.success
    assert published.serving_path == paths.serving.resolve()
    assert published.tables == {"dim_user_profile": 2_000}
    assert (paths.runs / "daily-1" / "validation" / "gate_result.json").exists()
    assert (paths.runs / "daily-1" / "validation" / "data_docs" / "index.html").exists()
    republished = publish(paths.warehouse, paths.serving, ["dim_user_profile", "stg_shop__orders"])
    assert republished.tables == {"dim_user_profile": 2_000, "stg_shop__orders": 200}
