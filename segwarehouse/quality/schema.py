"""The `quality` schema of the warehouse: what the gate records (this module is its only writer of DDL)."""

from __future__ import annotations

import duckdb

SCHEMA = "quality"
RUNS = f"{SCHEMA}.data_quality_runs"
SAMPLES = f"{SCHEMA}.data_quality_samples"
BASELINES = f"{SCHEMA}.profile_baselines"

TABLES: dict[str, str] = {
    # one row per suite per gate run; failed_summary quotes no row value (it is published)
    "data_quality_runs": """
        run_id varchar not null, suite varchar not null, success boolean not null, n_expectations integer not null,
        n_failed integer not null, failed_summary varchar, started_at timestamptz not null, duration_s double not null,
        result_path varchar, table_name varchar, n_rows bigint, validated_from timestamp, validated_through timestamp,
        skipped_summary varchar""",
    # the unredacted failures (sample values, row keys): warehouse only, never published; erasure deletes rows
    "data_quality_samples": """
        run_id varchar not null, suite varchar not null, table_name varchar not null, expectation_type varchar not null,
        column_name varchar, description varchar not null""",
    # whole-table statistics of every passing run: the next run's drift checks are bounded by them
    "profile_baselines": """
        run_id varchar not null, table_name varchar not null, schema_name varchar not null,
        recorded_at timestamptz not null, row_count bigint not null, monetary_mean double, monetary_stddev double,
        distinct_person_ids bigint, as_of_date date""",
}


def ddl(table: str) -> str:
    """Column definitions of one quality table (also used for the empty stand-ins of the serving file)."""
    return TABLES[table]


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the schema and its tables; a table created by an older version gets the columns added since."""
    con.execute(f"create schema if not exists {SCHEMA}")
    for table, columns in TABLES.items():
        con.execute(f"create table if not exists {SCHEMA}.{table} ({columns})")
        have = {r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [SCHEMA, table]).fetchall()}
        for definition in columns.split(","):
            name, _, col_type = definition.strip().partition(" ")
            if name not in have:
                con.execute(f"alter table {SCHEMA}.{table} add column {name} {col_type.replace('not null', '')}")
