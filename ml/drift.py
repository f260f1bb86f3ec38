"""Population stability index (PSI) of features and segment shares between scoring runs.

PSI = sum((a - e) * ln(a / e)) over bins of the reference (e) and current (a) proportions; < 0.1 ok,
0.1-0.25 warn, > 0.25 alert. Numeric bins are the reference run's deciles plus a "missing" bin, so a jump
in missing values drifts too; categorical bins are the categories.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .config import DriftConfig

MISSING = "__missing__"


def psi(expected: Sequence[float] | np.ndarray, actual: Sequence[float] | np.ndarray, eps: float = 1e-4) -> float:
    """PSI of two aligned count (or proportion) vectors; empty bins are floored at `eps`."""
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if e.shape != a.shape or e.sum() <= 0 or a.sum() <= 0:
        raise ValueError("psi needs two non-empty count vectors of the same length")
    e = np.clip(e / e.sum(), eps, None)
    a = np.clip(a / a.sum(), eps, None)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_status(value: float, cfg: DriftConfig) -> str:
    if value > cfg.alert:
        return "alert"
    if value >= cfg.warn:
        return "warn"
    return "ok"


def quantile_edges(values: np.ndarray | pd.Series, bins: int = 10) -> np.ndarray:
    """Distinct inner edges at the reference's quantiles (ties collapse bins)."""
    v = pd.to_numeric(pd.Series(values), errors="coerce").dropna().to_numpy(dtype=float)
    if len(v) == 0:
        return np.array([])
    return np.unique(np.quantile(v, np.linspace(0, 1, bins + 1)[1:-1]))


def bin_counts(values: np.ndarray | pd.Series, edges: np.ndarray) -> np.ndarray:
    """Counts in (-inf, e1), [e1, e2), ..., [ek, inf) and a final missing bin."""
    v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    missing = np.isnan(v)
    idx = np.searchsorted(np.asarray(edges, dtype=float), v[~missing], side="right")
    counts = np.bincount(idx, minlength=len(edges) + 1).astype(float)
    return np.append(counts, missing.sum())


def psi_from_samples(reference: np.ndarray | pd.Series, current: np.ndarray | pd.Series, bins: int = 10) -> float:
    """PSI of a numeric feature with bins from the reference's quantiles."""
    edges = quantile_edges(reference, bins)
    return psi(bin_counts(reference, edges), bin_counts(current, edges))


def category_counts(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), MISSING).astype(str).value_counts()


def psi_categorical(reference: pd.Series | dict, current: pd.Series | dict) -> float:
    """PSI over the union of categories of two count mappings."""
    ref, cur = pd.Series(reference, dtype=float), pd.Series(current, dtype=float)
    keys = ref.index.union(cur.index)
    return psi(ref.reindex(keys, fill_value=0).to_numpy(), cur.reindex(keys, fill_value=0).to_numpy())


def feature_histograms(frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str],
                       edges: dict[str, np.ndarray]) -> pd.DataFrame:
    """Long histogram table: feature, bin, lower, upper, category, count (chunks add up by key)."""
    rows = []
    for f in numeric:
        e = np.asarray(edges[f], dtype=float)
        counts = bin_counts(frame[f], e)
        lowers = np.concatenate([[-np.inf], e, [np.nan]])
        uppers = np.concatenate([e, [np.inf], [np.nan]])
        for i, c in enumerate(counts):
            rows.append((f, i, lowers[i], uppers[i], MISSING if i == len(counts) - 1 else None, float(c)))
    for f in categorical:
        for cat, c in category_counts(frame[f]).items():
            rows.append((f, -1, np.nan, np.nan, str(cat), float(c)))
    return pd.DataFrame(rows, columns=["feature", "bin", "lower", "upper", "category", "count"])


def add_histograms(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Sum chunk histograms by (feature, bin, category)."""
    data = pd.concat(parts, ignore_index=True)
    keys = ["feature", "bin", "category"]
    data["category"] = data["category"].fillna("")
    out = data.groupby(keys, as_index=False, sort=True).agg(
        lower=("lower", "first"), upper=("upper", "first"), count=("count", "sum"))
    out["category"] = out["category"].replace("", None)
    return out[["feature", "bin", "lower", "upper", "category", "count"]]


def edges_from_histograms(hist: pd.DataFrame) -> dict[str, np.ndarray]:
    """Recover a run's numeric inner edges from its stored histogram."""
    out = {}
    for f, g in hist[hist["bin"] >= 0].groupby("feature"):
        uppers = g.sort_values("bin")["upper"].to_numpy(dtype=float)
        out[str(f)] = uppers[np.isfinite(uppers)]
    return out


def compare_histograms(reference: pd.DataFrame, current: pd.DataFrame, cfg: DriftConfig) -> pd.DataFrame:
    """PSI per feature; `current` must be binned on the reference's edges (see `edges_from_histograms`)."""
    rows = []
    for f, ref in reference.groupby("feature"):
        cur = current[current["feature"] == f]
        if cur.empty:
            continue
        key = np.where(ref["bin"] >= 0, ref["bin"].astype(str), ref["category"].astype(str))
        ckey = np.where(cur["bin"] >= 0, cur["bin"].astype(str), cur["category"].astype(str))
        value = psi_categorical(dict(zip(key, ref["count"], strict=True)), dict(zip(ckey, cur["count"], strict=True)))
        rows.append({"kind": "feature", "name": str(f), "psi": value, "status": psi_status(value, cfg)})
    return pd.DataFrame(rows, columns=["kind", "name", "psi", "status"])


def segment_share_drift(reference_sizes: pd.Series | dict, current_sizes: pd.Series | dict,
                        cfg: DriftConfig) -> pd.DataFrame:
    """PSI of the segment share distribution (one row, name `segment_shares`)."""
    value = psi_categorical(reference_sizes, current_sizes)
    return pd.DataFrame([{"kind": "segment_share", "name": "segment_shares", "psi": value,
                          "status": psi_status(value, cfg)}])


def should_retrain(drift: pd.DataFrame, cfg: DriftConfig) -> bool:
    """True when at least `min_alerts_to_retrain` features or segment shares are in alert."""
    return int((drift["status"] == "alert").sum()) >= cfg.min_alerts_to_retrain if len(drift) else False
