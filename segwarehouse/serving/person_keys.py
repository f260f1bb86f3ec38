"""`lookup.person_keys` of the serving file: which person a customer id, anonymous id or e-mail HMAC names.

The segment lookup API (segwarehouse/segment_api) answers `GET /v1/persons/{key}` from it. Built at publish
from the warehouse's identity map (`main.int_person_map`):

* `customer_id`: every CRM customer id of the person (merged duplicates too, not only the primary one);
* `anonymous_id`: every device/cookie id stitched to the person; an id the identity guards rejected (a
  shared device) stands for a person of its own, as in the warehouse;
* `email_hmac`: HMAC-SHA256 of each of the person's normalised e-mail addresses, keyed like every other
  pseudonym (`segwarehouse.core.pii.pseudonymize`); a raw e-mail never enters the serving file. Placeholder
  addresses the guards rejected (test@test.com ...) are left out: they name nobody.

Only persons published in `main.user_profile_public` get keys. This module stays free of heavy imports: the
API process imports its names.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from segwarehouse.core.pii import pii_key, pseudonymize
from segwarehouse.core.sql import literal

SCHEMA = "lookup"
TABLE = f"{SCHEMA}.person_keys"
KEY_TYPES = ("customer_id", "anonymous_id", "email_hmac")
DDL = "key_type varchar, key_value varchar, person_id varchar"
IDENTITY_MAP = "main.int_person_map"


def build_person_keys(warehouse: str | Path, stage: str | Path, key: bytes | None = None) -> int:
    """Write `lookup.person_keys` into the (pseudonymizing) stage DuckDB file; returns its rows."""
    key = key or pii_key()
    with duckdb.connect(str(stage)) as con:
        con.create_function("pii_hmac", lambda value: pseudonymize(value, key), ["VARCHAR"], "VARCHAR",
                            side_effects=False)
        con.execute(f"attach {literal(str(Path(warehouse).resolve()))} as wh (read_only)")
        con.execute(f"create schema if not exists {SCHEMA}")
        has_map = con.execute("select count(*) from information_schema.tables where table_catalog = 'wh' "
                              "and table_schema = 'main' and table_name = 'int_person_map'").fetchone()[0]
        if not has_map:
            con.execute(f"create or replace table {TABLE} ({DDL})")
        else:
            con.execute(f"""create or replace table {TABLE} as
                select 'customer_id' as key_type, id_value as key_value, person_id
                from wh.{IDENTITY_MAP} where id_type = 'customer_id'
                union all
                select 'anonymous_id', id_value, person_id
                from wh.{IDENTITY_MAP} where id_type = 'anonymous_id'
                union all
                select 'email_hmac', pii_hmac(id_value), person_id
                from wh.{IDENTITY_MAP} where id_type = 'email' and not is_guard_rejected""")
        con.execute("detach wh")
        rows = con.execute(f"select count(*) from {TABLE}").fetchone()[0]
        con.execute("checkpoint")
    return int(rows)


def copy_statements(stage_alias: str, profile_table: str) -> list[str]:
    """Statements run in the new serving file: copy the keys of published persons from the attached stage."""
    return [
        f"create schema if not exists {SCHEMA}",
        f"""create table {TABLE} as
            select k.key_type, k.key_value, k.person_id from {stage_alias}.{TABLE} k
            where k.person_id in (select person_id from {profile_table})
            order by k.key_type, k.key_value""",
    ]

