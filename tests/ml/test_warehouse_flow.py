"""Train and score against a real DuckDB file: the tables, their row counts, idempotency, drift, gates."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ml.score import score_from_warehouse
from ml.train import train_from_warehouse
from segwarehouse.paths import Paths

from .profiles import make_profiles, write_profiles


@pytest.fixture
def warehouse(tmp_path, monkeypatch) -> Paths:
    monkeypatch.setenv("SEGWAREHOUSE_DUCKDB", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("SEGWAREHOUSE_MODELS", str(tmp_path / "models"))
    return Paths(home=Path(__file__).resolve().parents[2], data=tmp_path)


def _count(paths: Paths, sql: str) -> int:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


def test_train_and_score_write_the_segment_tables(warehouse, cfg):
    frame, _ = make_profiles(2500, seed=5)
    write_profiles(str(warehouse.warehouse), frame)
    trained = train_from_warehouse("run_1", config=cfg, paths=warehouse)
    assert trained["promoted"]
    assert trained["k"] == 5
    assert (warehouse.models / "m_run_1.skops").exists()
    assert (warehouse.models / "m_run_1.json").exists()
    scored = score_from_warehouse("run_1", config=cfg, paths=warehouse)
    assert scored["rows"] == 2500
    assert scored["model_version"] == "m_run_1"
    assert scored["reference_run_id"] is None

    n_rules = _count(warehouse, "select count(*) from segments.rule_segment_assignments")
    expected = {
        "model_registry": 1, "model_aliases": 1, "model_selection": cfg.selection.k_max - cfg.selection.k_min + 1,
        "model_stability": 5, "segment_assignments": 2500, "segment_history": 2500, "segment_profiles": 5,
        "segment_profile_features": 5 * len(cfg.features.numeric_all), "drift_metrics": 0,
    }
    for name, rows in expected.items():
        assert _count(warehouse, f"select count(*) from segments.{name}") == rows, name
    assert n_rules > 0
    assert _count(warehouse, "select count(distinct person_id) from segments.segment_assignments") == 2500
    assert _count(warehouse, "select sum(size) from segments.segment_profiles") == 2500
    assert _count(warehouse, "select count(*) from segments.segment_assignments where distance is null") == 0

    # same run again: replaced, not appended
    score_from_warehouse("run_1", config=cfg, paths=warehouse)
    assert _count(warehouse, "select count(*) from segments.segment_history") == 2500
    assert _count(warehouse, "select count(*) from segments.rule_segment_assignments") == n_rules

    # next run on drifted data (more lapsed users): history grows, drift is measured against run_1
    drifted, _ = make_profiles(2500, seed=6, shares=(0.05, 0.05, 0.2, 0.05, 0.65))
    write_profiles(str(warehouse.warehouse), drifted)
    second = score_from_warehouse("run_2", config=cfg, paths=warehouse)
    assert second["reference_run_id"] == "run_1"
    assert _count(warehouse, "select count(*) from segments.segment_history") == 5000
    assert _count(warehouse, "select count(*) from segments.segment_assignments") == 2500
    assert _count(warehouse, "select count(*) from segments.drift_metrics where kind = 'segment_share'") == 1
    assert second["drift_alert"]
    assert "segment_shares" in second["drifted"]


def test_rejected_challenger_keeps_the_champion_and_records_why(warehouse, cfg):
    frame, _ = make_profiles(2500, seed=5)
    write_profiles(str(warehouse.warehouse), frame)
    train_from_warehouse("run_1", config=cfg, paths=warehouse)
    strict = cfg.replace(gates={"min_segment_size": 10_000})
    result = train_from_warehouse("run_2", config=strict, paths=warehouse)
    assert not result["promoted"]
    with duckdb.connect(str(warehouse.warehouse), read_only=True) as con:
        assert con.execute("select model_version from segments.model_aliases where alias = 'champion'").fetchone()[0] \
            == "m_run_1"
        decision, reasons, compared = con.execute("select decision, decision_reasons, compared_to "
                                                  "from segments.model_registry where run_id = 'run_2'").fetchone()
    assert decision == "rejected"
    assert "smallest segment size" in reasons
    assert compared == "m_run_1"
    assert score_from_warehouse("run_2", config=cfg, paths=warehouse)["model_version"] == "m_run_1"
