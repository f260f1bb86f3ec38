"""Choosing k: every candidate is fitted and scored (silhouette on a seeded sample, inertia + knee for
K-means-like models, BIC for mixtures); all scores are kept for `segments.model_selection`."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import silhouette_score

from .models import with_k


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


def select_k(Z: np.ndarray, segmenter: Any, k_min: int, k_max: int, *, criterion: str = "silhouette",
             silhouette_rows: int = 5000, seed: int = 0, k_param: str | None = None) -> tuple[int, pd.DataFrame]:
    """Fit one candidate per k on the transformed rows `Z`; return the chosen k and every candidate's scores.

    criterion: `silhouette` (max), `bic` (min; needs `.bic`) or `knee` (needs `.inertia_`); when the model
    lacks what the criterion needs, silhouette decides and the table says so in `criterion_used`.
    """
    sil_idx = sample_indices(len(Z), silhouette_rows, seed)
    rows = []
    for k in range(k_min, k_max + 1):
        if k >= len(Z):
            break
        start = time.perf_counter()
        est = with_k(segmenter, k, k_param).fit(Z)
        labels = np.asarray(est.predict(Z))
        seconds = time.perf_counter() - start
        n_seg = len(np.unique(labels))
        sil = float(silhouette_score(Z[sil_idx], labels[sil_idx])) if len(np.unique(labels[sil_idx])) > 1 else np.nan
        rows.append({
            "k": k,
            "n_segments": n_seg,
            "silhouette": sil,
            "inertia": float(est.inertia_) if hasattr(est, "inertia_") else np.nan,
            "bic": float(est.bic(Z)) if hasattr(est, "bic") else np.nan,
            "min_segment_share": float(np.bincount(labels).min() / len(labels)) if labels.min() >= 0 else np.nan,
            "fit_seconds": round(seconds, 3),
        })
    table = pd.DataFrame(rows)
    knee = knee_point(table["k"], table["inertia"]) if table["inertia"].notna().all() else None
    table["is_knee"] = table["k"] == knee
    used = criterion
    if criterion == "bic" and table["bic"].notna().all():
        best = int(table.loc[table["bic"].idxmin(), "k"])
    elif criterion == "knee" and knee is not None:
        best = knee
    else:
        used = "silhouette"
        best = int(table.loc[table["silhouette"].fillna(-1).idxmax(), "k"])
    table["criterion_used"] = used
    table["selected"] = table["k"] == best
    return best, table
