{% macro validate_vars() -%}
  {#- why: dbt vars have no types: the on-run-start check of the vars that reach SQL text (the rules of
      segwarehouse/dbt_vars.py), so `dbt build --vars ...` by hand stops with the var, value and rule -#}
  {%- set problems = [] -%}
  {%- set date = '[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])' -%}
  {%- for name, value, pattern, rule in [
      ('as_of_date', given_as_of_date() | string, '(' ~ date ~ ')?', 'a date YYYY-MM-DD (or empty)'),
      ('timestamp_floor', var('timestamp_floor') | string, date, 'a date YYYY-MM-DD'),
      ('reporting_currency', var('reporting_currency') | string, '[A-Z]{3}', 'an ISO-4217 code of three capital letters')] -%}
    {%- if not modules.re.match('^' ~ pattern ~ '$', value) -%}
      {%- do problems.append(name ~ "=" ~ value ~ ": must be " ~ rule) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- set raw = var('raw_path') | string -%}
  {%- if raw | trim == '' or modules.re.search('[\'"`;\\\\\\x00-\\x1f*?\\[\\]{}]', raw) -%}
    {%- do problems.append("raw_path=" ~ raw ~ ": must be a non-empty path without quotes, backslashes, ';', control or glob characters") -%}
  {%- endif -%}
  {%- set integers = {
      'lookback_days': [0, 60], 'future_tolerance_days': [0, 30], 'session_gap_minutes': [1, 1440], 'line_bitmap_max_mb': [0, 65536],
      'max_customers_per_email': [1, 10000], 'max_customers_per_phone': [1, 10000],
      'max_users_per_anonymous_id': [1, 10000], 'max_component_size': [2, 1000000],
      'lifecycle_new_days': [1, 3650], 'lifecycle_active_days': [1, 3650], 'lifecycle_at_risk_days': [1, 3650],
      'lifecycle_lapsed_days': [1, 3650]} -%}
  {%- for name, bounds in integers.items() -%}
    {%- set v = var(name) -%}
    {%- if v is boolean or v is not integer or v < bounds[0] or v > bounds[1] -%}
      {%- do problems.append(name ~ "=" ~ v ~ ": must be an integer in " ~ bounds[0] ~ ".." ~ bounds[1]) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- for name in ['engagement_pages_per_week', 'engagement_session_minutes', 'engagement_sessions_per_week', 'engagement_email_points'] -%}
    {%- set v = var(name) -%}
    {%- if v is boolean or v is not number or v <= 0 or v > 10000 -%}
      {%- do problems.append(name ~ "=" ~ v ~ ": must be a number > 0 and <= 10000") -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if problems -%}
    {{ exceptions.raise_compiler_error("invalid dbt var(s): " ~ problems | join('; ')) }}
  {%- endif -%}
  select 1 as vars_ok
{%- endmacro %}
