"""The default features a deployment can use: the configured ones that its data populates.

A deployment without web analytics has no browsing columns, one without CRM exports no age or loyalty tier
(docs/own-data.md). Training on columns that are empty for everyone leaves no complete row (or a model whose
distances are imputation noise), so the configured features are narrowed to those populated in at least
`features.min_populated` of the rows before anything is fitted; `min_completeness` is then judged against
that set. When fewer than `min_completeness` of the configured numeric features are populated, the configured
set does not describe this deployment and `features.fallback_log1p` / `fallback_numeric` (RFM by default) are
used instead. What was left out, and why, goes into the model card (`features.chosen_from_data`); scoring uses
the champion's own feature lists, so it follows.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from .config import ConfigError, MLConfig


def choose_features(frame: pd.DataFrame, cfg: MLConfig) -> tuple[MLConfig, dict[str, Any]]:
    """(cfg with only the populated features, the record of the choice for the model card).

    A feature is populated when at least `min_populated` of the rows carry a value and it takes at least two
    values (one value for everyone separates nobody).
    """
    fc = cfg.features
    n = len(frame)
    share = {c: float(frame[c].notna().mean()) if n and c in frame else 0.0 for c in fc.all}
    left_out: dict[str, str] = {}
    for c in fc.numeric_all:
        if share[c] < fc.min_populated and c not in fc.fill_values:
            left_out[c] = f"populated in {share[c]:.1%} of rows (< min_populated {fc.min_populated:.0%})"
        elif c in frame and frame[c].dropna().nunique() < 2:
            left_out[c] = "one value for every row (e.g. 0 e-mail sessions without web data)"
    for c in fc.categorical:
        values = frame[c].dropna().nunique() if c in frame else 0
        if share[c] < fc.min_populated:
            left_out[c] = f"populated in {share[c]:.1%} of rows (< min_populated {fc.min_populated:.0%})"
        elif values < 2:
            left_out[c] = f"one value for every row ({values} distinct)"
    record: dict[str, Any] = {"populated_share": {c: round(v, 4) for c, v in share.items()},
                              "left_out": left_out, "min_populated": fc.min_populated}
    if not left_out:
        return cfg, record
    keep = {kind: tuple(c for c in getattr(fc, kind) if c not in left_out)
            for kind in ("log1p", "numeric", "categorical")}
    n_numeric = len(keep["log1p"]) + len(keep["numeric"])
    fallback = [c for c in fc.fallback_log1p + fc.fallback_numeric
                if c in frame and share.setdefault(c, float(frame[c].notna().mean()) if n else 0.0) >= fc.min_populated]
    if n_numeric < fc.min_completeness * len(fc.numeric_all) and fallback:
        keep["log1p"] = tuple(c for c in fc.fallback_log1p if c in fallback)
        keep["numeric"] = tuple(c for c in fc.fallback_numeric if c in fallback)
        record["fallback"] = (f"{n_numeric} of {len(fc.numeric_all)} configured numeric features populated "
                              f"(< min_completeness {fc.min_completeness}): the fallback set is used")
    if not keep["log1p"] and not keep["numeric"]:
        raise ConfigError("features", "no configured numeric feature is populated in the data: "
                          + "; ".join(f"{c}: {why}" for c, why in left_out.items()))
    features = dataclasses.replace(
        fc, **keep,
        fill_values={c: v for c, v in fc.fill_values.items() if c not in left_out},
        weights={c: w for c, w in fc.weights.items() if c not in left_out})
    return dataclasses.replace(cfg, features=features), record
