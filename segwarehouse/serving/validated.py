"""The validated profile snapshot: the profiles that passed the quality gate and are (being) served.

dbt rebuilds `main.dim_user_profile` in place, so between a build and its gate the live mart holds profiles no
one has checked, and a re-run of an older day leaves the mart at that older day. Everything downstream of the
gate therefore reads `validated.dim_user_profile` instead: a copy taken, under the writer lock, only after a
passing gate and only when its day is not older than the one served. Scoring, training, experiments and the
serving file all read this copy, so served profiles and segments always come from one validated day.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

SCHEMA = "validated"
LIVE_PROFILE = "main.dim_user_profile"          # dbt's mart, rebuilt in place by every build
VALIDATED_PROFILE = f"{SCHEMA}.dim_user_profile"


class NoValidatedProfiles(RuntimeError):
    """Nothing has passed the gate yet: no day was published since the warehouse was created."""


def snapshot_profiles(warehouse: str | Path) -> dict:
    """Copy the live mart (just validated by the gate) to `validated.dim_user_profile`, in one transaction."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute("begin")
        con.execute(f"create schema if not exists {SCHEMA}")
        con.execute(f"create or replace table {VALIDATED_PROFILE} as select * from {LIVE_PROFILE}")
        con.execute("commit")
        rows, as_of = con.execute(f"select count(*), max(as_of_date) from {VALIDATED_PROFILE}").fetchall()[0]
    return {"rows": int(rows), "as_of_date": str(as_of) if as_of else None}


def validated_as_of(con: duckdb.DuckDBPyConnection) -> date | None:
    """The day of the validated snapshot on an open warehouse connection, None before the first one."""
    found = con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                        [SCHEMA, "dim_user_profile"]).fetchall()[0][0]
    return con.execute(f"select max(as_of_date) from {VALIDATED_PROFILE}").fetchall()[0][0] if found else None


def served_as_of(serving: str | Path) -> date | None:
    """The as_of_date BI currently reads from the serving file, None before the first publish."""
    serving = Path(serving)
    if not serving.exists():
        return None
    with duckdb.connect(str(serving), read_only=True) as con:
        found = con.execute("select count(*) from information_schema.tables where table_name = 'dim_user_profile'"
                            ).fetchall()[0][0]
        return con.execute("select max(as_of_date) from dim_user_profile").fetchall()[0][0] if found else None
