{% macro normalize_email(expr) -%}
  nullif(lower(trim({{ expr }})), '')
{%- endmacro %}

{% macro normalize_phone(expr) -%}
  {#- E.164-like: '+' and digits only; a leading international '00' prefix becomes '+'. -#}
  case when {{ regexp_replace_all("regexp_replace(trim(" ~ expr ~ "), '^[(]?[+]?(00)?', '')", "'[^0-9]'", "''") }} <> ''
       then '+' || {{ regexp_replace_all("regexp_replace(trim(" ~ expr ~ "), '^[(]?[+]?(00)?', '')", "'[^0-9]'", "''") }} end
{%- endmacro %}

{% macro parse_utc(expr) -%}
  {#- ISO-8601 with offset -> UTC timestamp; null when unparseable. -#}
  {{ return(adapter.dispatch('parse_utc', 'segwarehouse')(expr)) }}
{%- endmacro %}

{% macro default__parse_utc(expr) -%}
  (try_cast({{ expr }} as timestamptz) at time zone 'UTC')
{%- endmacro %}

{% macro person_id_for(key_expr) -%}
  'p_' || substr(md5({{ key_expr }}), 1, 16)
{%- endmacro %}
