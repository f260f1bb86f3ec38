"""Schema `identity`: the tables the matching step owns (docs/warehouse.md, "Probabilistic matching")."""

from __future__ import annotations

import duckdb

SCHEMA = "identity"
LINKS = f"{SCHEMA}.probabilistic_links"  # dbt source identity.probabilistic_links
EXPLANATIONS = f"{SCHEMA}.probabilistic_link_explanations"
SCORES = f"{SCHEMA}.match_scores"  # every scored candidate pair above the score floor (Splink's output)
INPUT = f"{SCHEMA}.match_input"  # the contacts as last scored (an incremental run compares against them)
RUNS = f"{SCHEMA}.match_runs"
REGISTRY = f"{SCHEMA}.model_registry"

_DDL = [
    f"create schema if not exists {SCHEMA}",
    f"""create table if not exists {LINKS} (
        customer_id_l varchar not null, customer_id_r varchar not null, match_probability double not null,
        match_weight double not null, model_version varchar not null)""",
    f"""create table if not exists {EXPLANATIONS} (
        customer_id_l varchar not null, customer_id_r varchar not null, step integer not null,
        comparison varchar not null, comparison_level integer, level_label varchar, match_weight double,
        value_l varchar, value_r varchar, model_version varchar not null)""",
    f"""create table if not exists {RUNS} (
        run_at timestamp not null, as_of_date date, model_version varchar not null, mode varchar not null,
        contacts bigint, eligible bigint, delta bigint, gone bigint, scored_pairs bigint, links bigint,
        vetoed_by_rule bigint, vetoed_by_list bigint, threshold double, seconds double)""",
    f"""create table if not exists {REGISTRY} (
        model_version varchar primary key, trained_at timestamp not null, path varchar not null,
        trained_on_contacts bigint, probability_two_random_records_match double, seconds double)""",
    # how the version came into this warehouse: trained here, or adopted from the models folder
    f"alter table {REGISTRY} add column if not exists source varchar",
]


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in _DDL:
        con.execute(ddl)
