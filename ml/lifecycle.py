"""Who is champion, and how that changes: promotion, manual promotion, rollback, failed models.

Every change of the champion is one transaction that moves the `champion` alias, updates the registry
statuses, makes the new champion's segment names current (`ml.naming`) and writes audit rows
(`ml.audit`). The champion history is replayed from those rows: a promotion pushes a version, a rollback
pops back to the version it restored. `rollback` goes to the newest earlier champion that is not `failed`
and passes the fresh-process load check (`ml.load_check`); versions that fail it are marked `failed` on
the way, so they are never rolled back to.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from . import warehouse as wh
from .audit import read_events, record_event
from .load_check import LoadCheck, run_load_check
from .naming import apply_names, decisions_from_json
from .registry import CHAMPION, decode_row, get_alias, get_model_row, move_alias, row_trusted_prefixes

log = logging.getLogger(__name__)


class LifecycleError(RuntimeError):
    """A promotion or rollback that cannot be done (unknown version, nothing to roll back to, failed check)."""


def champion_stack(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """Champions from the oldest to the current one, as promotions and rollbacks left them."""
    stack: list[str] = []
    events = read_events(con, schema)
    for event, version in zip(events["event"], events["model_version"], strict=True):
        if event == "promoted":
            stack.append(version)
        elif event == "rolled_back":
            while stack and stack[-1] != version:
                stack.pop()
            if not stack:
                stack.append(version)
    alias = get_alias(con, schema, CHAMPION)
    if alias is not None and (not stack or stack[-1] != alias["model_version"]):  # registries from before events
        prev = alias.get("previous_model_version")
        stack = [*([prev] if isinstance(prev, str) else []), alias["model_version"]]
    return stack


def _status(con: duckdb.DuckDBPyConnection, schema: str, version: str) -> str | None:
    row = con.execute(f"select status from {wh.table(schema, 'model_registry')} where model_version = ?",
                      [version]).fetchone()
    return row[0] if row else None


def rollback_candidates(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """Earlier champions a rollback may go to, newest first (current and failed versions left out)."""
    stack = champion_stack(con, schema)
    current = stack[-1] if stack else None
    seen: set[str] = set()
    out = []
    for version in reversed(stack[:-1]):
        if version == current or version in seen or _status(con, schema, version) in {None, "failed"}:
            continue
        seen.add(version)
        out.append(version)
    return out


def recent_champions(con: duckdb.DuckDBPyConnection, schema: str, n: int) -> list[str]:
    """The last `n` distinct versions that were champion (current first), failed ones left out."""
    out: list[str] = []
    promoted = con.execute(f"select model_version from {wh.table(schema, 'model_events')} "
                           "where event in ('promoted', 'rolled_back') order by event_at desc, rowid desc").fetchall()
    alias = get_alias(con, schema, CHAMPION)
    ordered = ([alias["model_version"]] if alias else []) + [v for (v,) in promoted]
    for version in ordered:
        if version not in out and _status(con, schema, version) not in {None, "failed"}:
            out.append(version)
        if len(out) >= n:
            break
    return out


def check_model(con: duckdb.DuckDBPyConnection, schema: str, version: str, timeout: float = 300) -> LoadCheck:
    """The fresh-process load check of a registered version."""
    row = get_model_row(con, schema, version)
    if row is None:
        raise LifecycleError(f"model {version!r} is not in {schema}.model_registry")
    row = decode_row(row)
    artifact = Path(row["artifact_path"])
    return run_load_check(artifact, row["artifact_format"], row["artifact_sha256"], row_trusted_prefixes(row),
                          timeout=timeout)


def mark_failed(con: duckdb.DuckDBPyConnection, schema: str, version: str, why: str, *,
                actor: str | None = None, run_id: str | None = None) -> None:
    """Status `failed` and an audit row (the caller commits)."""
    con.execute(f"update {wh.table(schema, 'model_registry')} set status = 'failed', reason = ? "
                "where model_version = ?", [why, version])
    record_event(con, schema, "failed", version, reason=why, actor=actor, run_id=run_id)


def set_champion(con: duckdb.DuckDBPyConnection, schema: str, version: str, *, event: str, reason: str,
                 actor: str | None = None, run_id: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
    """Move the champion to `version` inside the caller's transaction: alias (with the next rollback target
    as `previous_model_version`), statuses, audit rows, segment names."""
    current = get_alias(con, schema, CHAMPION)
    current_version = current["model_version"] if current else None
    if current_version == version:
        return
    current_status = _status(con, schema, current_version) if current_version else None
    record_event(con, schema, event, version, reason=reason, actor=actor, run_id=run_id,
                 from_model_version=current_version, details=details)
    move_alias(con, schema, version, run_id or "", reason, previous=None)
    candidates = rollback_candidates(con, schema)  # replayed with this change: the next rollback's target
    con.execute(f"update {wh.table(schema, 'model_aliases')} set previous_model_version = ? where alias = ?",
                [candidates[0] if candidates else None, CHAMPION])
    if current_version and current_status != "failed":
        record_event(con, schema, "retired", current_version, reason=f"replaced by {version} ({event})",
                     actor=actor, run_id=run_id)
    row = decode_row(get_model_row(con, schema, version) or {})
    decisions = decisions_from_json(row.get("naming"))
    if decisions:
        apply_names(con, schema, decisions, model_version=version, reason=f"{event} {version}", actor=actor,
                    run_id=run_id)


@dataclass(frozen=True)
class ChampionChange:
    model_version: str
    from_model_version: str | None
    check: LoadCheck | None
    skipped: list[tuple[str, str]]  # (version, why) passed over by a rollback

    def as_dict(self) -> dict[str, Any]:
        return {"model_version": self.model_version, "from_model_version": self.from_model_version,
                "load_check": self.check.as_dict() if self.check else None,
                "skipped": [{"model_version": v, "why": w} for v, w in self.skipped]}


def _in_transaction(con: duckdb.DuckDBPyConnection, fn: Any) -> None:
    con.execute("begin transaction")
    try:
        fn()
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def promote(con: duckdb.DuckDBPyConnection, schema: str, version: str, *, reason: str, actor: str | None = None,
            load_check: bool = True, timeout: float = 300) -> ChampionChange:
    """Make a registered version champion by hand (any status but the current champion); it must pass the
    fresh-process load check first (a failed version that passes it now can be promoted again)."""
    wh.ensure_tables(con, schema)
    row = get_model_row(con, schema, version)
    if row is None:
        raise LifecycleError(f"model {version!r} is not in {schema}.model_registry "
                             "(`segwarehouse models list` shows the versions)")
    current = get_alias(con, schema, CHAMPION)
    if current is not None and current["model_version"] == version:
        raise LifecycleError(f"{version} is already the champion")
    check = check_model(con, schema, version, timeout) if load_check else None
    if check is not None and not check.ok:
        _in_transaction(con, lambda: mark_failed(con, schema, version, f"load check failed: {check.error}",
                                                 actor=actor))
        raise LifecycleError(f"{version} failed the fresh-process load check, not promoted: {check.error}")
    was = f" (was {row['status']}: {row['reason']})" if row["status"] in {"rejected", "failed"} else ""
    _in_transaction(con, lambda: set_champion(con, schema, version, event="promoted", reason=reason + was,
                                              actor=actor, details={"manual": True}))
    return ChampionChange(version, current["model_version"] if current else None, check, [])


def rollback(con: duckdb.DuckDBPyConnection, schema: str, *, reason: str, actor: str | None = None,
             load_check: bool = True, timeout: float = 300) -> ChampionChange:
    """Put the previous good champion back: the newest earlier champion that is not failed and passes the
    load check (versions failing it are marked failed and passed over)."""
    wh.ensure_tables(con, schema)
    current = get_alias(con, schema, CHAMPION)
    if current is None:
        raise LifecycleError("there is no champion to roll back from")
    skipped: list[tuple[str, str]] = []
    for version in rollback_candidates(con, schema):
        check = check_model(con, schema, version, timeout) if load_check else None
        if check is not None and not check.ok:
            why = f"load check failed: {check.error}"
            _in_transaction(con, lambda v=version, w=why: mark_failed(con, schema, v, w, actor=actor))
            skipped.append((version, why))
            continue
        _in_transaction(con, lambda v=version: set_champion(
            con, schema, v, event="rolled_back", reason=reason, actor=actor,
            details={"skipped": [s for s, _ in skipped]} if skipped else None))
        return ChampionChange(version, current["model_version"], check, skipped)
    raise LifecycleError(f"no earlier champion to roll back to from {current['model_version']}"
                         + (f" (failed the load check: {', '.join(v for v, _ in skipped)})" if skipped else ""))


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? "
                            "and table_name = ?", [schema, name]).fetchone()[0])


def list_models(con: duckdb.DuckDBPyConnection, schema: str) -> pd.DataFrame:
    """One row per registered version, newest first, with whether it is champion and its last event
    (read-only: works on a read-only connection, with tables of an older version)."""
    if not _has_table(con, schema, "model_registry"):
        return pd.DataFrame(columns=["model_version", "status", "is_champion"])
    events = f"""(select model_version, event, actor, event_at,
                         row_number() over (partition by model_version order by event_at desc) as n
                  from {wh.table(schema, 'model_events')} where event not in ('segment_named', 'segment_renamed'))""" \
        if _has_table(con, schema, "model_events") else \
        "(select null::varchar as model_version, null::varchar as event, null::varchar as actor, " \
        "null::timestamptz as event_at, 1 as n)"
    return con.execute(f"""
        select r.model_version, r.status, coalesce(r.model_version = a.model_version, false) as is_champion,
               r.created_at, r.algorithm, r.k, r.silhouette, r.stability as ari_mean, r.as_of_date,
               r.reason, e.event as last_event, e.actor as last_actor, e.event_at as last_event_at
        from {wh.table(schema, 'model_registry')} r
        left join {wh.table(schema, 'model_aliases')} a on a.alias = 'champion'
        left join {events} e on e.model_version = r.model_version and e.n = 1
        order by r.created_at desc""").df()


def show_model(con: duckdb.DuckDBPyConnection, schema: str, version: str) -> dict[str, Any]:
    """The model card (registry row, JSON decoded) with its audit events."""
    row = get_model_row(con, schema, version) if _has_table(con, schema, "model_registry") else None
    if row is None:
        raise LifecycleError(f"model {version!r} is not in {schema}.model_registry "
                             "(`segwarehouse models list` shows the versions)")
    card = decode_row(row)
    alias = get_alias(con, schema, CHAMPION)
    card["is_champion"] = bool(alias and alias["model_version"] == version)
    events = read_events(con, schema, version) if _has_table(con, schema, "model_events") else pd.DataFrame()
    card["events"] = events.drop(columns=["model_version"], errors="ignore").to_dict("records")
    return card
