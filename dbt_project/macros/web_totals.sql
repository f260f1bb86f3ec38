{% macro web_pair_key(anonymous_id, user_id) -%}
  {#- One string per identifier pair (either id may be null, not both): the anonymous id's length first, so
      no two pairs share a key whatever characters the ids hold. -#}
  concat(coalesce(cast(length({{ anonymous_id }}) as {{ string_type() }}), '-'), ':',
         coalesce({{ anonymous_id }}, ''), coalesce({{ user_id }}, ''))
{%- endmacro %}


{% macro web_totals_recompute_prehook(key_column, key_expr) -%}
  {#- Incremental lifetime totals over int_web_activity_daily, one row (or several) per key: the keys with
      daily counts in the re-read delivery partitions, and the stored keys last counted there (a rewritten
      file may have dropped them), go to temp table <model>__recompute and their rows are deleted; the model
      recomputes them over all their daily counts (recompute_filter), which equals a full refresh.
      key_expr computes the stored key_column from a daily row. -#}
  {%- if is_incremental() -%}
    {%- set since = incremental_since(this, 'last_delivery_date') or '0001-01-01' -%}
    {%- set recompute = this.identifier ~ '__recompute' -%}
    create or replace temp table {{ recompute }} as
    select {{ key_expr }} as recompute_key
    from {{ ref('int_web_activity_daily') }}
    where delivery_date >= '{{ since }}'
    union
    select {{ key_column }} from {{ this }} where last_delivery_date >= '{{ since }}';
    delete from {{ this }} where {{ key_column }} in (select recompute_key from {{ recompute }})
  {%- else -%}
    select 1
  {%- endif -%}
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
