"""Choosing k: every candidate is fitted and scored (silhouette on a seeded sample, inertia + knee for
K-means-like models, BIC for mixtures); all scores are kept for `segments.model_selection`. Models without a
number-of-segments parameter (density clusterers) are fitted once: k is what they find."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from .metrics import n_segments, noise_share, segment_shares, segment_silhouette
from .models import find_k_param, with_k

CRITERIA = ("auto", "silhouette", "bic", "knee")


def knee_point(ks: list[int] | np.ndarray, values: list[float] | np.ndarray) -> int | None:
    """Kneedle knee of a decreasing convex curve (inertia vs k): the k farthest above the chord."""
    ks = np.asarray(ks, dtype=float)
    ys = np.asarray(values, dtype=float)
    if len(ks) < 3 or not np.all(np.isfinite(ys)) or np.ptp(ys) == 0:
        return None
    x_n = (ks - ks.min()) / np.ptp(ks)
    y_n = (ys - ys.min()) / np.ptp(ys)
    diff = (1.0 - y_n) - x_n
    best = int(np.argmax(diff))
    return int(ks[best]) if diff[best] > 0 else None


def sample_indices(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted seeded sample of row positions (all rows when n <= size)."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def mixture_bic(estimator: Any, Z: np.ndarray) -> float:
    """BIC of a fitted mixture: its own `bic` when it has one (GaussianMixture), else computed from the mean
    log-likelihood and the free parameters of its covariance type (BayesianGaussianMixture)."""
    if hasattr(estimator, "bic"):
        return float(estimator.bic(Z))
    if not (hasattr(estimator, "score") and hasattr(estimator, "means_") and hasattr(estimator, "covariance_type")):
        return float("nan")
    k, d = estimator.means_.shape
    cov = {"full": k * d * (d + 1) / 2, "diag": k * d, "tied": d * (d + 1) / 2, "spherical": k}
    n_params = cov[estimator.covariance_type] + k * d + k - 1
    return float(-2 * estimator.score(Z) * len(Z) + n_params * np.log(len(Z)))


def is_mixture(estimator: Any) -> bool:
    """Mixture models (GaussianMixture, BayesianGaussianMixture): k is chosen by BIC when criterion is auto."""
    return hasattr(estimator, "covariance_type") and hasattr(estimator, "score_samples")


def resolve_criterion(criterion: str, estimator: Any) -> str:
    if criterion == "auto":
        return "bic" if is_mixture(estimator) else "silhouette"
    return criterion


def _candidate(Z: np.ndarray, est: Any, k: int | None, sil_idx: np.ndarray, seconds: float) -> dict[str, Any]:
    labels = np.asarray(est.predict(Z))
    shares = segment_shares(labels)
    return {
        "k": n_segments(labels) if k is None else k,
        "n_segments": n_segments(labels),
        "silhouette": segment_silhouette(Z[sil_idx], labels[sil_idx]),
        "inertia": float(est.inertia_) if hasattr(est, "inertia_") else np.nan,
        "bic": mixture_bic(est, Z),
        "min_segment_share": min(shares.values()) if shares else np.nan,
        "noise_share": noise_share(labels),
        "fit_seconds": round(seconds, 3),
    }


def select_k(Z: np.ndarray, segmenter: Any, k_min: int, k_max: int, *, criterion: str = "auto",
             silhouette_rows: int = 5000, seed: int = 0, k_param: str | None = None) -> tuple[int, pd.DataFrame]:
    """Fit one candidate per k on the transformed rows `Z`; return the chosen k and every candidate's scores.

    criterion: `silhouette` (max, of the assigned rows discounted by the noise share), `bic` (min; mixtures)
    or `knee` (needs `.inertia_`); `auto` is bic for mixtures, silhouette otherwise. When the model lacks
    what the criterion needs, silhouette decides and the table says so in `criterion_used`. A model without
    a k parameter is fitted once and its k is the number of segments it found.
    """
    sil_idx = sample_indices(len(Z), silhouette_rows, seed)
    rows = []
    ks: list[int | None] = list(range(k_min, k_max + 1)) if find_k_param(segmenter, k_param) else [None]
    for k in ks:
        if k is not None and k >= len(Z):
            break
        start = time.perf_counter()
        est = with_k(segmenter, k, k_param).fit(Z)
        rows.append(_candidate(Z, est, k, sil_idx, time.perf_counter() - start))
    table = pd.DataFrame(rows)
    knee = knee_point(table["k"], table["inertia"]) if table["inertia"].notna().all() else None
    table["is_knee"] = table["k"] == knee
    wanted = resolve_criterion(criterion, segmenter)
    used = wanted
    if len(table) == 1:
        used = "found by the model" if ks == [None] else wanted
        best = int(table["k"].iloc[0])
    elif wanted == "bic" and table["bic"].notna().all():
        best = int(table.loc[table["bic"].idxmin(), "k"])
    elif wanted == "knee" and knee is not None:
        best = knee
    else:
        used = "silhouette"
        best = int(table.loc[table["silhouette"].fillna(-1).idxmax(), "k"])
    table["criterion_used"] = used
    table["selected"] = table["k"] == best
    return best, table


def rank_candidates(table: pd.DataFrame) -> list[int]:
    """Candidate ks from best to worst by the criterion the selection used (the stability fallback order)."""
    used = str(table["criterion_used"].iloc[0]) if len(table) and "criterion_used" in table else "silhouette"
    if used == "bic":
        order = table.sort_values("bic", ascending=True)
    else:
        order = table.sort_values("silhouette", ascending=False, na_position="last")
    return [int(k) for k in order["k"]]
