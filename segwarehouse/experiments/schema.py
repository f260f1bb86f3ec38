"""The `experiments` schema: the one place its tables are defined (warehouse and serving stand-ins alike)."""

from __future__ import annotations

import duckdb

SCHEMA = "experiments"

TABLES: dict[str, str] = {
    # one row per configured experiment, rewritten by every refresh (what the results were computed for)
    "definitions": """
        experiment varchar primary key, description varchar, salt varchar, start_date date, end_date date,
        holdout_share double, control_variant varchar, variants varchar, targets varchar, primary_metric varchar, metrics varchar,
        requires_consent boolean, retrospective boolean, updated_at timestamptz""",
    # one row per experiment x person id ever assigned; a merged-away id keeps its row with superseded_by set
    "assignments": """
        experiment varchar, person_id varchar, variant varchar, bucket double, segment_type varchar,
        segment_id varchar, segment_name varchar, assigned_date date, assigned_at timestamptz, run_id varchar,
        inherited_from varchar, superseded_by varchar, superseded_at timestamptz,
        primary key (experiment, person_id)""",
    # one row per refresh run x experiment x segment x arm x metric (the `all` segment pools the segments)
    "results": """
        run_id varchar, experiment varchar, segment_type varchar, segment_id varchar, segment_name varchar,
        variant varchar, is_control boolean, is_holdout boolean, metric varchar, metric_kind varchar,
        is_primary boolean, window_days integer, persons_assigned bigint, persons bigint, exposed bigint,
        conversions double, rate double, rate_ci_low double, rate_ci_high double, abs_lift double,
        abs_lift_ci_low double, abs_lift_ci_high double, rel_lift double, rel_lift_ci_low double,
        rel_lift_ci_high double, p_value double, p_value_holm double, is_significant boolean, mde_abs double,
        srm_p_value double, is_srm boolean, is_too_small boolean, warnings varchar, as_of_date date,
        is_final boolean, computed_at timestamptz""",
}


def qualified(name: str) -> str:
    if name not in TABLES:
        raise KeyError(f"unknown experiments table {name!r}")
    return f"{SCHEMA}.{name}"


def ddl(name: str) -> str:
    """Column list of a table without constraints (for empty stand-ins in the serving file)."""
    return TABLES[name].replace(",\n        primary key (experiment, person_id)", "")


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {SCHEMA}")
    for name, columns in TABLES.items():
        con.execute(f"create table if not exists {SCHEMA}.{name} ({columns})")
