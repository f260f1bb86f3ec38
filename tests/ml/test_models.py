from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import Birch, KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from ml.models import (
    InductiveClusterer,
    ModelConfigError,
    Segmenter,
    build_model,
    build_segmenter,
    resolve_class,
)
from ml.score import score_frame
from ml.train import map_labels, train_segmentation


def _ari(result, frame, truth, cfg) -> float:
    ids = map_labels(result.model.predict(frame[list(cfg.features.all)]), result.segment_map)
    return adjusted_rand_score(truth, ids)


def test_default_model_recovers_planted_personas(trained, planted, cfg):
    frame, truth = planted
    ari = _ari(trained, frame, truth, cfg)
    print(f"default model ({cfg.model.name}, k={trained.k}) ARI vs planted personas: {ari:.3f}")
    assert isinstance(trained.model.named_steps["segmenter"], KMeans)
    assert trained.k == 5
    assert ari >= 0.8


@pytest.mark.parametrize(("name", "params", "cls"), [
    ("kmeans", {}, KMeans),
    ("gmm", {"covariance_type": "diag"}, GaussianMixture),
    ("sklearn.cluster.Birch", {"threshold": 0.5}, Birch),
])
def test_swapping_model_by_config(cfg, planted, name, params, cls):
    frame, truth = planted
    swapped = cfg.with_model(name, params).replace(selection={"k_min": 5, "k_max": 5},
                                                    stability={"n_bootstrap": 2})
    result = train_segmentation(frame, swapped)
    assert type(result.model.named_steps["segmenter"]) is cls
    assert isinstance(result.model.named_steps["segmenter"], Segmenter)
    ari = _ari(result, frame, truth, swapped)
    print(f"{name}: ARI {ari:.3f}")
    assert ari >= 0.7
    scored = score_frame(frame.head(50), result.model, result.segment_map, result.centroids,
                         result.segment_names, swapped)
    assert scored["segment_id"].isin(list(result.segment_names)).all()
    assert scored["probability"].notna().all() == hasattr(result.model[-1], "predict_proba")


def test_swap_is_set_params_on_the_pipeline(cfg):
    model = build_model(cfg, k=4)
    model.set_params(segmenter=build_segmenter(cfg.with_model("gmm").model, cfg))
    assert isinstance(model.named_steps["segmenter"], GaussianMixture)
    assert model.named_steps["segmenter"].random_state == cfg.seed


def test_agglomerative_wrapped_to_score_new_rows(cfg, planted):
    frame, truth = planted
    spec = cfg.with_model("ml.models.InductiveClusterer", {
        "clusterer": {"estimator": "sklearn.cluster.AgglomerativeClustering", "params": {"linkage": "ward"}},
        "classifier": {"estimator": "sklearn.neighbors.KNeighborsClassifier", "params": {"n_neighbors": 10}},
    }).replace(selection={"k_min": 5, "k_max": 5, "train_sample_rows": 1500}, stability={"n_bootstrap": 2})
    result = train_segmentation(frame, spec)
    assert isinstance(result.model[-1], InductiveClusterer)
    assert _ari(result, frame, truth, spec) >= 0.7


@pytest.mark.parametrize(("path", "message"), [
    ("os.system", "outside the allowed packages"),
    ("subprocess.Popen", "outside the allowed packages"),
    ("sklearnx.cluster.KMeans", "outside the allowed packages"),
    ("sklearn.cluster.NoSuchModel", "is not a class"),
    ("kmeans; import os", "neither a registry key"),
    ("sklearn.cluster._kmeans.KMeans", "private"),
])
def test_invalid_import_path_rejected(cfg, path, message):
    with pytest.raises(ModelConfigError, match=message):
        build_segmenter(cfg.with_model(path).model, cfg)


def test_model_without_predict_is_rejected_with_hint(cfg):
    with pytest.raises(ModelConfigError, match="InductiveClusterer"):
        build_segmenter(cfg.with_model("sklearn.cluster.AgglomerativeClustering").model, cfg)


def test_allow_list_is_configurable(cfg):
    assert resolve_class("sklearn.cluster.Birch", ("sklearn",)) is Birch
    with pytest.raises(ModelConfigError):
        resolve_class("sklearn.cluster.Birch", ("ml",))


def test_missing_values_are_imputed(cfg, planted):
    frame, _ = planted
    model = build_model(cfg, k=3)
    Z = model[:-1].fit_transform(frame[list(cfg.features.all)])
    assert frame[list(cfg.features.numeric_all)].isna().any().any()
    assert np.isfinite(Z).all()
