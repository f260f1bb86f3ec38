"""The erasure audit table (this module is its only DDL): one row per erasure, an HMAC of the subject only."""

from __future__ import annotations

import duckdb

AUDIT_TABLE = "main.privacy_erasure_audit"
AUDIT_COLUMNS = """erased_at timestamp, run_name varchar, subject_hmac varchar, persons integer, identifiers integer,
    raw_lines_removed integer"""


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create table if not exists {AUDIT_TABLE} ({AUDIT_COLUMNS})")
