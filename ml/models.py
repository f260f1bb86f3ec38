"""Swappable segmenters: a registry of short keys, import paths checked against an allow-list, one Protocol.

The model is always `Pipeline([("preprocess", ...), ("reduce", PCA | "passthrough"), ("segmenter", est)])`;
swapping is `model.set_params(segmenter=build_segmenter(spec, ...))`. Nothing else in `ml/` branches on an
algorithm's name: optional capabilities (predict_proba, transform, inertia_, bic, a number-of-segments
parameter) are found by `hasattr` / `get_params`. A clusterer without `predict` (DBSCAN, HDBSCAN, OPTICS,
AgglomerativeClustering ...) is wrapped in `InductiveClusterer`; label `NOISE_LABEL` (-1, scikit-learn's
noise label) means "no segment".
"""

from __future__ import annotations

import importlib
import math
import re
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, clone
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors
from sklearn.pipeline import Pipeline
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from .config import MLConfig, ModelSpec
from .features import build_preprocessor, build_reducer


@runtime_checkable
class Segmenter(Protocol):
    """What a segmenter must offer: `fit(X)` returning self and `predict(X)` -> integer labels.

    Optional, used when present: `predict_proba(X)` (confidence = max probability), `transform(X)`
    (distances to centres), `cluster_centers_` / `means_` (centres), `inertia_` (elbow), `bic(X)` (BIC)
    and a `random_state` parameter (seeded from the config). Models without `predict`
    (AgglomerativeClustering, DBSCAN ...) are wrapped in `InductiveClusterer`.
    """

    def fit(self, X: Any, y: Any = None) -> Segmenter: ...

    def predict(self, X: Any) -> np.ndarray: ...


@dataclass(frozen=True)
class RegistryEntry:
    import_path: str
    defaults: dict[str, Any] = field(default_factory=dict)


MODEL_REGISTRY: dict[str, RegistryEntry] = {
    "kmeans": RegistryEntry("sklearn.cluster.KMeans", {"n_init": 10}),
    "minibatch_kmeans": RegistryEntry("sklearn.cluster.MiniBatchKMeans", {"n_init": 3, "batch_size": 4096}),
    "gmm": RegistryEntry("sklearn.mixture.GaussianMixture",
                         {"covariance_type": "full", "n_init": 2, "reg_covar": 1e-4}),
}

K_PARAM_NAMES = ("n_clusters", "n_components")
NOISE_LABEL = -1  # what density clusterers (DBSCAN, HDBSCAN, OPTICS) call noise: the person gets no segment
DENSITY_SIZE_PARAM = "min_cluster_size"  # set from gates.min_segment_share when the config leaves it out
_IMPORT_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+")  # matched in full


class ModelConfigError(ValueError):
    """A model name, import path or parameter in the config cannot be used; `key` is the config key."""

    def __init__(self, message: str, key: str = "model.name"):
        super().__init__(message)
        self.key = key


def resolve_class(import_path: str, allowed_prefixes: tuple[str, ...]) -> type:
    """Import `package.module.Class` if its module is inside an allowed package; never anything else.

    The check happens before any import, so a config cannot make the process import arbitrary modules.
    """
    if not isinstance(import_path, str) or not _IMPORT_PATH.fullmatch(import_path):
        raise ModelConfigError(f"model {import_path!r} is neither a registry key ({sorted(MODEL_REGISTRY)}) "
                               "nor a dotted import path like 'sklearn.cluster.Birch'")
    module_name, _, class_name = import_path.rpartition(".")
    if not any(module_name == p or module_name.startswith(p + ".") for p in allowed_prefixes):
        raise ModelConfigError(f"import path {import_path!r} is outside the allowed packages "
                               f"{list(allowed_prefixes)} (config: allowed_module_prefixes)")
    if any(part.startswith("_") for part in import_path.split(".")):
        raise ModelConfigError(f"import path {import_path!r} names a private module or object")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelConfigError(f"cannot import module {module_name!r} for model {import_path!r}: {exc}") from exc
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise ModelConfigError(f"{import_path!r} is not a class in {module_name!r}")
    return cls


