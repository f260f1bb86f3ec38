"""Feature preparation: the `preprocess` ColumnTransformer and the frame helpers around it.

Numeric branch: to float -> structural fills -> log1p of skewed columns -> imputation (fitted on a seeded
sample, so KNN/iterative stay affordable) -> standardization. Categorical branch: missing -> "unknown" ->
one-hot. Imputation runs in log space, where money and counts are closer to symmetric.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401  (registers IterativeImputer)
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .config import FeatureConfig, MLConfig

DERIVED_COLUMNS = ("days_since_signup",)


class NumericPrep(TransformerMixin, BaseEstimator):
    """Cast to float, fill structural nulls with constants, clip-and-log1p the skewed columns.

    `fill_values` and `log_columns` are given as column *positions* so the transformer works on arrays.
    """

    def __init__(self, fill_values: dict[int, float] | None = None, log_columns: tuple[int, ...] = ()):
        self.fill_values = fill_values
        self.log_columns = log_columns

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _check(self, X: Any) -> np.ndarray:
        arr = _to_float(X) if isinstance(X, pd.DataFrame) else X
        return check_array(arr, dtype=np.float64, ensure_all_finite="allow-nan", copy=True)

    def fit(self, X: Any, y: Any = None) -> NumericPrep:
        self.n_features_in_ = self._check(X).shape[1]
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        out = self._check(X)
        if out.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {out.shape[1]} features, but NumericPrep is expecting "
                             f"{self.n_features_in_} features as input")
        for col, value in (self.fill_values or {}).items():
            column = out[:, col]
            column[np.isnan(column)] = value
        if self.log_columns:
            idx = list(self.log_columns)
            out[:, idx] = np.log1p(np.clip(out[:, idx], 0.0, None))
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        if input_features is None:
            input_features = getattr(self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)])
        return np.asarray(input_features, dtype=object)


class SampleFittedImputer(TransformerMixin, BaseEstimator):
    """Numeric imputer fitted on at most `max_fit_rows` seeded rows; `method` is iterative, knn or simple.

    KNN and iterative imputation cost grows with the fitted rows; a few thousand rows carry the
    correlations while scoring a million rows stays fast. If the chosen imputer cannot be fitted,
    `fallback` (a SimpleImputer strategy name via "simple" = median) is used and recorded in `method_used_`.
    """

    def __init__(self, method: str = "iterative", max_fit_rows: int = 5000, n_neighbors: int = 5,
                 max_iter: int = 10, fallback: str | None = "simple", random_state: int | None = None):
        self.method = method
        self.max_fit_rows = max_fit_rows
        self.n_neighbors = n_neighbors
        self.max_iter = max_iter
        self.fallback = fallback
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _make(self, method: str) -> BaseEstimator:
        if method == "iterative":
            return IterativeImputer(max_iter=self.max_iter, random_state=self.random_state,
                                    keep_empty_features=True)
        if method == "knn":
            return KNNImputer(n_neighbors=self.n_neighbors, keep_empty_features=True)
        if method == "simple":
            return SimpleImputer(strategy="median", keep_empty_features=True)
        raise ValueError(f"imputation method must be iterative, knn or simple, got {method!r}")

    def fit(self, X: Any, y: Any = None) -> SampleFittedImputer:
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=True)
        rng = check_random_state(self.random_state)
        if X.shape[0] > self.max_fit_rows:
            X = X[np.sort(rng.choice(X.shape[0], self.max_fit_rows, replace=False))]
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                self.imputer_ = self._make(self.method).fit(X)
            self.converged_ = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
            self.method_used_ = self.method
        except (ValueError, np.linalg.LinAlgError):
            if not self.fallback:
                raise
            self.imputer_ = self._make(self.fallback).fit(X)
            self.converged_ = True
            self.method_used_ = self.fallback
        self.n_iter_ = max(1, int(getattr(self.imputer_, "n_iter_", 1)))  # one pass for knn/simple
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "imputer_")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        # imputers fill each row from its own values and the fitted state, so complete rows are passed through
        # and only incomplete ones are imputed (the iterative imputer's cost is per row and round)
        incomplete = np.isnan(X).any(axis=1)
        if not incomplete.any():
            return X
        out = X.copy()
        out[incomplete] = self.imputer_.transform(X[incomplete])
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        if input_features is None:
            input_features = getattr(self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)])
        return np.asarray(input_features, dtype=object)


class ColumnWeights(TransformerMixin, BaseEstimator):
    """Multiply standardized columns by per-column weights (K-means distances weigh a feature by its scale)."""

    def __init__(self, weights: tuple[float, ...] = ()):
        self.weights = weights

    def fit(self, X: Any, y: Any = None) -> ColumnWeights:
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=True)
        w = np.asarray(self.weights, dtype=np.float64) if len(self.weights) else np.ones(X.shape[1])
        if w.shape != (X.shape[1],):
            raise ValueError(f"{len(w)} weights for {X.shape[1]} columns")
        self.weights_ = w
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "weights_")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        return X * self.weights_

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        if input_features is None:
            input_features = getattr(self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)])
        return np.asarray(input_features, dtype=object)


def _to_float(X: Any) -> np.ndarray:
    if isinstance(X, pd.DataFrame):
        return X.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    return np.asarray(X, dtype=np.float64)


def _to_str(X: Any) -> np.ndarray:
    """Categories as python str/None objects (pandas string or category dtypes confuse the encoder)."""
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    return frame.astype(object).where(frame.notna(), None).to_numpy(dtype=object)


class CategoricalPrep(TransformerMixin, BaseEstimator):
    """Object array of strings; missing and empty values become `fill_value` ("unknown", as in the mart)."""

    def __init__(self, fill_value: str = "unknown"):
        self.fill_value = fill_value

    def fit(self, X: Any, y: Any = None) -> CategoricalPrep:
        self.n_features_in_ = np.asarray(X).shape[1]
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        out = _to_str(X).copy()
        missing = pd.isna(out) | (out == "")
        out[missing] = self.fill_value
        return out.astype(str).astype(object)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        if input_features is None:
            input_features = getattr(self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)])
        return np.asarray(input_features, dtype=object)


def build_preprocessor(cfg: MLConfig) -> ColumnTransformer:
    """The `preprocess` step: a ColumnTransformer over the configured features."""
    fc: FeatureConfig = cfg.features
    numeric = list(fc.numeric_all)
    fills = {numeric.index(c): float(v) for c, v in fc.fill_values.items() if c in numeric}
    logs = tuple(numeric.index(c) for c in fc.log1p)
    imp = cfg.imputation
    numeric_pipe = Pipeline([
        ("prep", NumericPrep(fill_values=fills, log_columns=logs)),
        ("impute", SampleFittedImputer(method=imp.method, max_fit_rows=imp.max_fit_rows,
                                       n_neighbors=imp.n_neighbors, max_iter=imp.max_iter,
                                       fallback=imp.fallback, random_state=cfg.seed)),
        ("scale", StandardScaler()),
    ])
    column_weights = tuple(float(fc.weights.get(c, 1.0)) for c in numeric)
    if any(w != 1.0 for w in column_weights):
        numeric_pipe.steps.append(("weight", ColumnWeights(column_weights)))
    transformers: list[tuple[str, Any, list[str]]] = [("numeric", numeric_pipe, numeric)]
    if fc.categorical:
        categorical_pipe = Pipeline([
            ("prep", CategoricalPrep()),
            ("onehot", OneHotEncoder(handle_unknown="infrequent_if_exist", sparse_output=False,
                                     max_categories=fc.max_categories, dtype=np.float64)),
        ])
        transformers.append(("categorical", categorical_pipe, list(fc.categorical)))
    weights = {name: float(fc.weights.get(name, 1.0)) for name, _, _ in transformers}  # block weights
    return ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0,
                             transformer_weights=weights, verbose_feature_names_out=True)


def build_reducer(cfg: MLConfig) -> PCA | str:
    """The optional `reduce` step: PCA when configured, else "passthrough"."""
    if cfg.pca_components is None:
        return "passthrough"
    return PCA(n_components=cfg.pca_components, random_state=cfg.seed)


def add_derived_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns the rules need that the mart does not carry (days since signup at the run's as_of_date)."""
    out = frame.copy()
    if "signup_at" in out and "as_of_date" in out:
        as_of = pd.to_datetime(out["as_of_date"]).dt.tz_localize(None)
        signup = pd.to_datetime(out["signup_at"], utc=True).dt.tz_localize(None).dt.normalize()
        out["days_since_signup"] = (as_of - signup).dt.days.astype("float64")
    return out


def feature_completeness(frame: pd.DataFrame, cfg: MLConfig) -> pd.Series:
    """Share of numeric model features present per row, after structural fills (a never-buyer is complete)."""
    cols = list(cfg.features.numeric_all)
    present = frame[cols].notna()
    for col in cfg.features.fill_values:
        if col in present:
            present[col] = True
    return present.mean(axis=1).astype("float64")
