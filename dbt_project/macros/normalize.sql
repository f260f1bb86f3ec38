{% macro normalize_email(expr) -%}
  {#- why: one definition for CRM and shop e-mails, which the identity graph joins on -#}
  nullif(lower(trim({{ expr }})), '')
{%- endmacro %}

{% macro normalize_phone(expr) -%}
  {#- why: dbt has no phone normalization: E.164-like, '+' and digits only; a leading '00' prefix becomes '+' -#}
  {%- set digits = regexp_replace_all("regexp_replace(trim(" ~ expr ~ "), '^[(]?[+]?(00)?', '')", "'[^0-9]'", "''") -%}
  case when {{ digits }} <> '' then '+' || {{ digits }} end
{%- endmacro %}

{% macro parse_utc(expr) -%}
  {#- why: dbt.safe_cast has no time zone: ISO-8601 with offset -> UTC timestamp; null when unparseable -#}
  {{ return(adapter.dispatch('parse_utc', 'segwarehouse')(expr)) }}
{%- endmacro %}
{% macro default__parse_utc(expr) -%}
  (try_cast({{ expr }} as timestamptz) at time zone 'UTC')
{%- endmacro %}

{% macro person_id_for(key_expr) -%}
  {#- why: one definition for the person map's two id paths: a stable person id from a node key -#}
  'p_' || substr(md5({{ key_expr }}), 1, 16)
{%- endmacro %}
