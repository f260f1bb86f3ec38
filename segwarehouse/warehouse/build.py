"""Building the warehouse: the landing zone scanned into the file ledger, then `dbt build` as of a day."""

from __future__ import annotations

import logging
from datetime import date

import duckdb

from segwarehouse.core.paths import Paths
from segwarehouse.landing import ledger
from segwarehouse.warehouse.dbt import DbtResult, run_dbt, scan_landing
from segwarehouse.warehouse.dbt_vars import project_var
from segwarehouse.warehouse.identity.matching import match_contacts, match_threshold, matching_enabled

log = logging.getLogger(__name__)


# dbt layers as separate, observable steps (each builds its models and runs their tests)
DBT_LAYERS = {
    "staging": "resource_type:seed path:models/staging",
    "identity_and_facts": "path:models/intermediate/identity path:models/intermediate/web "
                          "path:models/intermediate/quality path:models/intermediate/shop path:models/marts/identity "
                          "fct_events fct_sessions fct_orders",
    "profiles": "path:models/intermediate/features dim_user_profile",
}
# the layer the probabilistic matching step (segwarehouse.warehouse.identity) runs before: it reads staging's
# stg_crm__contacts and writes the dbt source identity.probabilistic_links that the identity models read
MATCHING_BEFORE = "identity_and_facts"


def build(day: date, paths: Paths, *, full_refresh: bool = False, layer: str | None = None) -> dict:
    """`dbt build` (seeds, models, data tests) for the run date, all layers or one of DBT_LAYERS.

    The landing zone is scanned into the file ledger first. The build becomes a full refresh when an
    incremental one would give another warehouse (segwarehouse.landing.ledger.full_refresh_reasons: a past
    day re-run, files new or changed in partitions the incremental models no longer re-read, or an earlier
    full refresh that did not finish); the reasons are returned and logged. A full refresh stays pending
    until every layer has been rebuilt, so the DAG's layer tasks (and their retries) all rebuild.

    Before the identity layer, the probabilistic matching step (segwarehouse.warehouse.identity.matching) scores
    the CRM contacts staging built: a whole build runs dbt for staging, the step, then dbt for the rest; the
    `identity_and_facts` layer runs the step first. A full refresh rescores every pair.

    An incremental build tests the rows its models wrote and leaves the tests tagged `whole_table` to full
    builds and the weekly check (segwarehouse.warehouse.whole_table_tests).
    dbt unit tests are left out, as dbt recommends for production runs: they check the SQL against fixed
    fixtures, not the day's data, so the test suite and CI run them on every change instead.
    """
    if layer is not None and layer not in DBT_LAYERS:
        raise ValueError(f"unknown dbt layer {layer!r}; expected one of {sorted(DBT_LAYERS)}")
    match_threshold(), matching_enabled()  # a bad setting fails before anything is built
    scanned = scan_landing(paths)
    with duckdb.connect(str(paths.warehouse)) as con:
        reasons = ledger.full_refresh_reasons(con, day, int(project_var(paths, "lookback_days")))
        if full_refresh and not reasons:
            reasons = ["asked for (--full-refresh)"]
        if reasons:
            ledger.set_pending(con, day, reasons)
            log.warning("full refresh as of %s: %s", day, "; ".join(reasons))
    full = bool(reasons)
    args = ["build", *(["--full-refresh"] if full else []), "--exclude-resource-type", "unit_test"]
    if not full:  # whole-table link tests: full builds and the weekly check (segwarehouse.warehouse.whole_table_tests)
        args += ["--exclude", "tag:whole_table"]
    vars_ = {"as_of_date": day.isoformat()}
    matching = None
    if layer:
        if layer == MATCHING_BEFORE:
            matching = match_contacts(paths, day, full=full)
        # "buildable": a test runs with the layer that completes its parents (fct_orders -> fx_rates in marts)
        args += ["--select", DBT_LAYERS[layer], "--indirect-selection", "buildable"]
        result = run_dbt(args, paths=paths, vars=vars_)
    else:
        # the matching step reads staging and feeds the identity layer: dbt runs before and after it
        first = run_dbt([*args, "--select", DBT_LAYERS["staging"], "--indirect-selection", "buildable"],
                        paths=paths, vars=vars_)
        matching = match_contacts(paths, day, full=full)
        result = run_dbt([*args, "--exclude", DBT_LAYERS["staging"], "--indirect-selection", "buildable"],
                         paths=paths, vars=vars_)
        result = DbtResult(args=args, nodes=first.nodes + result.nodes, seconds=round(first.seconds + result.seconds, 2))
    if full and (layer is None or layer == list(DBT_LAYERS)[-1]):
        with duckdb.connect(str(paths.warehouse)) as con:
            ledger.clear_pending(con)
    return {"as_of_date": day.isoformat(), "layer": layer or "all", "full_refresh": full,
            "full_refresh_reasons": reasons, "landing": scanned, "nodes": result.counts(), "matching": matching,
            "seconds": result.seconds, "slowest": sorted(result.nodes, key=lambda n: -n["seconds"])[:8],
            "rows": warehouse_row_counts(paths)}


# rows per relation for run summaries; a view is counted through the table it reads row for row (counting
# the event views themselves means running their joins over the whole history)
# stg_web__events: the valid lines minus the re-delivered copies (a subset of them, one row each)
_EVENT_COUNT = ("select (select count(*) from main.base_web__event_lines where reject_reason is null)"
                " - (select count(*) from main.base_web__event_redeliveries)")
_ROW_COUNTS = {
    "base_web__event_lines": "select count(*) from main.base_web__event_lines",
    "stg_web__events": _EVENT_COUNT,
    "stg_crm__contacts": "select count(*) from main.stg_crm__contacts",
    "stg_shop__orders": "select count(*) from main.stg_shop__orders",
    "int_quarantine_rows": "select count(*) from main.int_quarantine_rows",
    # the events with their person: left joins on int_person_map's unique node key keep one row per event
    "fct_events": _EVENT_COUNT,
    "fct_sessions": "select count(*) from main.int_sessions_sessionized",
    "fct_orders": "select count(*) from main.fct_orders",
    "dim_user_profile": "select count(*) from main.dim_user_profile",
}


def warehouse_row_counts(paths: Paths) -> dict[str, int]:
    """Rows per relation of the warehouse, for summaries (the relations that exist yet)."""
    needs = {"stg_web__events": "base_web__event_redeliveries", "fct_events": "base_web__event_redeliveries",
             "fct_sessions": "int_sessions_sessionized"}
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        present = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        return {name: con.execute(sql).fetchone()[0] for name, sql in _ROW_COUNTS.items()
                if name in present and needs.get(name, name) in present}
