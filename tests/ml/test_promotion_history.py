"""Promotion compares a challenger with absolute floors and the best of the last N champions (silhouette
re-measured on the challenger's rows), so repeated slightly worse swaps cannot walk quality down; the
figures it was compared with, and every setting that shaped it, are stored in its model card."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pandas as pd
import pytest

from ml.lifecycle import show_model
from ml.registry import evaluate_gates
from ml.train import config_sha256, train

from .profiles import make_profiles, write_profiles

# only the silhouette gates decide here: k = 5, 6, 7 on the planted personas measure about 0.56, 0.49, 0.36
RELAXED = {"silhouette_tolerance": 0.15, "min_ari": 0.0, "ari_tolerance": 1.0, "min_segment_jaccard": 0.0,
           "min_segment_share": 0.0, "min_segment_size": 0}


@pytest.fixture(scope="module")
def history(fast_cfg, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("history")
    db = tmp / "wh.duckdb"
    write_profiles(str(db), make_profiles(1500, seed=5)[0])
    cfgs = {k: fast_cfg.replace(selection={"k_min": k, "k_max": k}, gates=RELAXED) for k in (5, 6, 7)}
    runs = {k: train(db, cfgs[k], f"k{k}", models_dir=tmp / "models") for k in (5, 6, 7)}
    return db, cfgs, runs


def test_two_slightly_worse_challengers_are_not_both_promoted(history):
    db, cfgs, runs = history
    sil = {k: runs[k].metrics["silhouette"] for k in runs}
    assert sil[5] > sil[6] > sil[7]
    assert sil[5] - sil[6] < 0.15  # each step is within the tolerance of the one before
    assert sil[6] - sil[7] < 0.15 < sil[5] - sil[7]
    assert (runs[5].status, runs[6].status, runs[7].status) == ("champion", "champion", "rejected")
    assert runs[7].champion_version == "m_k6"
    assert runs[7].reasons == [f"silhouette {sil[7]:.3f} worse than {sil[5]:.3f} of champion m_k5 (best of the "
                               "last 2) beyond tolerance 0.15"]
    # compared with the current champion only, the second swap would have passed
    assert evaluate_gates(runs[7].metrics, runs[7].fit.champion_metrics, cfgs[7].gates).promote

    with duckdb.connect(str(db), read_only=True) as con:
        comparison, checks, compared_to = con.execute(
            "select comparison, gate_checks, compared_to from segments.model_registry where model_version = 'm_k7'"
        ).fetchone()
    comparison, checks = json.loads(comparison), json.loads(checks)
    assert compared_to == "m_k6"
    assert [c["model_version"] for c in comparison["champions"]] == ["m_k6", "m_k5"]
    measured = {c["model_version"]: c["silhouette"] for c in comparison["champions"]}
    assert measured == {"m_k6": pytest.approx(sil[6], abs=1e-9), "m_k5": pytest.approx(sil[5], abs=1e-9)}
    assert comparison["best_silhouette"] == {"model_version": "m_k5", "value": pytest.approx(sil[5]),
                                             "floor": pytest.approx(sil[5] - 0.15)}
    assert comparison["floors"]["min_silhouette"] == 0.1
    assert checks["silhouette_vs_champions"] is False
    assert checks["min_silhouette"] is True


def test_the_model_card_holds_every_setting_that_shaped_the_model(history):
    db, cfgs, runs = history
    with duckdb.connect(str(db), read_only=True) as con:
        card = show_model(con, "segments", "m_k6")
    cfg = cfgs[6]
    assert card["config_sha256"] == config_sha256(cfg)
    assert len(card["config_sha256"]) == 64
    assert card["config"]["model"]["name"] == "kmeans"
    assert card["config"]["selection"]["k_min"] == 6
    assert card["features"]["weights"] == {"numeric": 1.0, "categorical": 0.7, "age": 0.5, "search_share": 1.5}
    assert card["features"]["min_completeness"] == cfg.features.min_completeness
    assert card["settings"]["selection"] == {"k_min": 6, "k_max": 6, "criterion": "auto",
                                             "silhouette_sample_rows": 5000, "train_sample_rows": 200000}
    assert card["settings"]["gates"]["silhouette_tolerance"] == 0.15
    assert card["settings"]["stability"]["n_bootstrap"] == 2
    assert pd.Timestamp(card["data_to"]).date() == date(2026, 3, 1)
    assert pd.Timestamp(card["data_from"]).date() == date(2025, 12, 1)  # the longest history: 90 days
    assert (card["n_rows_train"], card["n_rows_population"]) == (1500, 1500)
    assert card["metrics"]["data_window"]["rows_trained_on"] == 1500
    assert card["metrics"]["k"] == 6
    assert card["metrics"]["criterion_used"] == "silhouette"
    assert card["compared_to"] == "m_k5"
    assert card["comparison"]["champions"][0]["model_version"] == "m_k5"
    assert card["decision"] == "promoted"
    assert card["events"][0]["event"] == "promoted"
    sidecar = json.loads(runs[6].artifact_path.with_suffix(".json").read_text())
    assert sidecar["config_sha256"] == card["config_sha256"]
    assert set(card) - {"is_champion", "events"} <= set(sidecar)
    assert card["config_sha256"] != config_sha256(cfgs[5])
