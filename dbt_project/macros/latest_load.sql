{% macro latest_load(relation, load_column='loaded_at') -%}
  {#- The latest load of a table whose rows record the load that wrote them (load_column): {'value': a SQL
      timestamp constant (a subquery before execution), 'share': the fraction of rows it wrote (1 before
      execution)}. A constant lets filters on it skip older row groups; the share picks a test's plan. -#}
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

