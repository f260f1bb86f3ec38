"""Stable segment ids across model versions: Hungarian matching of centroids against the previous champion.

Both labelings are computed on the same rows and their centroids taken in the same standardized space,
so a refit, a reshuffle or a different scaler does not renumber BI's "segment 3". Noise (label / id -1) takes
no part: it is never a segment. An id once given is never given to another segment (`next_id`).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

NO_SEGMENT = -1  # noise label of density clusterers, and the id of a row without a segment


def label_centroids(Z: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct labels and their mean rows in Z."""
    uniq, codes = np.unique(labels, return_inverse=True)
    sums = np.zeros((len(uniq), Z.shape[1]))
    np.add.at(sums, codes, Z)
    return uniq, sums / np.bincount(codes)[:, None]


def initial_segment_ids(labels: np.ndarray, first_id: int = 1) -> dict[int, int]:
    """First model: ids first_id.. by decreasing size (ties by label), independent of the fit's label order."""
    labels = np.asarray(labels)
    uniq, counts = np.unique(labels[labels != NO_SEGMENT], return_counts=True)
    order = sorted(range(len(uniq)), key=lambda i: (-counts[i], uniq[i]))
    return {int(uniq[i]): first_id + rank for rank, i in enumerate(order)}


def align_segment_ids(Z: np.ndarray, new_labels: np.ndarray, previous_ids: np.ndarray | None,
                      next_id: int = 1) -> dict[int, int]:
    """Map each new label to a segment id: the matched previous segment's id, else a fresh id.

    `previous_ids` are the previous champion's segment ids for the same rows of Z (None: no champion);
    fresh ids start at `next_id` or above every previous id, whichever is larger (pass one above every id
    ever issued, so a retired segment's id is never reused). Noise labels are not mapped.
    """
    new_labels = np.asarray(new_labels)
    has_previous = previous_ids is not None and bool(np.any(np.asarray(previous_ids) != NO_SEGMENT))
    if not has_previous:
        return initial_segment_ids(new_labels, max(next_id, 1))
    previous_ids = np.asarray(previous_ids)
    new_rows, old_rows = new_labels != NO_SEGMENT, previous_ids != NO_SEGMENT
    new_uniq, new_c = label_centroids(Z[new_rows], new_labels[new_rows])
    old_uniq, old_c = label_centroids(Z[old_rows], previous_ids[old_rows])
    rows, cols = linear_sum_assignment(cdist(new_c, old_c))
    mapping = {int(new_uniq[r]): int(old_uniq[c]) for r, c in zip(rows, cols, strict=True)}
    next_id = max(int(max(old_uniq.max(), 0)) + 1, next_id)
    for label in new_uniq:  # more segments than before: fresh ids, largest first
        if int(label) not in mapping:
            mapping[int(label)] = next_id
            next_id += 1
    return mapping
