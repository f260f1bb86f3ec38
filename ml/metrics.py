"""Partition quality that handles noise: density clusterers leave some rows unassigned (label -1), and a
silhouette over the assigned rows alone would reward a model for declaring the hard rows noise.

`segment_silhouette` = silhouette of the assigned rows x (1 - noise share). For a model without noise
(K-means, mixtures) it is the plain silhouette, so every model is gated and compared on one scale.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import silhouette_score

from .models import NOISE_LABEL


def noise_share(labels: np.ndarray) -> float:
    labels = np.asarray(labels)
    return float(np.mean(labels == NOISE_LABEL)) if len(labels) else 0.0


def n_segments(labels: np.ndarray) -> int:
    """Distinct labels other than noise."""
    uniq = np.unique(np.asarray(labels))
    return int(np.sum(uniq != NOISE_LABEL))


def assigned_silhouette(Z: np.ndarray, labels: np.ndarray) -> float:
    """Silhouette of the rows with a segment (nan with fewer than two segments)."""
    labels = np.asarray(labels)
    keep = labels != NOISE_LABEL
    if len(np.unique(labels[keep])) < 2 or keep.sum() < 3:
        return float("nan")
    return float(silhouette_score(Z[keep], labels[keep]))


def segment_silhouette(Z: np.ndarray, labels: np.ndarray) -> float:
    """Silhouette of the assigned rows, discounted by the share of rows left as noise."""
    sil = assigned_silhouette(Z, labels)
    return sil if np.isnan(sil) else sil * (1.0 - noise_share(labels))


def segment_shares(labels: np.ndarray) -> dict[int, float]:
    """Share of all rows (noise included in the denominator) per segment label."""
    labels = np.asarray(labels)
    uniq, counts = np.unique(labels[labels != NOISE_LABEL], return_counts=True)
    return {int(u): float(c / len(labels)) for u, c in zip(uniq, counts, strict=True)}
