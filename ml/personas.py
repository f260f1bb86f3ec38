"""Segment profiles: sizes, shares, feature means and z-scores vs the population, and persona names.

Profiles are built from per-chunk sums (`summarize_segments` + `combine_summaries`), so a million rows
never need to sit in memory at once; the in-memory path is the same functions on one chunk.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .alignment import NO_SEGMENT
from .config import PersonaConfig

BUYER_COLUMN = "frequency"  # a segment whose members mostly bought is named "... buyers", else "... visitors"


def summarize_segments(frame: pd.DataFrame, segment_ids: np.ndarray | pd.Series,
                       features: Sequence[str]) -> pd.DataFrame:
    """Per segment: row count, buyers, and per feature the non-null count, sum and sum of squares."""
    values = frame[list(features)].apply(pd.to_numeric, errors="coerce").astype("float64")
    parts = {"n": pd.Series(1.0, index=frame.index)}
    if BUYER_COLUMN in frame:
        parts["buyers"] = (pd.to_numeric(frame[BUYER_COLUMN], errors="coerce").fillna(0) > 0).astype(float)
    for f in features:
        col = values[f]
        parts[f"cnt__{f}"] = col.notna().astype(float)
        parts[f"sum__{f}"] = col.fillna(0.0)
        parts[f"sq__{f}"] = col.fillna(0.0) ** 2
    data = pd.DataFrame(parts)
    data["segment_id"] = np.asarray(segment_ids)
    return data.groupby("segment_id").sum()


def combine_summaries(summaries: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Add up chunk summaries."""
    return pd.concat(list(summaries)).groupby(level=0).sum()


def bound_violation(feature: str, side: str, mean: float | None, cfg: PersonaConfig) -> str | None:
    """Why the word for (feature, side) is not true of a segment whose mean is `mean` (None: it is), by the
    absolute bounds of `personas.bounds` ("New" buyers first seen 300 days ago on average are not new)."""
    bound = cfg.bounds.get(feature, {})
    if mean is None or np.isnan(mean):
        return None
    if side == "low" and "low_max" in bound and mean > bound["low_max"]:
        return f"{feature} mean {mean:.1f} > {bound['low_max']:g} (personas.bounds low_max)"
    if side == "high" and "high_min" in bound and mean < bound["high_min"]:
        return f"{feature} mean {mean:.1f} < {bound['high_min']:g} (personas.bounds high_min)"
    return None


def persona_traits(z: pd.Series, cfg: PersonaConfig, means: dict[str, float] | None = None) -> list[tuple[str, str]]:
    """The (feature, "high" | "low") pairs a name is made of: the strongest z-scores that have words and whose
    words are true of the segment's own means (`personas.bounds`)."""
    traits: list[tuple[str, str]] = []
    words: list[str] = []
    for feature in z.abs().sort_values(ascending=False).index:
        value = z[feature]
        if abs(value) < cfg.z_threshold or len(traits) >= cfg.max_terms:
            break
        side = "high" if value > 0 else "low"
        term = cfg.terms.get(feature, {}).get(side)
        if bound_violation(str(feature), side, (means or {}).get(str(feature)), cfg):
            continue
        if term and term.lower() not in (w.lower() for w in words):
            words.append(term)
            traits.append((str(feature), side))
    return traits


def name_from_traits(traits: Sequence[tuple[str, str]], buyer_share: float, cfg: PersonaConfig) -> str:
    """"High-value frequent buyers"; "Typical ..." when no trait is strong enough (the neutral name)."""
    words = [cfg.terms[f][side] for f, side in traits] or ["Typical"]
    noun = "buyers" if buyer_share >= 0.5 else "visitors"
    text = " ".join([words[0], *[w.lower() for w in words[1:]], noun])
    return text[0].upper() + text[1:]


def persona_name(z: pd.Series, buyer_share: float, cfg: PersonaConfig,
                 means: dict[str, float] | None = None) -> str:
    """Name from the strongest z-scores that have words, e.g. "High-value frequent buyers"."""
    return name_from_traits(persona_traits(z, cfg, means), buyer_share, cfg)


def finalize_profiles(summary: pd.DataFrame, features: Sequence[str],
                      cfg: PersonaConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per segment: size, share, buyer_share, persona name, traits;
    one row per segment x feature: segment mean, population mean/std, z-score).

    Rows without a segment (id -1, noise) count in the population and the shares' denominator only."""
    total = summary.sum()
    n_total = float(total["n"])
    rows, feature_rows = [], []
    for seg, s in summary.iterrows():
        if int(seg) == NO_SEGMENT:
            continue
        z_by_feature, means = {}, {}
        for f in features:
            cnt, pop_cnt = s[f"cnt__{f}"], total[f"cnt__{f}"]
            seg_mean = s[f"sum__{f}"] / cnt if cnt else np.nan
            pop_mean = total[f"sum__{f}"] / pop_cnt if pop_cnt else np.nan
            pop_var = total[f"sq__{f}"] / pop_cnt - pop_mean**2 if pop_cnt else np.nan
            pop_std = float(np.sqrt(max(pop_var, 0.0))) if pop_cnt else np.nan
            z = (seg_mean - pop_mean) / pop_std if pop_std and pop_std > 0 else 0.0
            z_by_feature[f] = 0.0 if np.isnan(z) else float(z)
            means[f] = float(seg_mean)
            feature_rows.append({"segment_id": int(seg), "feature": f, "segment_mean": float(seg_mean),
                                 "population_mean": float(pop_mean), "population_std": pop_std,
                                 "z_score": z_by_feature[f]})
        z_series = pd.Series(z_by_feature, dtype="float64")
        buyer_share = float(s["buyers"] / s["n"]) if "buyers" in s and s["n"] else 0.0
        top = z_series.abs().sort_values(ascending=False).index[:3]
        rows.append({
            "segment_id": int(seg),
            "size": int(s["n"]),
            "share": float(s["n"] / n_total) if n_total else 0.0,
            "buyer_share": buyer_share,
            "persona_name": persona_name(z_series, buyer_share, cfg, means),
            "top_traits": ", ".join(f"{f} {z_series[f]:+.1f}z" for f in top),
        })
    columns = ["segment_id", "size", "share", "buyer_share", "persona_name", "top_traits"]
    profiles = pd.DataFrame(rows, columns=columns).sort_values("segment_id").reset_index(drop=True)
    profiles["persona_name"] = _dedupe(profiles["persona_name"].tolist())
    return profiles, pd.DataFrame(feature_rows)


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def build_profiles(frame: pd.DataFrame, segment_ids: np.ndarray | pd.Series, features: Sequence[str],
                   cfg: PersonaConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """In-memory shortcut: summarize and finalize one frame."""
    return finalize_profiles(summarize_segments(frame, segment_ids, features), features, cfg)
