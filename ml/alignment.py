"""Stable segment ids across model versions: Hungarian matching of centroids against the previous champion.

Both labelings are computed on the same rows and their centroids taken in the same standardized space,
so a refit, a reshuffle or a different scaler does not renumber BI's "segment 3".
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist


def label_centroids(Z: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct labels and their mean rows in Z."""
    uniq, codes = np.unique(labels, return_inverse=True)
    sums = np.zeros((len(uniq), Z.shape[1]))
    np.add.at(sums, codes, Z)
    return uniq, sums / np.bincount(codes)[:, None]


def initial_segment_ids(labels: np.ndarray) -> dict[int, int]:
    """First model: ids 1..k by decreasing size (ties by label), independent of the fit's label order."""
    uniq, counts = np.unique(labels, return_counts=True)
    order = sorted(range(len(uniq)), key=lambda i: (-counts[i], uniq[i]))
    return {int(uniq[i]): rank + 1 for rank, i in enumerate(order)}


def align_segment_ids(Z: np.ndarray, new_labels: np.ndarray, previous_ids: np.ndarray | None) -> dict[int, int]:
    """Map each new label to a segment id: the matched previous segment's id, else a fresh id.

    `previous_ids` are the previous champion's segment ids for the same rows of Z (None: no champion).
    """
    if previous_ids is None or len(previous_ids) == 0:
        return initial_segment_ids(new_labels)
    new_uniq, new_c = label_centroids(Z, new_labels)
    old_uniq, old_c = label_centroids(Z, np.asarray(previous_ids))
    rows, cols = linear_sum_assignment(cdist(new_c, old_c))
    mapping = {int(new_uniq[r]): int(old_uniq[c]) for r, c in zip(rows, cols, strict=True)}
    next_id = int(max(old_uniq.max(), 0)) + 1
    for label in new_uniq:  # more segments than before: fresh ids, largest first
        if int(label) not in mapping:
            mapping[int(label)] = next_id
            next_id += 1
    return mapping
