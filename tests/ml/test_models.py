from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import AgglomerativeClustering, Birch, KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import check_estimator

from ml.features import ColumnWeights, NumericPrep, SampleFittedImputer
from ml.frame_scoring import score_frame
from ml.models import (
    InductiveClusterer,
    ModelConfigError,
    Segmenter,
    build_model,
    build_segmenter,
    resolve_class,
)
from ml.train import map_labels, train_segmentation

from .profiles import make_profiles


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
    assert scored["confidence"].between(0, 1).all()
    if hasattr(result.model[-1], "predict_proba"):  # GMM: confidence is the max membership probability
        np.testing.assert_allclose(scored["confidence"], scored["probability"])


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


def test_model_without_predict_is_wrapped_and_a_class_without_fit_is_rejected(cfg):
    from ml.models import find_k_param

    wrapped = build_segmenter(cfg.with_model("sklearn.cluster.AgglomerativeClustering").model, cfg)
    assert isinstance(wrapped, InductiveClusterer)
    assert isinstance(wrapped.clusterer, AgglomerativeClustering)
    assert find_k_param(wrapped) == "clusterer__n_clusters"
    with pytest.raises(ModelConfigError, match=r"has no fit\(\)"):
        build_segmenter(cfg.with_model("ml.config.ModelSpec").model, cfg)


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


@pytest.mark.parametrize("method", ["iterative", "knn", "simple"])
def test_imputer_passes_complete_rows_through_and_imputes_the_rest_as_on_the_whole_matrix(method):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 4))
    X[:, 1] += X[:, 0]
    X[rng.random(X.shape) < 0.15] = np.nan
    imputer = SampleFittedImputer(method=method, max_fit_rows=300, random_state=0).fit(X)
    out = imputer.transform(X)
    complete = ~np.isnan(X).any(axis=1)
    assert 0 < complete.sum() < len(X)
    np.testing.assert_array_equal(out[complete], X[complete])
    np.testing.assert_allclose(out, imputer.imputer_.transform(X), rtol=0, atol=1e-12)
    assert np.isfinite(out).all()


def test_distance_based_confidence_by_hand(cfg):
    """Centres (0, 0) and (10, 0): a point at (2, 0) is 2 from its centre and 8 from the other -> 1 - 2/8."""
    small = cfg.replace(features={"log1p": [], "numeric": ["x", "y"], "categorical": [], "fill_values": {}})
    km = KMeans(2, n_init=1, init=np.array([[0.0, 0.0], [10.0, 0.0]])).fit(
        np.array([[0.0, 0.0], [0.0, 0.0], [10.0, 0.0], [10.0, 0.0]]))
    model = Pipeline([("preprocess", FunctionTransformer()), ("segmenter", km)])
    frame = pd.DataFrame({"person_id": ["a", "b", "c"], "x": [0.0, 2.0, 9.0], "y": [0.0, 0.0, 0.0]})
    out = score_frame(frame, model, {0: 1, 1: 2}, {1: [0.0, 0.0], 2: [10.0, 0.0]}, {1: "Left", 2: "Right"}, small)
    assert out["segment_id"].tolist() == [1, 1, 2]
    np.testing.assert_allclose(out["distance"], [0.0, 2.0, 1.0])
    np.testing.assert_allclose(out["confidence"], [1.0, 0.75, 1 - 1 / 9])
    assert out["probability"].isna().all()


@pytest.mark.parametrize("estimator", [
    InductiveClusterer(clusterer=AgglomerativeClustering(n_clusters=3)),
    SampleFittedImputer(method="knn", max_fit_rows=50, random_state=0),
    SampleFittedImputer(method="iterative", random_state=0),
    NumericPrep(fill_values={0: 0.0}, log_columns=(1,)),
    ColumnWeights(),
], ids=lambda e: type(e).__name__)
def test_custom_estimators_follow_sklearn_rules(estimator):
    """scikit-learn's own estimator checks (cloning, n_features_in_, NaN handling, fit returns self ...)."""
    results = check_estimator(estimator, on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert failed == []


def test_per_feature_weights_scale_standardized_columns(cfg):
    """`features.weights` by feature name multiplies that column after standardization; typos in the file fail."""
    from ml.config import config_from_mapping
    from ml.features import build_preprocessor

    frame, _ = make_profiles(n=400, seed=3)
    cols = list(cfg.features.all)
    first = cfg.features.numeric_all[0]
    plain = build_preprocessor(cfg.replace(features={"weights": {}})).fit_transform(frame[cols])
    heavy = build_preprocessor(cfg.replace(features={"weights": {first: 3.0}})).fit_transform(frame[cols])
    np.testing.assert_allclose(heavy[:, 0], 3.0 * plain[:, 0])
    np.testing.assert_allclose(heavy[:, 1:], plain[:, 1:])
    with pytest.raises(ValueError, match=r"features\.weights"):
        config_from_mapping({"features": {"log1p": ["monetary"], "weights": {"monetry": 2.0}}})
