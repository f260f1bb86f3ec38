"""BI access as a tool does it: SQLAlchemy + duckdb-engine, read-only, while the pipeline republishes.

Every SQL example in docs/bi.md is parsed from the doc and run, so the doc cannot drift from the contract.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from .conftest import Served

DOC = Path(__file__).resolve().parents[2] / "docs" / "bi.md"
LOOP = Path(__file__).with_name("publish_loop.py")
READ_SECONDS = 10.0
MAX_READ_SECONDS = 120.0


def doc_queries() -> tuple[list[str], list[str]]:
    """(queries on the serving file, queries on the Parquet exports) from the ```sql blocks of docs/bi.md."""
    blocks = [b.strip() for b in re.findall(r"```sql\n(.*?)```", DOC.read_text(), flags=re.S)]
    return [b for b in blocks if "read_parquet" not in b], [b for b in blocks if "read_parquet" in b]


def test_doc_has_examples_and_the_tested_connection_settings():
    serving, parquet = doc_queries()
    assert len(serving) >= 6
    assert len(parquet) >= 1
    doc = DOC.read_text()
    assert "duckdb:////" in doc
    assert '{"connect_args": {"read_only": true}}' in doc


def _engine(path: Path):
    # what the doc tells Superset to use: duckdb:/// + absolute path, read_only, no pooling
    uri = f"duckdb:///{path.resolve()}"
    assert uri.startswith("duckdb:////")
    return create_engine(uri, connect_args={"read_only": True}, poolclass=NullPool)


def _variant_warehouse(served: Served, tmp_path: Path) -> tuple[Path, int, int]:
    """A copy of the warehouse with ~10 % fewer validated persons (what a publish reads), so two snapshots are
    distinguishable."""
    a = served.paths.warehouse
    b = tmp_path / "variant.duckdb"
    shutil.copy2(a, b)
    with duckdb.connect(str(b)) as con:
        con.execute("delete from validated.dim_user_profile where hash(person_id) % 10 = 0")
        n_b = con.execute("select count(*) from validated.dim_user_profile").fetchone()[0]
    with duckdb.connect(str(a), read_only=True) as con:
        n_a = con.execute("select count(*) from validated.dim_user_profile").fetchone()[0]
    assert n_b < n_a
    return b, n_a, n_b


def test_bi_queries_during_concurrent_publishes(served: Served, tmp_path, monkeypatch):
    serving_queries, parquet_queries = doc_queries()
    variant, n_a, n_b = _variant_warehouse(served, tmp_path)
    stop, result = tmp_path / "stop", tmp_path / "result.json"
    child = subprocess.Popen(
        [sys.executable, str(LOOP), str(served.paths.home), str(served.paths.data), str(served.paths.warehouse),
         str(variant), str(stop), str(result)], cwd=served.paths.home)
    engine = _engine(served.paths.serving)
    iterations, errors, seen = 0, [], set()
    try:
        # read until both snapshots were seen (on a loaded machine the first publish, which pays the imports,
        # can take longer than READ_SECONDS), then READ_SECONDS more; at most MAX_READ_SECONDS in all
        started, both_seen_at = time.monotonic(), None
        while child.poll() is None and time.monotonic() - started < MAX_READ_SECONDS:
            if both_seen_at is None and len(seen) == 2:
                both_seen_at = time.monotonic()
            if both_seen_at is not None and time.monotonic() - both_seen_at > READ_SECONDS:
                break
            try:
                with engine.connect() as con:  # a fresh connection sees the latest publish
                    for sql in serving_queries:
                        con.execute(text(sql)).fetchall()
                    sizes = con.execute(text("select sum(size) from segment_summary")).scalar()
                    persons = con.execute(text("select count(*) from user_segments")).scalar()
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            finally:
                iterations += 1
            assert sizes == persons, f"inconsistent snapshot: segment sizes {sizes} != {persons} persons"
            assert persons in (n_a, n_b)
            seen.add(persons)
    finally:
        stop.touch()
        child.wait(timeout=120)
    stats = json.loads(result.read_text())
    print(f"reader: {iterations} iterations x {len(serving_queries) + 2} queries, {len(errors)} errors; "
          f"publisher: {stats['publishes']} publishes, mean {sum(stats['seconds']) / max(1, stats['publishes']):.2f}s")
    assert stats["error"] is None
    assert errors == []
    assert stats["publishes"] >= 3
    assert iterations >= 10
    assert seen == {n_a, n_b}  # the reader really saw new snapshots of both kinds

    # after the loop: the Parquet examples (paths relative to the project root holding data/)
    monkeypatch.chdir(served.root)
    with engine.connect() as con:
        for sql in parquet_queries:
            rows = con.execute(text(sql)).fetchall()
            assert sum(r[-1] for r in rows) in (n_a, n_b)


def test_a_connection_keeps_its_snapshot(served: Served, tmp_path):
    """An open connection reads the file it opened; once it is closed, a new connection reads the new publish.

    Within one process DuckDB shares one database instance per path while any connection to it is open,
    so a "new" connection opened meanwhile still reads the old file (docs/bi.md, "Atomic swap").
    """
    from segwarehouse.pipeline import publish_serving

    variant, n_a, n_b = _variant_warehouse(served, tmp_path)
    engine = _engine(served.paths.serving)
    with engine.connect() as old:
        before = old.execute(text("select count(*) from user_segments")).scalar()
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SEGWAREHOUSE_DUCKDB", str(variant if before == n_a else served.paths.warehouse))
            publish_serving(served.paths)
        assert old.execute(text("select count(*) from user_segments")).scalar() == before
        with engine.connect() as same_instance:
            assert same_instance.execute(text("select count(*) from user_segments")).scalar() == before
    with engine.connect() as new:
        after = new.execute(text("select count(*) from user_segments")).scalar()
    assert {before, after} == {n_a, n_b}
    publish_serving(served.paths)  # leave the full snapshot for the other tests
