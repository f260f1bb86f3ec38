"""Why two contacts were linked: the match weight of each comparison of an accepted pair (the numbers of
Splink's waterfall chart), as rows of `identity.probabilistic_link_explanations`."""

from __future__ import annotations

from splink import Linker


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def explain_sql(linker: Linker, scored: str, version: str) -> str:
    """SELECT over the scored pairs `scored` (Splink's prediction columns): one row per pair and step - the
    prior, each comparison (its level, label, match weight with the term-frequency adjustment, both values)
    and the final match weight. Ids come ordered (customer_id_l < customer_id_r), values with them."""
    s = linker._settings_obj
    p = float(s._probability_two_random_records_match)
    swap = "customer_id_l > customer_id_r"
    ids = ("least(customer_id_l, customer_id_r) as customer_id_l, "
           "greatest(customer_id_l, customer_id_r) as customer_id_r")
    parts = [f"""select {ids}, 0 as step, 'prior' as comparison, null::integer as comparison_level,
        'starting match weight' as level_label, log2({p!r} / (1 - {p!r})) as match_weight,
        null::varchar as value_l, null::varchar as value_r from {scored}"""]
    for i, c in enumerate(s.comparisons, start=1):
        labels = " ".join(f"when {lvl.comparison_vector_value} then {_quote(lvl.label_for_charts)}"
                          for lvl in c.comparison_levels)
        weight = c._mw_column_name
        if c._has_tf_adjustments:
            weight += f" + coalesce({c._mw_tf_adj_column_name}, 0)"
        cols = [ic.unquote().name for ic in c._input_columns_used_by_case_statement]
        left = " || ' / ' || ".join(f"coalesce({x}_l::varchar, '-')" for x in cols)
        right = " || ' / ' || ".join(f"coalesce({x}_r::varchar, '-')" for x in cols)
        parts.append(f"""select {ids}, {i}, {_quote(c.output_column_name)}, {c._gamma_column_name},
            case {c._gamma_column_name} {labels} end, {weight},
            case when {swap} then {right} else {left} end, case when {swap} then {left} else {right} end
            from {scored}""")
    parts.append(f"""select {ids}, {len(s.comparisons) + 1}, 'final', null, 'match weight', match_weight, null, null
        from {scored}""")
    return f"select *, {_quote(version)} as model_version from (" + "\nunion all\n".join(parts) + ")"
