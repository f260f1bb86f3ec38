"""Rule segments from documented thresholds (config `rules`), beside the learned segments.

A rule is `{id, name, all: [conditions], any: [conditions]}`; a condition is `{column, op, value}` or a
nested group `{all: [...]}` / `{any: [...]}` (for "A and B, or C and D"). No expressions are evaluated:
only the operators below exist. Missing values never match (except is_null).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

_OPS: dict[str, Callable[[pd.Series, Any], pd.Series]] = {
    ">": lambda s, v: s > v,
    ">=": lambda s, v: s >= v,
    "<": lambda s, v: s < v,
    "<=": lambda s, v: s <= v,
    "==": lambda s, v: s == v,
    "!=": lambda s, v: s.notna() & (s != v),
    "between": lambda s, v: (s >= v[0]) & (s <= v[1]),
    "in": lambda s, v: s.isin(list(v)),
    "is_null": lambda s, v: s.isna(),
    "not_null": lambda s, v: s.notna(),
}


def _conditions(group: dict[str, Any]) -> list[dict[str, Any]]:
    return [*(group.get("all") or []), *(group.get("any") or [])]


def _is_group(cond: dict[str, Any]) -> bool:
    return "column" not in cond and bool(cond.get("all") or cond.get("any"))


def _validate_group(rule_id: str, group: dict[str, Any]) -> None:
    for cond in _conditions(group):
        if not isinstance(cond, dict):
            raise ValueError(f"rule {rule_id}: bad condition {cond!r}")
        if _is_group(cond):
            _validate_group(rule_id, cond)
            continue
        if cond.get("op") not in _OPS or "column" not in cond:
            raise ValueError(f"rule {rule_id}: bad condition {cond}; ops: {sorted(_OPS)}")
        if cond["op"] == "between" and len(cond.get("value") or []) != 2:
            raise ValueError(f"rule {rule_id}: between needs [low, high]")


def validate_rules(rules: Sequence[dict[str, Any]]) -> None:
    """Raise on unknown operators, missing keys or duplicate ids, before any data is read."""
    seen = set()
    for rule in rules:
        if not {"id", "name"} <= set(rule) or not (rule.get("all") or rule.get("any")):
            raise ValueError(f"rule needs id, name and a non-empty `all` or `any`: {rule}")
        if rule["id"] in seen:
            raise ValueError(f"duplicate rule id {rule['id']!r}")
        seen.add(rule["id"])
        _validate_group(rule["id"], rule)


def rule_columns(rules: Sequence[dict[str, Any]]) -> list[str]:
    """Columns the rules read."""
    cols: set[str] = set()

    def walk(group: dict[str, Any]) -> None:
        for cond in _conditions(group):
            if _is_group(cond):
                walk(cond)
            else:
                cols.add(cond["column"])

    for rule in rules:
        walk(rule)
    return sorted(cols)


def _condition(frame: pd.DataFrame, cond: dict[str, Any]) -> np.ndarray:
    if _is_group(cond):
        return _group(frame, cond)
    column = frame[cond["column"]]
    if column.dtype == object or pd.api.types.is_extension_array_dtype(column.dtype):
        if not pd.api.types.is_string_dtype(column.dtype) and cond["op"] not in {"==", "!=", "in"}:
            column = pd.to_numeric(column, errors="coerce")
    result = _OPS[cond["op"]](column, cond.get("value"))
    return pd.Series(result, index=frame.index).fillna(False).to_numpy(dtype=bool)


def _group(frame: pd.DataFrame, group: dict[str, Any]) -> np.ndarray:
    """AND of `all`, AND (OR of `any`)."""
    mask = np.ones(len(frame), dtype=bool)
    for cond in group.get("all") or []:
        mask &= _condition(frame, cond)
    if group.get("any"):
        mask &= np.logical_or.reduce([_condition(frame, c) for c in group["any"]])
    return mask


def rule_matches(frame: pd.DataFrame, rules: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Boolean frame, one column per rule id, one row per input row."""
    return pd.DataFrame({rule["id"]: _group(frame, rule) for rule in rules}, index=frame.index)


def assign_rule_segments(frame: pd.DataFrame, rules: Sequence[dict[str, Any]],
                         id_column: str = "person_id") -> pd.DataFrame:
    """Long table: one row per (person, matched rule) with segment_id = rule id and segment_name."""
    matches = rule_matches(frame, rules)
    names = {r["id"]: r["name"] for r in rules}
    parts = [pd.DataFrame({id_column: frame.loc[matches[rid].to_numpy(), id_column].to_numpy(),
                           "segment_id": rid, "segment_name": names[rid]}) for rid in matches.columns]
    if not parts:
        return pd.DataFrame(columns=[id_column, "segment_id", "segment_name"])
    return pd.concat(parts, ignore_index=True)
