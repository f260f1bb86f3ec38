"""`score_frame`: the champion's segments for one frame of profiles (pure; the pandas and the Spark scoring
paths both call it, so both engines assign identical segments)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from .alignment import NO_SEGMENT
from .config import MLConfig
from .features import feature_completeness
from .models import input_columns


def score_frame(frame: pd.DataFrame, model: Pipeline, segment_map: dict[int, int],
                centroids: dict[int, list[float]], segment_names: dict[int, str], cfg: MLConfig,
                segment_keys: dict[int, str] | None = None) -> pd.DataFrame:
    """person_id, segment_id, segment_name, probability, distance, confidence, feature_completeness,
    segment_key.

    segment_id / segment_name / segment_key are null for a person without a segment (noise of a density
    model). probability: max class probability when the segmenter has `predict_proba` (GMM), else null.
    distance: to the segment's centre in the model's standardized space.
    confidence: the probability when there is one; otherwise distance-based, `1 - d_own / d_next` where
    d_next is the distance to the nearest other centre (1 = at the centre, 0 = on the boundary).
    """
    X = frame[input_columns(model, cfg.features.all)]  # the champion's own features
    Z = np.asarray(model[:-1].transform(X), dtype=np.float64)
    segmenter = model[-1]
    labels = np.asarray(segmenter.predict(Z))
    lut = {int(k): int(v) for k, v in segment_map.items()}
    seg = pd.Series(labels).map(lut).fillna(NO_SEGMENT).to_numpy(dtype=np.int64)
    ids = np.array(sorted(int(s) for s in centroids), dtype=np.int64)
    C = np.asarray([centroids[s] for s in ids], dtype=float).reshape(len(ids), Z.shape[1])
    pos = np.searchsorted(ids, seg).clip(0, max(len(ids) - 1, 0))
    known = ids[pos] == seg if len(ids) else np.zeros(len(Z), dtype=bool)
    # squared distances to every centre via |z|^2 - 2 z.c + |c|^2 (no n x k x d temporary)
    d2 = (Z * Z).sum(axis=1)[:, None] - 2.0 * Z @ C.T + (C * C).sum(axis=1)[None, :]
    D = np.sqrt(np.clip(d2, 0.0, None))
    rows = np.arange(len(Z))
    distance = D[rows, pos] if len(ids) else np.full(len(Z), np.nan)
    distance[~known] = np.nan
    if hasattr(segmenter, "predict_proba"):
        proba = segmenter.predict_proba(Z).max(axis=1).astype(float)
        proba[~known] = np.nan
        confidence = proba.copy()
    else:
        proba = np.full(len(Z), np.nan)
        if len(ids) > 1:
            others = D.copy()
            others[rows, pos] = np.inf
            nearest_other = others.min(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                confidence = np.clip(1.0 - distance / nearest_other, 0.0, 1.0)
        else:
            confidence = np.ones(len(Z))
        confidence[~known] = np.nan
    names = {int(k): v for k, v in segment_names.items()}
    keys = {int(k): v for k, v in (segment_keys or {}).items()}
    segment_id = pd.array(np.where(known, seg, 0), dtype="Int32")
    segment_id[~known] = pd.NA
    as_ids = pd.Series(np.where(known, seg, NO_SEGMENT))
    completeness = frame["feature_completeness"] if "feature_completeness" in frame else feature_completeness(frame, cfg)
    return pd.DataFrame({
        cfg.input.id_column: frame[cfg.input.id_column].to_numpy(),
        "segment_id": segment_id,
        "segment_name": _labels_of(as_ids, names, known),
        "probability": proba,
        "distance": distance,
        "confidence": confidence,
        "feature_completeness": np.asarray(completeness, dtype=float),
        "segment_key": _labels_of(as_ids, keys, known),
    })


def _labels_of(ids: pd.Series, values: dict[int, str], known: np.ndarray) -> np.ndarray:
    """Per row the text for its segment id (None without a segment or without a text)."""
    out = ids.map(values).astype(object)
    return out.where(known & out.notna().to_numpy(), None).to_numpy(dtype=object)
