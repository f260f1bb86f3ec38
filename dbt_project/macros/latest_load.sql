{% macro latest_load(relation, load_column='loaded_at') -%}
  {#- why: dbt has no run-time value of a table's latest load: {'value': a timestamp constant (filters on it skip
      older row groups), 'share': the fraction of rows it wrote (picks a key test's plan)} -#}
  {%- set latest = {'value': '(select max(' ~ load_column ~ ') from ' ~ relation ~ ')', 'share': 1} -%}
  {%- if execute -%}
    {%- set found = run_query("select max(" ~ load_column ~ "), avg(case when " ~ load_column ~ " = (select max("
          ~ load_column ~ ") from " ~ relation ~ ") then 1.0 else 0.0 end) from " ~ relation).rows[0] -%}
    {%- if found[0] is not none -%}
      {%- do latest.update({'value': "cast('" ~ found[0] ~ "' as timestamp)", 'share': found[1]}) -%}
    {%- endif -%}
  {%- endif -%}
  {{ return(latest) }}
{%- endmacro %}

