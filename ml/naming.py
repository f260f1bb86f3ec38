"""Stable segment names: a segment id keeps its name while the traits the name stands for still hold.

A name is made of traits (`search_share` high, `email_sessions` high ...) and a noun (buyers when at least
half the segment bought). That is the name's *rule*, stored with it in `segments.segment_catalog`. Before a
name is used (when a model is trained, and again on each scoring run's figures) its rule is checked against
the segment's own z-scores: each trait must keep its sign and reach `personas.keep_name_z` (lower than the
`z_threshold` that picks new traits, so a name does not flap around the threshold), and the noun must still
be true. If the rule holds the name is kept, whichever model scores; if not, the segment gets the name its
figures give now, "Typical buyers/visitors" (neutral) when no trait is strong, and the rename is an event
(old name, new name, why) in `segments.model_events`.

`segment_key` is given once per segment id (a slug of its first name) and never changes, so BI filters on
it survive renames; ids and keys are never reused for another segment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd

from .audit import record_event
from .config import PersonaConfig
from .personas import bound_violation, name_from_traits, persona_traits
from .warehouse import table


@dataclass(frozen=True)
class NameDecision:
    """The name a segment gets from one model / scoring run, and why."""

    segment_id: int
    segment_key: str
    name: str
    rule: dict[str, Any]  # {"traits": [[feature, "high"|"low"], ...], "buyers": bool}
    status: str  # new | kept | renamed
    old_name: str | None = None
    why: str = ""


@dataclass(frozen=True)
class CatalogEntry:
    segment_id: int
    segment_key: str
    segment_name: str
    rule: dict[str, Any] = field(default_factory=dict)


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "segment"


def name_rule(traits: Sequence[tuple[str, str]], buyer_share: float) -> dict[str, Any]:
    return {"traits": [[f, side] for f, side in traits], "buyers": bool(buyer_share >= 0.5)}


def check_rule(rule: Mapping[str, Any], z: Mapping[str, float], buyer_share: float,
               keep_z: float, means: Mapping[str, float] | None = None,
               cfg: PersonaConfig | None = None) -> tuple[bool, str]:
    """(holds, why) for a name's rule against a segment's z-scores, buyer share and (with `cfg`) the absolute
    bounds of its words on the segment's means."""
    held = []
    for feature, side in rule.get("traits") or []:
        value = z.get(feature)
        if value is None:
            return False, f"{feature} is no longer a model feature"
        violated = bound_violation(feature, side, (means or {}).get(feature), cfg) if cfg else None
        if violated:
            return False, f"{feature} {side} is not true of the segment: {violated}"
        if side == "high" and value < keep_z:
            return False, f"{feature} no longer high (z {value:+.2f} < +{keep_z})"
        if side == "low" and value > -keep_z:
            return False, f"{feature} no longer low (z {value:+.2f} > -{keep_z})"
        held.append(f"{feature} {value:+.2f}z")
    buyers = buyer_share >= 0.5
    if "buyers" in rule and bool(rule["buyers"]) != buyers:
        return False, f"buyer share {buyer_share:.0%} is now {'above' if buyers else 'below'} 50%"
    return True, "traits hold: " + (", ".join(held) if held else "no trait (neutral name)")


def _z_by_segment(features: pd.DataFrame, column: str = "z_score") -> dict[int, dict[str, float]]:
    out: dict[int, dict[str, float]] = {}
    if column not in features:
        return out
    for row in features.itertuples(index=False):
        out.setdefault(int(row.segment_id), {})[str(row.feature)] = float(getattr(row, column))
    return out


def decide_names(catalog: Mapping[int, CatalogEntry], profiles: pd.DataFrame, features: pd.DataFrame,
                 cfg: PersonaConfig) -> list[NameDecision]:
    """One decision per segment of `profiles` (segment_id, buyer_share) given its z-scores (`features`:
    segment_id, feature, z_score) and the current catalog. Pure: nothing is written."""
    z_all = _z_by_segment(features)
    means_all = _z_by_segment(features, "segment_mean")
    taken_keys = {e.segment_key for e in catalog.values()}
    decisions: list[NameDecision] = []
    for row in profiles.sort_values("segment_id").itertuples(index=False):
        seg, buyer_share = int(row.segment_id), float(row.buyer_share)
        z = pd.Series(z_all.get(seg, {}), dtype="float64")
        means = means_all.get(seg, {})
        entry = catalog.get(seg)
        if entry is not None:
            holds, why = check_rule(entry.rule, z.to_dict(), buyer_share, cfg.keep_name_z, means, cfg)
            if holds:
                decisions.append(NameDecision(seg, entry.segment_key, entry.segment_name, entry.rule, "kept",
                                              why=why))
                continue
        traits = persona_traits(z, cfg, means)
        name = name_from_traits(traits, buyer_share, cfg)
        rule = name_rule(traits, buyer_share)
        if entry is None:
            key = _unique(slug(name), taken_keys)
            taken_keys.add(key)
            decisions.append(NameDecision(seg, key, name, rule, "new", why="new segment"))
        elif name == entry.segment_name:  # same words from other traits: keep the name, refresh its rule
            decisions.append(NameDecision(seg, entry.segment_key, name, rule, "kept", why=why))
        else:
            decisions.append(NameDecision(seg, entry.segment_key, name, rule, "renamed", entry.segment_name, why))
    return _dedupe(decisions)


