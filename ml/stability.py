"""Bootstrap stability (Hennig's clusterboot): refit on resamples, compare with the reference labels.

Per reference segment, the Jaccard similarity with its best-matching bootstrap cluster, averaged over
resamples: >= 0.75 stable, 0.6-0.75 doubtful, < 0.6 not to be trusted. ARI summarizes the whole partition.
Noise (label -1 of density clusterers) is not a segment: it gets no Jaccard and is never a best match, so
members of a segment that a refit calls noise count against that segment; in the ARI it is one more label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score
from sklearn.metrics.cluster import contingency_matrix

from .models import NOISE_LABEL
from .selection import sample_indices


@dataclass(frozen=True)
class StabilityResult:
    ari: np.ndarray  # one ARI per bootstrap
    segments: pd.DataFrame  # label, size, mean_jaccard, min_jaccard, status

    @property
    def ari_mean(self) -> float:
        return float(np.mean(self.ari)) if len(self.ari) else float("nan")

    @property
    def ari_median(self) -> float:
        return float(np.median(self.ari)) if len(self.ari) else float("nan")

    @property
    def min_jaccard(self) -> float:
        return float(self.segments["mean_jaccard"].min()) if len(self.segments) else float("nan")


def classify_stability(mean_jaccard: float, stable: float = 0.75, unstable: float = 0.6) -> str:
    """Hennig's reading of a segment's mean bootstrap Jaccard."""
    if mean_jaccard >= stable:
        return "stable"
    if mean_jaccard >= unstable:
        return "doubtful"
    return "unstable"


def best_match_jaccard(reference: np.ndarray, other: np.ndarray) -> pd.Series:
    """For each reference segment, the Jaccard index with the most similar segment of `other` (same rows);
    noise labels are neither scored nor matched."""
    ref_labels, ref_codes = np.unique(reference, return_inverse=True)
    other_labels, other_codes = np.unique(other, return_inverse=True)
    c = contingency_matrix(ref_codes, other_codes, sparse=False).astype(float)
    union = c.sum(axis=1)[:, None] + c.sum(axis=0)[None, :] - c
    jaccard = c / union
    jaccard[:, other_labels == NOISE_LABEL] = 0.0
    keep = ref_labels != NOISE_LABEL
    return pd.Series(jaccard.max(axis=1)[keep], index=ref_labels[keep])


def bootstrap_stability(Z: np.ndarray, segmenter: Any, *, n_bootstrap: int = 10, sample_rows: int = 3000,
                        seed: int = 0, stable: float = 0.75, unstable: float = 0.6,
                        reference_labels: np.ndarray | None = None) -> StabilityResult:
    """Refit a clone of the fitted or unfitted `segmenter` on `n_bootstrap` resamples of a seeded sample of Z.

    Reference labels default to `segmenter.predict` (if fitted) or a fit on the sample; each bootstrap
    model's labels are compared with them on the distinct resampled rows.
    """
    idx = sample_indices(len(Z), sample_rows, seed)
    S = Z[idx]
    if reference_labels is None:
        try:
            reference_labels = np.asarray(segmenter.predict(S))
        except Exception:  # not fitted yet: the reference is a fit on the sample itself
            reference_labels = np.asarray(clone(segmenter).fit(S).predict(S))
    else:
        reference_labels = np.asarray(reference_labels)[idx] if len(reference_labels) == len(Z) else reference_labels
    rng = np.random.default_rng(seed)
    has_seed = "random_state" in segmenter.get_params()
    aris, jaccards = [], []
    for b in range(n_bootstrap):
        boot = rng.integers(0, len(S), len(S))
        est = clone(segmenter)
        if has_seed:
            est.set_params(random_state=seed + 1 + b)
        est.fit(S[boot])
        uniq = np.unique(boot)
        labels_b = np.asarray(est.predict(S[uniq]))
        aris.append(adjusted_rand_score(reference_labels[uniq], labels_b))
        jaccards.append(best_match_jaccard(reference_labels[uniq], labels_b))
    jac = pd.concat(jaccards, axis=1) if jaccards else pd.DataFrame(index=np.unique(reference_labels))
    labels, sizes = np.unique(reference_labels[reference_labels != NOISE_LABEL], return_counts=True)
    mean_j = jac.mean(axis=1).reindex(labels).fillna(0.0).to_numpy()
    segments = pd.DataFrame({
        "label": labels,
        "sample_size": sizes,
        "mean_jaccard": mean_j,
        "min_jaccard": jac.min(axis=1).reindex(labels).fillna(0.0).to_numpy(),
        "status": [classify_stability(j, stable, unstable) for j in mean_j],
    })
    return StabilityResult(ari=np.asarray(aris), segments=segments)
