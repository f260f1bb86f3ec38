{% macro web_totals_cutoffs() -%}
  {#- why: dbt's incremental models have no settled/unsettled split: {'old': the table's latest settled_before
      (none on a full build), 'new': this run's (int_web_activity_daily's lookback start, never below old)} -#}
  {%- set cutoffs = {'old': none, 'new': '0001-01-01'} -%}
  {%- if execute -%}
    {%- if is_incremental() -%}
      {%- if 'settled_before' not in (adapter.get_columns_in_relation(this) | map(attribute='name') | list) -%}
        {{ exceptions.raise_compiler_error(this ~ " was built by an earlier version without settled totals: rebuild it once with --full-refresh --select " ~ this.identifier) }}
      {%- endif -%}
      {%- set old = run_query("select max(settled_before) from " ~ this).rows[0][0] -%}
      {%- do cutoffs.update({'old': old.strftime('%Y-%m-%d') if old else '0001-01-01'}) -%}
    {%- endif -%}
    {%- set new = incremental_since(ref('int_web_activity_daily')) or '0001-01-01' -%}
    {%- do cutoffs.update({'new': [new, cutoffs.old or new] | max}) -%}
  {%- endif -%}
  {{ return(cutoffs) }}
{%- endmacro %}
