"""The `segments` schema (the segmentation stage owns it: this module is its only DDL) and its idempotent writes.

Every table lives in the configured output schema (default `segments`). Per-run tables are written as
"delete this run's rows, insert" inside one transaction, so re-running a run id replaces, never appends.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import pandas as pd

from segwarehouse.core.sql import column_definitions, ident

TABLES: dict[str, str] = {
    "model_registry": """
        model_version varchar primary key, run_id varchar, created_at timestamptz, algorithm varchar,
        params varchar, features varchar, k integer, as_of_date date, source_relation varchar,
        n_rows_train bigint, n_rows_population bigint, metrics varchar, segment_map varchar,
        segment_names varchar, centroids varchar, library_versions varchar, code_version varchar,
        artifact_path varchar, artifact_format varchar, artifact_sha256 varchar, compared_to varchar,
        decision varchar, decision_reasons varchar, n_rows bigint, silhouette double, stability double,
        min_segment_share double, status varchar, reason varchar, config_sha256 varchar, config varchar,
        settings varchar, data_from date, data_to date, comparison varchar, gate_checks varchar,
        artifact_note varchar, trusted_prefixes varchar, load_check varchar, naming varchar,
        noise_share double""",
    "model_aliases": """
        alias varchar primary key, model_version varchar, previous_model_version varchar,
        run_id varchar, updated_at timestamptz, reason varchar""",
    # audit trail of the registry: promotions, rollbacks, retirements, rejections, failed loads, renames
    "model_events": """
        event_at timestamptz, event varchar, model_version varchar, from_model_version varchar, actor varchar,
        reason varchar, run_id varchar, segment_id integer, old_name varchar, new_name varchar,
        details varchar""",
    # one row per segment id ever issued: its stable key and current name, and the rule the name stands for
    "segment_catalog": """
        segment_id integer primary key, segment_key varchar, segment_name varchar, name_rule varchar,
        named_by_model_version varchar, named_at timestamptz, first_model_version varchar,
        last_model_version varchar""",
    "model_selection": """
        run_id varchar, model_version varchar, k integer, n_segments integer, silhouette double,
        inertia double, bic double, min_segment_share double, fit_seconds double, is_knee boolean,
        criterion_used varchar, selected boolean, noise_share double""",
    "model_stability": """
        run_id varchar, model_version varchar, segment_id integer, sample_size bigint, mean_jaccard double,
        min_jaccard double, status varchar, ari_median double, n_bootstrap integer""",
    "segment_assignments": """
        person_id varchar, segment_id integer, segment_name varchar, probability double, distance double,
        feature_completeness double, model_version varchar, run_id varchar, as_of_date date,
        scored_at timestamptz, confidence double, segment_key varchar""",
    "segment_history": """
        person_id varchar, segment_id integer, segment_name varchar, probability double, distance double,
        feature_completeness double, model_version varchar, run_id varchar, as_of_date date,
        scored_at timestamptz, confidence double, segment_key varchar""",
    "segment_profiles": """
        run_id varchar, model_version varchar, segment_id integer, segment_name varchar, size bigint,
        share double, buyer_share double, persona_name varchar, top_traits varchar, as_of_date date,
        scored_at timestamptz, segment_key varchar""",
    "segment_profile_features": """
        run_id varchar, segment_id integer, feature varchar, segment_mean double, population_mean double,
        population_std double, z_score double""",
    "rule_segment_assignments": """
        person_id varchar, segment_id varchar, segment_name varchar, run_id varchar, as_of_date date,
        scored_at timestamptz""",
    "feature_histograms": """
        run_id varchar, feature varchar, bin integer, lower double, upper double, category varchar,
        count double, scored_at timestamptz""",
    "drift_metrics": """
        run_id varchar, reference_run_id varchar, kind varchar, name varchar, psi double, status varchar,
        computed_at timestamptz""",
}
# views over the tables above (created after them); `champion` is the BI-friendly face of the pointer
VIEWS: dict[str, str] = {
    "champion": """
        select a.alias, a.model_version, a.previous_model_version, a.run_id as promoted_by_run_id,
               a.updated_at as promoted_at, a.reason, r.algorithm, r.k, r.as_of_date, r.silhouette,
               r.stability, r.min_segment_share, r.artifact_path, r.artifact_format
        from {schema}.model_aliases a
        left join {schema}.model_registry r on r.model_version = a.model_version
        where a.alias = 'champion'""",
}
PER_RUN_TABLES = ("model_selection", "model_stability", "segment_history", "segment_profiles",
                  "segment_profile_features", "feature_histograms", "drift_metrics")


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), read_only=read_only)


def ensure_tables(con: duckdb.DuckDBPyConnection, schema: str) -> None:
    """Create the output schema and tables if missing (identifiers come from the validated config); a table
    created by an older version gets the columns added since (as nulls)."""
    con.execute(f"create schema if not exists {ident(schema)}")
    for name, columns in TABLES.items():
        con.execute(f"create table if not exists {table(schema, name)} ({columns})")
        have = {r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [schema, name]).fetchall()}
        for col, col_type in column_definitions(columns):
            if col not in have:
                con.execute(f"alter table {table(schema, name)} add column {ident(col)} "
                            f"{col_type.replace('primary key', '').strip()}")
    for name, sql in VIEWS.items():
        con.execute(f"create or replace view {ident(schema)}.{ident(name)} as {sql.format(schema=ident(schema))}")


def table(schema: str, name: str) -> str:
    if name not in TABLES:
        raise KeyError(f"unknown segments table {name!r}")
    return f"{ident(schema)}.{ident(name)}"


def quote_relation(relation: str) -> str:
    """`a.b` -> `"a"."b"` (the config validator allows identifiers only)."""
    return ".".join(ident(part) for part in relation.split("."))


def insert_frame(con: duckdb.DuckDBPyConnection, schema: str, name: str, frame: pd.DataFrame) -> None:
    """Append a frame by column name (missing table columns become null)."""
    if frame.empty:
        return
    con.register("_ml_insert", frame)
    try:
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        con.execute(f"insert into {table(schema, name)} ({cols}) select {cols} from _ml_insert")
    finally:
        con.unregister("_ml_insert")


def delete_run(con: duckdb.DuckDBPyConnection, schema: str, names: Sequence[str], run_id: str) -> None:
    for name in names:
        con.execute(f"delete from {table(schema, name)} where run_id = ?", [run_id])


def read_frame(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
    return con.execute(sql, list(params)).df()
