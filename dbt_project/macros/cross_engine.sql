{#- Engine-specific SQL behind adapter.dispatch: default__ emits the DuckDB SQL the models always had,
    spark__ the Spark SQL equivalent (dbt-spark). Documented in macros/_macros.yml and docs/scale-out.md. -#}

{% macro star_exclude(columns) -%}
  {{ return(adapter.dispatch('star_exclude', 'segwarehouse')(columns)) }}
{%- endmacro %}
{% macro default__star_exclude(columns) -%}* exclude ({{ columns | join(', ') }}){%- endmacro %}
{% macro spark__star_exclude(columns) -%}* except ({{ columns | join(', ') }}){%- endmacro %}


{% macro list_length(expr) -%}
  {{ return(adapter.dispatch('list_length', 'segwarehouse')(expr)) }}
{%- endmacro %}
{% macro default__list_length(expr) -%}len({{ expr }}){%- endmacro %}
{#- csv_fields() on Spark prepends a null element so that f[1] is the first field, as in DuckDB -#}
{% macro spark__list_length(expr) -%}(size({{ expr }}) - 1){%- endmacro %}


{% macro years_between(start_date, end_date) -%}
  {{ return(adapter.dispatch('years_between', 'segwarehouse')(start_date, end_date)) }}
{%- endmacro %}
{% macro default__years_between(start_date, end_date) -%}date_sub('year', {{ start_date }}, {{ end_date }}){%- endmacro %}
{% macro spark__years_between(start_date, end_date) -%}
  cast(months_between({{ end_date }}, {{ start_date }}) / 12 as int)
{%- endmacro %}


{% macro first_by(value, order_by) -%}
  {#- The value of the first row in order_by (a list of 'expr' or 'expr desc'; desc only on numbers). -#}
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


{% macro sorted_distinct_list(column) -%}
  {#- Aggregate: the distinct non-null values of column as a sorted list (array on Spark). -#}
  {{ return(adapter.dispatch('sorted_distinct_list', 'segwarehouse')(column)) }}
{%- endmacro %}
{% macro default__sorted_distinct_list(column) -%}list_sort(list(distinct {{ column }}) filter (where {{ column }} is not null)){%- endmacro %}
{% macro spark__sorted_distinct_list(column) -%}array_sort(collect_set({{ column }})){%- endmacro %}


{% macro in_subquery(expr, subquery, column) -%}
  {#- expr in (subquery); Spark allows IN-subqueries only in WHERE, so there the (small) set is collected
      into an array by a scalar subquery. Null semantics are the same (null when expr is null). -#}
  {{ return(adapter.dispatch('in_subquery', 'segwarehouse')(expr, subquery, column)) }}
{%- endmacro %}
{% macro default__in_subquery(expr, subquery, column) -%}{{ expr }} in ({{ subquery }}){%- endmacro %}
{% macro spark__in_subquery(expr, subquery, column) -%}
  array_contains((select collect_set({{ column }}) from ({{ subquery }})), {{ expr }})
{%- endmacro %}


{% macro format_ts_micros(expr) -%}
  {#- 'YYYY-MM-DDTHH:MM:SS.ffffff' text of a timestamp -#}
  {{ return(adapter.dispatch('format_ts_micros', 'segwarehouse')(expr)) }}
{%- endmacro %}
{% macro default__format_ts_micros(expr) -%}strftime({{ expr }}, '%Y-%m-%dT%H:%M:%S.%f'){%- endmacro %}
{% macro spark__format_ts_micros(expr) -%}date_format({{ expr }}, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS"){%- endmacro %}


{% macro quantile_disc(expr, q) -%}
  {{ return(adapter.dispatch('quantile_disc', 'segwarehouse')(expr, q)) }}
{%- endmacro %}
{% macro default__quantile_disc(expr, q) -%}quantile_disc({{ expr }}, {{ q }}){%- endmacro %}
{% macro spark__quantile_disc(expr, q) -%}cast(percentile_disc({{ q }}) within group (order by {{ expr }}) as bigint){%- endmacro %}


{% macro regexp_replace_all(expr, pattern, replacement) -%}
  {{ return(adapter.dispatch('regexp_replace_all', 'segwarehouse')(expr, pattern, replacement)) }}
{%- endmacro %}
{% macro default__regexp_replace_all(expr, pattern, replacement) -%}regexp_replace({{ expr }}, {{ pattern }}, {{ replacement }}, 'g'){%- endmacro %}
{% macro spark__regexp_replace_all(expr, pattern, replacement) -%}regexp_replace({{ expr }}, {{ pattern }}, {{ replacement }}){%- endmacro %}


{% macro cte_materialized() -%}
  {#- DuckDB: compute a CTE once (`as materialized`); Spark has no hint, it reuses exchanges itself -#}
  {{ return(adapter.dispatch('cte_materialized', 'segwarehouse')()) }}
{%- endmacro %}
{% macro default__cte_materialized() -%}materialized {% endmacro %}
{% macro spark__cte_materialized() -%}{%- endmacro %}


{% macro parse_event_json(line) -%}
  {#- The event JSON object of one line as a struct of strings; null when the line is no JSON object. -#}
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
  {#- A unique integer per row, 1..n. DuckDB: in scan order (no sort of the rows; not stable between runs).
      Spark requires an ordered window for row_number: ordered by order_key there. -#}
  {{ return(adapter.dispatch('unique_row_number', 'segwarehouse')(order_key)) }}
{%- endmacro %}
{% macro default__unique_row_number(order_key) -%}row_number() over (){%- endmacro %}
{% macro spark__unique_row_number(order_key) -%}row_number() over (order by {{ order_key }}){%- endmacro %}


{% macro hash64(a, b, c) -%}
  {#- A 64-bit hash of three values, for change detection only (values differ between engines). -#}
  {{ return(adapter.dispatch('hash64', 'segwarehouse')(a, b, c)) }}
{%- endmacro %}
{% macro default__hash64(a, b, c) -%}hash({{ a }}, {{ b }}, {{ c }}){%- endmacro %}
{% macro spark__hash64(a, b, c) -%}xxhash64({{ a }}, {{ b }}, {{ c }}){%- endmacro %}


{% macro time_bucket_key(ts, minutes) -%}
  {#- A key of the aligned time bucket `minutes` wide that holds ts (any two timestamps of one bucket are less
      than `minutes` apart). -#}
  {{ return(adapter.dispatch('time_bucket_key', 'segwarehouse')(ts, minutes)) }}
{%- endmacro %}
{% macro default__time_bucket_key(ts, minutes) -%}time_bucket(interval {{ minutes }} minute, {{ ts }}){%- endmacro %}
{% macro spark__time_bucket_key(ts, minutes) -%}floor(unix_seconds({{ ts }}) / {{ (minutes | int) * 60 }}){%- endmacro %}


{% macro round_half_up(expr, digits) -%}
  {#- A number rounded to `digits` decimals as written in decimal, half away from zero (29.345 -> 29.35), as
      a double: the same on every engine and DuckDB version. DuckDB 2.0.1 rounds the binary double instead
      (58.69 / 2 is 29.34499... there, so 29.34), while Spark and DuckDB 2.0.0 give 29.35: the value goes
      through decimal(38, 9) first. Not finite (DuckDB's x / 0) gives null, as Spark's division does. -#}
  {{ return(adapter.dispatch('round_half_up', 'segwarehouse')(expr, digits)) }}
{%- endmacro %}
{% macro default__round_half_up(expr, digits) -%}
  cast(round(try_cast({{ expr }} as decimal(38, 9)), {{ digits }}) as double)
{%- endmacro %}
{% macro spark__round_half_up(expr, digits) -%}
  cast(round(cast({{ expr }} as decimal(38, 9)), {{ digits }}) as double)
{%- endmacro %}
