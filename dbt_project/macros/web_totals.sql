{% macro web_pair_key(anonymous_id, user_id) -%}
  {#- One string per identifier pair (either id may be null, not both): the anonymous id's length first, so
      no two pairs share a key whatever characters the ids hold. -#}
  concat(coalesce(cast(length({{ anonymous_id }}) as {{ dbt.type_string() }}), '-'), ':',
         coalesce({{ anonymous_id }}, ''), coalesce({{ user_id }}, ''))
{%- endmacro %}


{% macro web_totals_recompute_prehook(key_column, key_expr) -%}
  {#- Incremental lifetime totals over int_web_activity_daily, one row (or several) per key, each row also
      holding its "settled" part: the totals over the delivery partitions before settled_before, which no run
      re-reads again (a run re-reads the partitions from its latest one minus lookback_days). The keys with
      daily counts in partitions from the latest cutoff on, and the stored keys last counted there (a
      rewritten file may have dropped them), go to temp table <model>__recompute; their stored rows are
      copied to <model>__settled and deleted. The model adds each key's settled part to its daily counts
      from that cutoff on (web_totals_cutoffs), so a day reads a few partitions instead of the whole history;
      a key not recomputed has no counts from the cutoff on, so all its counts are settled already. Equals a
      full refresh. key_expr computes the stored key_column from a daily row. -#}
  {%- if is_incremental() -%}
    {%- set since = web_totals_cutoffs().old -%}
    {%- set recompute = this.identifier ~ '__recompute' -%}
    create or replace temp table {{ recompute }} as
    select {{ key_expr }} as recompute_key
    from {{ ref('int_web_activity_daily') }}
    where delivery_date >= '{{ since }}'
    union
    select {{ key_column }} from {{ this }} where last_delivery_date >= '{{ since }}';
    create or replace temp table {{ this.identifier ~ '__settled' }} as
    select * from {{ this }} where {{ key_column }} in (select recompute_key from {{ recompute }});
    delete from {{ this }} where {{ key_column }} in (select recompute_key from {{ recompute }})
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}


{% macro web_totals_cutoffs() -%}
  {#- {'old': the cutoff the stored settled parts were summed to (the table's latest settled_before; none on
      a full build), 'new': this run's (the latest delivery partition of int_web_activity_daily minus
      lookback_days, never below old)} as 'YYYY-MM-DD' strings. -#}
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


{% macro recompute_filter(expr, key_column) -%}
  {#- The filter of a model whose pre-hook collected the keys to recompute in temp table <model>__recompute
      (column key_column): expr among them in an incremental run, every row otherwise. -#}
  {%- if is_incremental() -%}
  {{ expr }} in (select {{ key_column }} from {{ this.identifier ~ '__recompute' }})
  {%- else -%}
  true
  {%- endif -%}
{%- endmacro %}
