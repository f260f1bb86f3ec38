{#- Value rules shared by the base models: a value that breaks one is quarantined with its file and line. -#}

{% macro implausible_time_rejects(column, ts, delivery_date) -%}
  {#- `when` branches of a reject-reason case for a parsed timestamp no delivery can hold: before
      timestamp_floor (also -infinity), or at/after the end of its delivery day plus future_tolerance_days
      (also infinity). -#}
  when {{ ts }} < cast('{{ var("timestamp_floor") }}' as timestamp) then '{{ column }} before {{ var("timestamp_floor") }} (timestamp_floor)'
  when {{ ts }} >= {{ delivery_date }} + interval {{ var('future_tolerance_days') + 1 }} day then 'future {{ column }}'
{%- endmacro %}


{% macro is_plain_number(expr) -%}
  {#- A decimal number as written by an export: sign, digits, one point, an exponent; no digit separators
      ('1_000', '1,000'), no NaN or infinity, which a cast would accept. Surrounding blanks are allowed. -#}
  {{ return(adapter.dispatch('is_plain_number', 'segwarehouse')(expr)) }}
{%- endmacro %}
{% macro default__is_plain_number(expr) -%}
  regexp_full_match(trim({{ expr }}), '[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?')
{%- endmacro %}
{% macro spark__is_plain_number(expr) -%}
  (trim({{ expr }}) rlike '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$')
{%- endmacro %}


{% macro is_plain_integer(expr) -%}
  {{ return(adapter.dispatch('is_plain_integer', 'segwarehouse')(expr)) }}
{%- endmacro %}
{% macro default__is_plain_integer(expr) -%}regexp_full_match(trim({{ expr }}), '[+-]?[0-9]+'){%- endmacro %}
{% macro spark__is_plain_integer(expr) -%}(trim({{ expr }}) rlike '^[+-]?[0-9]+$'){%- endmacro %}


{% macro is_not_finite_text(expr) -%}
  {#- NaN or infinity spelled out: a cast accepts them as doubles, no amount is one. -#}
  lower(trim({{ expr }})) in ('nan', '+nan', '-nan', 'inf', '+inf', '-inf', 'infinity', '+infinity', '-infinity')
{%- endmacro %}


{% macro has_duplicate_json_keys(line) -%}
  {#- True when a JSON object repeats a top-level key (its reader would keep the first value silently). -#}
  {{ return(adapter.dispatch('has_duplicate_json_keys', 'segwarehouse')(line)) }}
{%- endmacro %}
{% macro default__has_duplicate_json_keys(line) -%}
  (list_unique(json_keys({{ line }})) <> len(json_keys({{ line }})))
{%- endmacro %}
{% macro spark__has_duplicate_json_keys(line) -%}
  (size(json_object_keys({{ line }})) <> size(array_distinct(json_object_keys({{ line }}))))
{%- endmacro %}


{% macro lacks_utc_offset(text) -%}
  {#- A timestamp written without a UTC offset ('2026-03-01T10:15:00', a bare date): read as UTC, and counted
      per source in int_source_load_audit (times_without_offset) so the assumption is never silent. -#}
  {{ return(adapter.dispatch('lacks_utc_offset', 'segwarehouse')(text)) }}
{%- endmacro %}
{% macro default__lacks_utc_offset(text) -%}
  coalesce(not regexp_matches(trim({{ text }}), '([zZ]|[+-][0-9]{2}(:?[0-9]{2})?)$'), false)
{%- endmacro %}
{% macro spark__lacks_utc_offset(text) -%}
  coalesce(not (trim({{ text }}) rlike '([zZ]|[+-][0-9]{2}(:?[0-9]{2})?)$'), false)
{%- endmacro %}
