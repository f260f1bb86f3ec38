{#- SQL that differs between DuckDB (default__) and Spark (spark__) and has no dbt cross-database macro;
    each is described in macros/_macros.yml, the differences in docs/scale-out.md. -#}

{% macro list_length(expr) -%}
  {#- why: dbt has no list length; Spark's csv_fields() list carries a leading null (so f[1] is the first field) -#}
  {{ return(adapter.dispatch('list_length', 'segwarehouse')(expr)) }}
{%- endmacro %}
{% macro default__list_length(expr) -%}len({{ expr }}){%- endmacro %}
{% macro spark__list_length(expr) -%}(size({{ expr }}) - 1){%- endmacro %}

{% macro years_between(start_date, end_date) -%}
  {#- why: dbt.datediff counts year boundaries crossed, not whole years of age -#}
  {{ return(adapter.dispatch('years_between', 'segwarehouse')(start_date, end_date)) }}
{%- endmacro %}
{% macro default__years_between(start_date, end_date) -%}date_sub('year', {{ start_date }}, {{ end_date }}){%- endmacro %}
{% macro spark__years_between(start_date, end_date) -%}
  cast(months_between({{ end_date }}, {{ start_date }}) / 12 as int)
{%- endmacro %}

{% macro first_by(value, order_by) -%}
  {#- why: dbt has no ordered first-value aggregate. order_by: 'expr' or 'expr desc' (desc only on numbers) -#}
  {{ return(adapter.dispatch('first_by', 'segwarehouse')(value, order_by)) }}
{%- endmacro %}
{% macro default__first_by(value, order_by) -%}first({{ value }} order by {{ order_by | join(', ') }}){%- endmacro %}
{% macro spark__first_by(value, order_by) -%}
  min_by({{ value }}, named_struct(
    {%- for key in order_by -%}
      {%- if key.endswith(' desc') -%}'k{{ loop.index }}', -({{ key[:-5] }}){%- else -%}'k{{ loop.index }}', {{ key }}{%- endif -%}
      {{- ", " if not loop.last -}}
    {%- endfor -%}
  ))
{%- endmacro %}

{% macro in_subquery(expr, subquery, column) -%}
  {#- why: Spark allows an IN-subquery only in WHERE; there the (small) set becomes an array (same null semantics) -#}
  {{ return(adapter.dispatch('in_subquery', 'segwarehouse')(expr, subquery, column)) }}
{%- endmacro %}
{% macro default__in_subquery(expr, subquery, column) -%}{{ expr }} in ({{ subquery }}){%- endmacro %}
{% macro spark__in_subquery(expr, subquery, column) -%}
  array_contains((select collect_set({{ column }}) from ({{ subquery }})), {{ expr }})
{%- endmacro %}

{% macro format_ts_micros(expr) -%}
  {#- why: dbt has no timestamp formatting; 'YYYY-MM-DDTHH:MM:SS.ffffff' -#}
  {{ return(adapter.dispatch('format_ts_micros', 'segwarehouse')(expr)) }}
{%- endmacro %}
{% macro default__format_ts_micros(expr) -%}strftime({{ expr }}, '%Y-%m-%dT%H:%M:%S.%f'){%- endmacro %}
{% macro spark__format_ts_micros(expr) -%}date_format({{ expr }}, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS"){%- endmacro %}

{% macro regexp_replace_all(expr, pattern, replacement) -%}
  {#- why: dbt has no regex replace; DuckDB replaces every match only with the 'g' flag -#}
  {{ return(adapter.dispatch('regexp_replace_all', 'segwarehouse')(expr, pattern, replacement)) }}
{%- endmacro %}
{% macro default__regexp_replace_all(expr, pattern, replacement) -%}regexp_replace({{ expr }}, {{ pattern }}, {{ replacement }}, 'g'){%- endmacro %}
{% macro spark__regexp_replace_all(expr, pattern, replacement) -%}regexp_replace({{ expr }}, {{ pattern }}, {{ replacement }}){%- endmacro %}

{% macro parse_event_json(line) -%}
  {#- why: dbt has no JSON parse; the event object of a line as a struct of strings, null for no JSON object -#}
  {{ return(adapter.dispatch('parse_event_json', 'segwarehouse')(line)) }}
{%- endmacro %}
{% macro default__parse_event_json(line) -%}
{#- the ltrim copy of the line only runs for a line that does not start with the brace itself -#}
case when (starts_with({{ line }}, '{') or starts_with(ltrim({{ line }}), '{')) and json_valid({{ line }}) then json_transform({{ line }}, '{
            "event_id": "VARCHAR", "anonymous_id": "VARCHAR", "user_id": "VARCHAR", "session_hint": "VARCHAR",
            "event_type": "VARCHAR", "page_url": "VARCHAR", "product_id": "VARCHAR", "category": "VARCHAR",
            "search_query": "VARCHAR", "order_id": "VARCHAR", "campaign_id": "VARCHAR", "device": "VARCHAR",
            "channel": "VARCHAR", "event_at": "VARCHAR"}') end
{%- endmacro %}
{% macro spark__parse_event_json(line) -%}
case when ltrim({{ line }}) like '{{ '{' }}%' and json_object_keys({{ line }}) is not null then from_json({{ line }},
            'event_id string, anonymous_id string, user_id string, session_hint string, event_type string,
             page_url string, product_id string, category string, search_query string, order_id string,
             campaign_id string, device string, channel string, event_at string') end
{%- endmacro %}

{% macro unique_row_number(order_key) -%}
  {#- why: Spark's row_number needs an ordered window; DuckDB numbers in scan order (no sort; not stable between runs) -#}
  {{ return(adapter.dispatch('unique_row_number', 'segwarehouse')(order_key)) }}
{%- endmacro %}
{% macro default__unique_row_number(order_key) -%}row_number() over (){%- endmacro %}
{% macro spark__unique_row_number(order_key) -%}row_number() over (order by {{ order_key }}){%- endmacro %}

{% macro hash64(a, b, c) -%}
  {#- why: dbt.hash is a text md5; a 64-bit hash of three values, for change detection only (differs by engine) -#}
  {{ return(adapter.dispatch('hash64', 'segwarehouse')(a, b, c)) }}
{%- endmacro %}
{% macro default__hash64(a, b, c) -%}hash({{ a }}, {{ b }}, {{ c }}){%- endmacro %}
{% macro spark__hash64(a, b, c) -%}xxhash64({{ a }}, {{ b }}, {{ c }}){%- endmacro %}

{% macro time_bucket_key(ts, minutes) -%}
  {#- why: dbt has no time bucket; a key of the aligned `minutes`-wide bucket holding ts -#}
  {{ return(adapter.dispatch('time_bucket_key', 'segwarehouse')(ts, minutes)) }}
{%- endmacro %}
{% macro default__time_bucket_key(ts, minutes) -%}time_bucket(interval {{ minutes }} minute, {{ ts }}){%- endmacro %}
{% macro spark__time_bucket_key(ts, minutes) -%}floor(unix_seconds({{ ts }}) / {{ (minutes | int) * 60 }}){%- endmacro %}

{% macro round_half_up(expr, digits) -%}
  {#- why: DuckDB 2.0.1 rounds the binary double (29.345 -> 29.34); through decimal(38, 9) every engine gives 29.35 -#}
  cast(round(try_cast({{ expr }} as decimal(38, 9)), {{ digits }}) as double)
{%- endmacro %}
