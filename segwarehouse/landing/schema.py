"""The `landing` schema of the warehouse: the file ledger (this module is its only DDL)."""

from __future__ import annotations

import duckdb

SCHEMA = "landing"
LEDGER = f"{SCHEMA}.file_ledger"
EVENTS = f"{SCHEMA}.file_ledger_events"
PENDING = f"{SCHEMA}.full_refresh_pending"
DDL = [
    f"create schema if not exists {SCHEMA}",
    f"""create table if not exists {LEDGER} (
        source_file varchar primary key,  -- path below the landing-zone root, '/'-separated
        source_name varchar,              -- crm_contacts, web_events, ... (null when not under a source)
        delivery_date date,               -- from the date= partition (null when there is none)
        size_bytes bigint,
        content_hash varchar,             -- sha256 of the bytes (null for links and non-regular files)
        status varchar not null,          -- new | changed | loaded | reloaded | ignored | rejected | missing
        reason varchar,
        loaded_hash varchar,              -- the content whose lines the warehouse holds (null: none)
        first_seen_at timestamp not null,
        changed_at timestamp not null,    -- last change of content or classification
        scanned_at timestamp not null,
        loaded_at timestamp,
        stat_key varchar                  -- device:inode:size:mtime_ns:ctime_ns of the hashed version
    )""",
    f"""create table if not exists {EVENTS} (
        event_at timestamp not null,
        source_file varchar not null,
        event varchar not null,           -- found | changed | ignored | rejected | missing | returned | loaded | reloaded
        content_hash varchar,
        size_bytes bigint,
        reason varchar
    )""",
    f"""create table if not exists {PENDING} (
        as_of_date date not null,
        reason varchar not null,
        set_at timestamp not null
    )""",
]


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    for statement in DDL:
        con.execute(statement)