def _unique(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    n = 2
    while f"{base}_{n}" in taken:
        n += 1
    return f"{base}_{n}"


def _dedupe(decisions: list[NameDecision]) -> list[NameDecision]:
    """Two segments never share a name: kept names win, a fresh duplicate gets " (2)", " (3)" ..."""
    used = {d.name for d in decisions if d.status == "kept"}
    out = []
    for d in sorted(decisions, key=lambda d: (d.status != "kept", d.segment_id)):
        name = d.name
        if d.status != "kept":
            n = 2
            while name in used:
                name = f"{d.name} ({n})"
                n += 1
        used.add(name)
        out.append(d if name == d.name else NameDecision(d.segment_id, d.segment_key, name, d.rule, d.status,
                                                          d.old_name, d.why))
    return sorted(out, key=lambda d: d.segment_id)


def decisions_to_json(decisions: Sequence[NameDecision]) -> list[dict[str, Any]]:
    return [asdict(d) for d in decisions]


def decisions_from_json(data: Any) -> list[NameDecision]:
    items = json.loads(data) if isinstance(data, str) else (data or [])
    return [NameDecision(**item) for item in items]


def read_catalog(con: duckdb.DuckDBPyConnection, schema: str) -> dict[int, CatalogEntry]:
    rows = con.execute(f"select segment_id, segment_key, segment_name, name_rule "
                       f"from {table(schema, 'segment_catalog')}").fetchall()
    return {int(s): CatalogEntry(int(s), k, n, json.loads(r) if r else {}) for s, k, n, r in rows}


def next_segment_id(con: duckdb.DuckDBPyConnection, schema: str) -> int:
    """One above every segment id ever issued (never reuse an id for another segment)."""
    top = con.execute(f"select max(segment_id) from {table(schema, 'segment_catalog')}").fetchone()[0]
    return int(top or 0) + 1


def apply_names(con: duckdb.DuckDBPyConnection, schema: str, decisions: Sequence[NameDecision], *,
                model_version: str, reason: str, actor: str | None = None,
                run_id: str | None = None) -> list[NameDecision]:
    """Make `decisions` the catalog's current names (inside the caller's transaction) and record every
    new segment and every name that differs from the catalog's as an event. Returns the renames."""
    catalog = read_catalog(con, schema)
    keys = {e.segment_key for e in catalog.values()}
    now = datetime.now(UTC)
    renames = []
    for d in decisions:
        entry = catalog.get(d.segment_id)
        if entry is None:
            key = d.segment_key if d.segment_key not in keys else _unique(d.segment_key, keys)
            keys.add(key)
            con.execute(f"insert into {table(schema, 'segment_catalog')} values (?, ?, ?, ?, ?, ?, ?, ?)",
                        [d.segment_id, key, d.name, json.dumps(d.rule), model_version, now, model_version,
                         model_version])
            record_event(con, schema, "segment_named", model_version, reason=f"{reason}: new segment",
                         actor=actor, run_id=run_id, segment_id=d.segment_id, new_name=d.name,
                         details={"segment_key": key, "rule": d.rule})
            continue
        renamed = entry.segment_name != d.name
        con.execute(f"update {table(schema, 'segment_catalog')} set segment_name = ?, name_rule = ?, "
                    "last_model_version = ?, named_by_model_version = case when ? then ? "
                    "else named_by_model_version end, named_at = case when ? then ? else named_at end "
                    "where segment_id = ?",
                    [d.name, json.dumps(d.rule), model_version, renamed, model_version, renamed, now,
                     d.segment_id])
        if renamed:
            record_event(con, schema, "segment_renamed", model_version, reason=f"{reason}: {d.why}", actor=actor,
                         run_id=run_id, segment_id=d.segment_id, old_name=entry.segment_name, new_name=d.name,
                         details={"segment_key": entry.segment_key, "rule": d.rule})
            renames.append(NameDecision(d.segment_id, entry.segment_key, d.name, d.rule, "renamed",
                                        entry.segment_name, d.why))
    return renames


def current_names(con: duckdb.DuckDBPyConnection, schema: str,
                  fallback: Mapping[int, str]) -> tuple[dict[int, str], dict[int, str]]:
    """(segment_id -> name, segment_id -> key) from the catalog, `fallback` names for ids it lacks."""
    catalog = read_catalog(con, schema)
    names = {int(s): catalog[int(s)].segment_name if int(s) in catalog else n for s, n in fallback.items()}
    keys = {int(s): catalog[int(s)].segment_key if int(s) in catalog else slug(n) for s, n in fallback.items()}
    return names, keys