def build_estimator(name: str, params: dict[str, Any], cfg: MLConfig) -> BaseEstimator:
    """Instantiate a registry key or allowed import path; nested `{estimator: path, params: {...}}` values
    are built recursively (how `InductiveClusterer` gets its clusterer and classifier)."""
    entry = MODEL_REGISTRY.get(name)
    cls = resolve_class(entry.import_path if entry else name, cfg.allowed_module_prefixes)
    merged = {**(entry.defaults if entry else {}), **params}
    built = {}
    for key, value in merged.items():
        if isinstance(value, dict) and "estimator" in value:
            try:
                value = build_estimator(value["estimator"], dict(value.get("params") or {}), cfg)
            except ModelConfigError as exc:
                raise ModelConfigError(f"{key}: {exc}", key="model.params") from exc
        built[key] = value
    try:
        estimator = cls(**built)
    except TypeError as exc:
        raise ModelConfigError(f"bad parameters for {name!r}: {exc}", key="model.params") from exc
    except Exception as exc:  # a constructor that validates its arguments
        raise ModelConfigError(f"{name!r} cannot be built with {params}: {exc}", key="model.params") from exc
    if "random_state" in getattr(estimator, "get_params", dict)() and "random_state" not in params:
        estimator.set_params(random_state=cfg.seed)
    return estimator


def build_segmenter(spec: ModelSpec, cfg: MLConfig) -> BaseEstimator:
    """The `segmenter` step for a model spec. A clusterer that cannot label new rows (no `predict`) is wrapped
    in `InductiveClusterer`; a class that is not an estimator (no `fit` / `get_params`) is refused."""
    est = build_estimator(spec.name, dict(spec.params), cfg)
    if not (hasattr(est, "fit") and hasattr(est, "get_params")):
        raise ModelConfigError(f"{spec.name!r} ({type(est).__name__}) has no fit()/get_params(): not a "
                               "scikit-learn estimator")
    if not hasattr(est, "predict"):
        if not hasattr(est, "fit_predict"):
            raise ModelConfigError(f"{spec.name!r} has neither predict() nor fit_predict(): it cannot label rows")
        est = InductiveClusterer(clusterer=est)
    find_k_param(est, spec.k_param)
    return est


def find_k_param(estimator: BaseEstimator, explicit: str | None = None) -> str | None:
    """The (possibly nested, `a__b`) parameter that sets the number of segments; None for models that find
    it themselves (density clusterers)."""
    params = estimator.get_params(deep=True)
    if explicit:
        if explicit not in params:
            raise ModelConfigError(f"k_param {explicit!r} is not a parameter of {type(estimator).__name__}",
                                   key="model.k_param")
        return explicit
    for name in sorted(params, key=lambda p: p.count("__")):
        if name.rpartition("__")[2] in K_PARAM_NAMES:
            return name
    return None


def _sets_param(params: dict[str, Any], name: str) -> bool:
    """Whether config params (with nested `{estimator, params}` values) set `name` anywhere."""
    return name in params or any(_sets_param(dict(v.get("params") or {}), name) for v in params.values()
                                 if isinstance(v, dict) and "estimator" in v)


def apply_density_defaults(segmenter: BaseEstimator, n_rows: int, cfg: MLConfig) -> BaseEstimator:
    """A density clusterer's smallest cluster defaults to the smallest segment the gates accept
    (`gates.min_segment_share` of the rows): denser pockets below it are noise, not segments."""
    if _sets_param(dict(cfg.model.params), DENSITY_SIZE_PARAM):
        return segmenter
    names = [p for p in segmenter.get_params(deep=True) if p.rpartition("__")[2] == DENSITY_SIZE_PARAM]
    if names:
        size = max(5, math.ceil(cfg.gates.min_segment_share * n_rows))
        segmenter.set_params(**{min(names, key=lambda p: p.count("__")): size})
    return segmenter


