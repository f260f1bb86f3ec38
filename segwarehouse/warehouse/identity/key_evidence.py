"""E-mail and phone as evidence for the pairs that probabilistic matching decides.

A pair sharing an e-mail or a phone is linked by the deterministic rules whatever it scores, so the model's score
only matters for pairs that share neither. Among those, a true duplicate is a second sign-up that left its e-mail
or phone out, or gave new ones: how often each happens to one person's records (m) is a property of these pairs
alone, and expectation maximisation, which sees every pair of its blocks (the shared-key duplicates among them),
cannot estimate it. It is estimated here instead, in one expectation-maximisation step on the pairs of a block that
share neither key: each pair counts with its match probability from every other comparison.
"""

from __future__ import annotations

import copy
import logging

import duckdb
from splink import block_on

from segwarehouse.warehouse.identity.settings import ONE_SIDE_ONLY
from segwarehouse.warehouse.identity.splink_run import linker_for

log = logging.getLogger(__name__)

KEY_COLUMNS = ("email", "phone")
# names and birth year: a block rich in duplicates that stays small as contacts grow (the prediction rule of the
# same columns; m of a key comparison does not depend on the block, given that a pair is a match)
BLOCK = ("first_name", "last_name", "year(birth_date)")


def _unlinkable_rule() -> str:
    sql = block_on(*BLOCK).get_blocking_rule("duckdb").blocking_rule_sql
    return sql + "".join(f" and not coalesce(l.{c} = r.{c}, false)" for c in KEY_COLUMNS)


def estimate_key_m(con: duckdb.DuckDBPyConnection, table: str, model: dict) -> dict:
    """`model` (trained settings) with the m probabilities of the e-mail and phone levels 'given on one side only'
    and 'all other comparisons' estimated on the pairs of table `table` that share no key; the exact level keeps
    its value (such pairs are linked deterministically). Unchanged when those pairs carry no evidence of a match."""
    others = copy.deepcopy(model)
    others["comparisons"] = [c for c in others["comparisons"] if c["output_column_name"] not in KEY_COLUMNS]
    others["blocking_rules_to_generate_predictions"] = [{"blocking_rule": _unlinkable_rule(), "sql_dialect": "duckdb"}]
    others["additional_columns_to_retain"] = list(KEY_COLUMNS)
    others["retain_intermediate_calculation_columns"] = False
    sums: dict[str, tuple[float, float]] = {}
    with linker_for(con, table, others) as linker:
        pairs = linker.inference.predict(warning_mode="never").physical_name
        for c in KEY_COLUMNS:
            one_side, other = con.execute(f"""
                select sum(match_probability) filter (where ({c}_l is null) <> ({c}_r is null)),
                       sum(match_probability) filter (where {c}_l is not null and {c}_r is not null)
                from {pairs}""").fetchall()[0]
            sums[c] = (float(one_side or 0.0), float(other or 0.0))
    out = copy.deepcopy(model)
    for comparison in out["comparisons"]:
        c = comparison["output_column_name"]
        if c not in KEY_COLUMNS or sum(sums[c]) == 0.0:
            continue
        one_side, other = sums[c]
        for level in comparison["comparison_levels"]:
            if level.get("label_for_charts") == ONE_SIDE_ONLY:
                level["m_probability"] = max(one_side / (one_side + other), 1e-6)
            elif level["sql_condition"] == "ELSE":
                level["m_probability"] = max(other / (one_side + other), 1e-6)
        log.info("identity model: %s m among pairs without a shared key: one side only %.3f, both given %.3f",
                 c, one_side / (one_side + other), other / (one_side + other))
    return out
