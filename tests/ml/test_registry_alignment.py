from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml import warehouse as wh
from ml.config import GateConfig
from ml.frame_scoring import score_frame
from ml.registry import (
    ArtifactError,
    evaluate_gates,
    get_alias,
    load_artifact,
    move_alias,
    save_artifact,
    sha256_of,
)
from ml.train import PreviousModel, map_labels, train_segmentation

GOOD = {"silhouette": 0.55, "ari_median": 0.95, "min_segment_jaccard": 0.9, "min_segment_share": 0.08,
        "min_segment_size": 400}


def test_gate_promotes_a_better_challenger():
    decision = evaluate_gates(GOOD, {"silhouette": 0.56}, GateConfig(silhouette_tolerance=0.02))
    assert decision.promote
    assert decision.reasons == ["passed all gates"]
    assert all(decision.checks.values())


def test_gate_promotes_first_model_without_champion():
    decision = evaluate_gates(GOOD, None, GateConfig())
    assert decision.promote
    assert "no champion" in decision.reasons[0]


@pytest.mark.parametrize(("change", "check", "reason"), [
    ({"silhouette": 0.50}, "silhouette_vs_champions", "worse than 0.560 of champion"),
    ({"ari_median": 0.5}, "stability_ari", "bootstrap ARI"),
    ({"min_segment_jaccard": 0.55}, "stability_jaccard", "least stable segment"),
    ({"min_segment_share": 0.01}, "min_segment_share", "smallest segment share"),
    ({"min_segment_size": 99}, "min_segment_size", "smallest segment size 99 < 100"),
])
def test_gate_rejects_with_reason(change, check, reason):
    decision = evaluate_gates({**GOOD, **change}, {"silhouette": 0.56}, GateConfig())
    assert not decision.promote
    assert decision.checks[check] is False
    assert any(reason in r for r in decision.reasons)


def test_promotion_moves_the_champion_pointer(tmp_path):
    with wh.connect(tmp_path / "w.duckdb") as con:
        wh.ensure_tables(con, "segments")
        move_alias(con, "segments", "m_a", "run_a", "first")
        move_alias(con, "segments", "m_b", "run_b", "better")
        alias = get_alias(con, "segments")
        assert (alias["model_version"], alias["previous_model_version"]) == ("m_b", "m_a")
        assert con.execute("select count(*) from segments.model_aliases").fetchone()[0] == 1


def test_saved_model_reloads_and_scores_identically(trained, planted, cfg, tmp_path):
    frame, _ = planted
    path, fmt = save_artifact(trained.model, tmp_path, "m_test", "skops")
    assert fmt == "skops"
    assert path.suffix == ".skops"
    reloaded = load_artifact(path, fmt, sha256_of(path))
    args = (trained.segment_map, trained.centroids, trained.segment_names, cfg)
    pd.testing.assert_frame_equal(score_frame(frame, trained.model, *args), score_frame(frame, reloaded, *args))


def test_tampered_or_untrusted_artifact_is_refused(trained, tmp_path):
    path, fmt = save_artifact(trained.model, tmp_path, "m_test", "skops")
    with pytest.raises(ArtifactError, match="sha256"):
        load_artifact(path, fmt, "0" * 64)
    with pytest.raises(ArtifactError, match="outside"):
        load_artifact(path, fmt, trusted_prefixes=("numpy.",))


def test_segment_ids_survive_a_refit_on_shuffled_data(trained, planted, cfg):
    frame, _ = planted
    shuffled = frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
    refit = train_segmentation(shuffled, cfg.replace(seed=7),
                               previous=PreviousModel(trained.model, trained.segment_map, "m_prev"))
    X = frame[list(cfg.features.all)]
    before = map_labels(trained.model.predict(X), trained.segment_map)
    after = map_labels(refit.model.predict(X), refit.segment_map)
    assert np.mean(before == after) > 0.98
    assert refit.segment_names.keys() == trained.segment_names.keys()
    assert refit.champion_metrics["model_version"] == "m_prev"
