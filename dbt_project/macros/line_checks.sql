{#- Value rules shared by the base models: a value that breaks one is quarantined with its file and line. -#}

{% macro implausible_time_rejects(column, ts, delivery_date) -%}
  {#- why: shared by every base model: `when` branches for a timestamp before timestamp_floor (also -infinity) or
      at/after the end of its delivery day plus future_tolerance_days (also infinity) -#}
  when {{ ts }} < cast('{{ var("timestamp_floor") }}' as timestamp) then '{{ column }} before {{ var("timestamp_floor") }} (timestamp_floor)'
  when {{ ts }} >= {{ delivery_date }} + interval {{ var('future_tolerance_days') + 1 }} day then 'future {{ column }}'
{%- endmacro %}

{% macro is_plain_number(expr) -%}
  {#- why: a cast also accepts '1_000', NaN and infinity; this is sign, digits, one point, an exponent, blanks around -#}
  {{ return(adapter.dispatch('is_plain_number', 'segwarehouse')(expr)) }}
{%- endmacro %}
{% macro default__is_plain_number(expr) -%}
  regexp_full_match(trim({{ expr }}), '[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?')
{%- endmacro %}
{% macro spark__is_plain_number(expr) -%}
  (trim({{ expr }}) rlike '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$')
{%- endmacro %}

{% macro is_plain_integer(expr) -%}
  {#- why: a cast also accepts '1_000'; this is sign and digits only, blanks around -#}
  {{ return(adapter.dispatch('is_plain_integer', 'segwarehouse')(expr)) }}
{%- endmacro %}
{% macro default__is_plain_integer(expr) -%}regexp_full_match(trim({{ expr }}), '[+-]?[0-9]+'){%- endmacro %}
{% macro spark__is_plain_integer(expr) -%}(trim({{ expr }}) rlike '^[+-]?[0-9]+$'){%- endmacro %}

{% macro is_not_finite_text(expr) -%}
  {#- why: a cast reads NaN or infinity spelled out as a double; no amount is one -#}
  lower(trim({{ expr }})) in ('nan', '+nan', '-nan', 'inf', '+inf', '-inf', 'infinity', '+infinity', '-infinity')
{%- endmacro %}

{% macro repeats_a_json_key(line, keys) -%}
  {#- why: a JSON reader keeps one of two values of a repeated key silently; true when a valid object line repeats
      one of `keys` at the top level (other keys are not read) -#}
  {{ return(adapter.dispatch('repeats_a_json_key', 'segwarehouse')(line, keys)) }}
{%- endmacro %}
{% macro default__repeats_a_json_key(line, keys) -%}
  {#- one sum of 4-bit counters, key i counting in bits 4i..4i+3: a counter at 2 or more sets one of its
      three upper bits (a set per row, as list_distinct builds, costs several times more) -#}
  {%- set ns = namespace(mask=0) -%}
  {%- for i in range(keys | length) -%}{%- set ns.mask = ns.mask + 14 * (16 ** i) -%}{%- endfor -%}
  {#- a line whose keys are exactly `keys`, in that order (as the exports write them), repeats none: the
      counters are only summed for the other lines -#}
  case when json_keys({{ line }}) = ['{{ keys | join("', '") }}'] then false else
  (list_sum(list_transform(json_keys({{ line }}),
       lambda k: coalesce(1::ubigint << (4 * (list_position(['{{ keys | join("', '") }}'], k) - 1)), 0::ubigint)))
   & {{ ns.mask }}::ubigint <> 0) end
{%- endmacro %}
{% macro spark__repeats_a_json_key(line, keys) -%}
  {%- set known = "array('" ~ keys | join("', '") ~ "')" -%}
  (size(filter(json_object_keys({{ line }}), k -> array_contains({{ known }}, k)))
   <> size(array_distinct(filter(json_object_keys({{ line }}), k -> array_contains({{ known }}, k)))))
{%- endmacro %}

{% macro lacks_utc_offset(text) -%}
  {#- why: a timestamp without a UTC offset is read as UTC; counted per source (times_without_offset), never silent -#}
  {{ return(adapter.dispatch('lacks_utc_offset', 'segwarehouse')(text)) }}
{%- endmacro %}
{% macro default__lacks_utc_offset(text) -%}
  {#- an offset follows the time part (a colon, then digits): Z, +hh[:mm] or -hh[:mm] at the end -#}
  coalesce(not regexp_matches({{ text }}, ':[0-9.]*([zZ]|[+-][0-9:]*)\s*$'), false)
{%- endmacro %}
{% macro spark__lacks_utc_offset(text) -%}
  coalesce(not ({{ text }} rlike ':[0-9.]*([zZ]|[+-][0-9:]*)\\s*$'), false)
{%- endmacro %}
