"""The registry's audit trail, `segments.model_events`: one row per promotion, rollback, retirement,
rejection, failed load check and segment rename, saying who did what and why.

Who: `SEGWAREHOUSE_ACTOR` when set (e.g. a CI job or an on-call rota sets it), else the operating-system user;
the run id says which training or scoring run acted.
"""

from __future__ import annotations

import getpass
import json
import os
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd

from .warehouse import table

ACTOR_ENV = "SEGWAREHOUSE_ACTOR"
EVENTS = ("promoted", "rejected", "retired", "rolled_back", "failed", "segment_named", "segment_renamed")


def current_actor() -> str:
    explicit = os.environ.get(ACTOR_ENV, "").strip()
    if explicit:
        return explicit
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return f"uid {os.getuid()}"


def record_event(con: duckdb.DuckDBPyConnection, schema: str, event: str, model_version: str | None, *,
                 reason: str, actor: str | None = None, run_id: str | None = None,
                 from_model_version: str | None = None, segment_id: int | None = None,
                 old_name: str | None = None, new_name: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
    """Append one audit row (inside the caller's transaction, so it commits with the change it records)."""
    if event not in EVENTS:
        raise ValueError(f"unknown registry event {event!r}; expected one of {EVENTS}")
    con.execute(
        f"insert into {table(schema, 'model_events')} (event_at, event, model_version, from_model_version, actor, "
        "reason, run_id, segment_id, old_name, new_name, details) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [datetime.now(UTC), event, model_version, from_model_version, actor or current_actor(), reason, run_id,
         segment_id, old_name, new_name, json.dumps(details, sort_keys=True, default=str) if details else None])


def read_events(con: duckdb.DuckDBPyConnection, schema: str, model_version: str | None = None) -> pd.DataFrame:
    """Events in the order they happened (one model's, or all)."""
    where, params = ("where model_version = ?", [model_version]) if model_version else ("", [])
    return con.execute(f"select * from {table(schema, 'model_events')} {where} order by event_at, rowid",
                       params).df()
