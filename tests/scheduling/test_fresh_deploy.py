"""A fresh deploy whose first model is rejected by its promotion gates: scoring explains and waits, it does not
crash (the DAG turns `NoChampion` into a skipped task; the train-first path runs in test_scheduler.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from segwarehouse import pipeline
from segwarehouse.core.paths import Paths

REPO = Path(__file__).resolve().parents[2]


def test_no_champion_after_the_first_training_raises_a_clear_reason_and_writes_nothing(warehouse, tmp_path,
                                                                                       monkeypatch):
    data = tmp_path / "data"
    (data / "warehouse").mkdir(parents=True)
    shutil.copy2(warehouse.warehouse, data / "warehouse" / "segwarehouse.duckdb")
    paths = Paths(home=warehouse.home, data=data)
    config = tmp_path / "ml.yml"
    text = (REPO / "config" / "ml.yml").read_text()
    small = (("min_segment_size: 100 ", "min_segment_size: 1000000 "), ("n_bootstrap: 10", "n_bootstrap: 2"),
             ("k_max: 8", "k_max: 4"), ("method: iterative", "method: simple"))
    for old, new in small:
        assert old in text
        text = text.replace(old, new)
    config.write_text(text)
    monkeypatch.setenv("SEGWAREHOUSE_ML_CONFIG", str(config))
    monkeypatch.setenv("SEGWAREHOUSE_PII_KEY", "fresh-deploy-test-key")

    assert not pipeline.has_champion(paths)
    with pytest.raises(pipeline.NoChampion, match=r"the first model trained was not promoted \(rejected: "
                                                  r"\['smallest segment size \d+ < 1000000'\]\); scoring waits "
                                                  r"until segments_retrain promotes one"):
        pipeline.score_and_publish("asset_triggered__fresh", paths)
    assert not pipeline.has_champion(paths)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from segments.segment_assignments").fetchall()[0][0] == 0
        assert con.execute("select count(*) from segments.model_registry").fetchall()[0][0] == 1  # on record
    assert not paths.serving.exists()
