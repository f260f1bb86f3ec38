"""Train and score against a real DuckDB file: the tables, their row counts, idempotency, drift, gates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from ml.config import DEFAULT_CONFIG_PATH
from ml.score import ScoreResult, score, score_from_warehouse
from ml.train import TrainResult, train, train_from_warehouse
from ml.warehouse import ensure_tables
from segwarehouse.core.paths import Paths

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
    with duckdb.connect(str(warehouse.warehouse), read_only=True) as con:
        statuses = dict(con.execute("select model_version, status from segments.model_registry").fetchall())
        reason = con.execute("select reason from segments.model_registry where run_id = 'run_2'").fetchone()[0]
        pointer = con.execute("select model_version from segments.champion").fetchall()
    assert statuses == {"m_run_1": "champion", "m_run_2": "rejected"}
    assert "smallest segment size" in reason
    assert pointer == [("m_run_1",)]


def test_train_and_score_entry_points_on_a_path(tmp_path, cfg):
    """`train(path, config, run_id, as_of_date)` / `score(path, config, run_id)` with their result objects;
    a promoted successor retires the former champion; confidence is filled and within [0, 1]."""
    db = tmp_path / "wh.duckdb"
    old, _ = make_profiles(1500, seed=11, as_of=date(2026, 2, 1))
    new, _ = make_profiles(2000, seed=12)
    write_profiles(str(db), pd.concat([old, new.assign(person_id=new["person_id"] + "_n")], ignore_index=True))

    first = train(db, cfg, "r1", as_of_date="2026-03-01", models_dir=tmp_path / "models")
    assert isinstance(first, TrainResult)
    assert (first.status, first.promoted, first.champion_version) == ("champion", True, "m_r1")
    assert first.fit.n_rows_train == 2000  # only the as_of_date snapshot
    assert first.artifact_path.exists()
    with pytest.raises(ValueError, match="no rows"):
        train(db, cfg, "r0", as_of_date="2020-01-01", models_dir=tmp_path / "models")

    candidate = train(db, cfg, "r2", as_of_date="2026-03-01", models_dir=tmp_path / "models", promote=False)
    assert (candidate.status, candidate.promoted, candidate.champion_version) == ("candidate", False, "m_r1")
    second = train(db, cfg, "r3", as_of_date="2026-03-01", models_dir=tmp_path / "models")
    assert (second.promoted, second.champion_version) == (True, "m_r3")

    result = score(db, cfg, "s1")
    assert isinstance(result, ScoreResult)
    assert (result.rows, result.model_version, result.segments) == (3500, "m_r3", 5)
    assert result.profiles["size"].sum() == 3500
    assert result.drift.empty
    with duckdb.connect(str(db), read_only=True) as con:
        statuses = dict(con.execute("select model_version, status from segments.model_registry").fetchall())
        row = con.execute("select n_rows, silhouette, stability, min_segment_share from segments.model_registry "
                          "where model_version = 'm_r3'").fetchone()
        lo, hi, nulls = con.execute("select min(confidence), max(confidence), count(*) - count(confidence) "
                                    "from segments.segment_assignments").fetchone()
        champion = con.execute("select model_version, previous_model_version, k from segments.champion").fetchone()
    assert statuses == {"m_r1": "retired", "m_r2": "candidate", "m_r3": "champion"}
    n_rows, silhouette, stability, min_share = row
    assert n_rows == 2000
    assert silhouette > 0.3
    assert stability > 0.9
    assert min_share > 0.05
    assert nulls == 0
    assert 0.0 <= lo <= hi <= 1.0
    assert champion == ("m_r3", "m_r1", 5)


def test_tables_of_an_older_version_get_the_new_columns(tmp_path):
    with duckdb.connect(str(tmp_path / "old.duckdb")) as con:
        con.execute("create schema segments")
        con.execute("create table segments.segment_history (person_id varchar, segment_id integer)")
        con.execute("insert into segments.segment_history values ('p_1', 1)")
        ensure_tables(con, "segments")
        cols = [r[0] for r in con.execute("select column_name from information_schema.columns "
                                          "where table_name = 'segment_history' order by ordinal_position").fetchall()]
        assert con.execute("select count(*) from segments.segment_history").fetchone()[0] == 1
    assert cols[:2] == ["person_id", "segment_id"]
    assert {"confidence", "model_version", "run_id"} <= set(cols)


def test_cli_trains_and_scores(warehouse, cfg, tmp_path, capsys):
    from ml.__main__ import main

    write_profiles(str(warehouse.warehouse), make_profiles(1500, seed=8)[0])
    config = tmp_path / "ml.yml"
    data = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    data["stability"].update(n_bootstrap=2, sample_rows=800)
    data["selection"].update(k_min=5, k_max=5)
    config.write_text(yaml.safe_dump(data))
    assert main(["train", "--run-id", "cli_1", "--config", str(config)]) == 0
    assert '"status": "champion"' in capsys.readouterr().out
    assert main(["score", "--run-id", "cli_1", "--config", str(config)]) == 0
    assert '"rows": 1500' in capsys.readouterr().out