def build_model(cfg: MLConfig, k: int | None = None) -> Pipeline:
    """Unfitted `preprocess -> reduce -> segmenter` pipeline for the configured model."""
    segmenter = build_segmenter(cfg.model, cfg)
    k_name = find_k_param(segmenter, cfg.model.k_param)
    if k is not None and k_name is not None:
        segmenter.set_params(**{k_name: k})
    return Pipeline([("preprocess", build_preprocessor(cfg)), ("reduce", build_reducer(cfg)),
                     ("segmenter", segmenter)])


def input_columns(model: Pipeline, default: list[str] | tuple[str, ...]) -> list[str]:
    """The columns a fitted pipeline was trained on (a former champion's may differ from the config's)."""
    names = getattr(model[0], "feature_names_in_", None) if len(model.steps) else None
    return [str(c) for c in names] if names is not None else list(default)


def with_k(segmenter: BaseEstimator, k: int | None, k_param: str | None = None) -> BaseEstimator:
    """An unfitted clone of `segmenter` that makes `k` segments (as configured when k is None or the model
    has no such parameter)."""
    name = find_k_param(segmenter, k_param)
    return clone(segmenter) if k is None or name is None else clone(segmenter).set_params(**{name: k})


class InductiveClusterer(ClusterMixin, BaseEstimator):
    """Gives any clusterer a `predict`: fit the clusterer, then a classifier on its labels (inductive
    clustering). Use for AgglomerativeClustering, SpectralClustering, DBSCAN ...

    `cluster_centers_` are the label means in the input space (one row per label of `segment_labels_`, the
    labels other than `NOISE_LABEL`), so alignment and distances work as for K-means.

    Noise (density clusterers): the classifier learns the noise label too, and a new row farther from every
    assigned training row than any assigned training row lies from its nearest assigned neighbour
    (`noise_radius_`) is noise whatever the vote, so an outlier never joins a segment by majority of distant
    neighbours. A noise row of the training data inside a dense region may be assigned by the vote.
    """

    def __init__(self, clusterer: Any = None, classifier: Any = None):
        self.clusterer = clusterer
        self.classifier = classifier

    def fit(self, X: Any, y: Any = None) -> InductiveClusterer:
        X = validate_data(self, X, reset=True)
        if self.clusterer is None:
            raise ValueError("InductiveClusterer needs a clusterer")
        self.clusterer_ = clone(self.clusterer)
        labels = np.asarray(self.clusterer_.fit_predict(X))
        self.classifier_ = clone(self.classifier if self.classifier is not None else KNeighborsClassifier(15))
        self.classifier_.fit(X, labels)
        self.labels_ = labels
        self.classes_ = np.unique(labels)
        self.segment_labels_ = self.classes_[self.classes_ != NOISE_LABEL]
        assigned = X[labels != NOISE_LABEL]
        self.cluster_centers_ = np.vstack([X[labels == c].mean(axis=0) for c in self.segment_labels_]) \
            if len(self.segment_labels_) else np.empty((0, X.shape[1]))
        self.assigned_neighbors_, self.noise_radius_ = None, None
        if (labels == NOISE_LABEL).any() and len(assigned) > 1:
            self.assigned_neighbors_ = NearestNeighbors(n_neighbors=2).fit(assigned)
            self.noise_radius_ = float(self.assigned_neighbors_.kneighbors(assigned)[0][:, 1].max())
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "classifier_")
        X = validate_data(self, X, reset=False)
        labels = np.asarray(self.classifier_.predict(X))
        if self.assigned_neighbors_ is not None:
            nearest = self.assigned_neighbors_.kneighbors(X, n_neighbors=1)[0][:, 0]
            labels = np.where(nearest > self.noise_radius_, NOISE_LABEL, labels)
        return labels

    @available_if(lambda self: hasattr(self.classifier_ if hasattr(self, "classifier_") else
                                       (self.classifier or KNeighborsClassifier()), "predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "classifier_")
        X = validate_data(self, X, reset=False)
        return self.classifier_.predict_proba(X)
