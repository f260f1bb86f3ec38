{% macro get_where_subquery(relation) -%}
  {#- why: dbt's `where` test config has no run-time value: `<column> = __latest_load__` tests the rows of the
      latest load in `dbt build` (a constant; a retry re-tests them) and every row in a standalone `dbt test` -#}
  {%- set where = config.get('where') or '' -%}
  {%- set latest_load = modules.re.search('(\\w+)\\s*=\\s*__latest_load__', where) -%}
  {%- if latest_load and flags.WHICH == 'test' -%}
    {%- set where = where | replace(latest_load.group(0), 'true') -%}
  {%- elif latest_load -%}
    {%- set latest = run_query('select max(' ~ latest_load.group(1) ~ ') from ' ~ relation).rows[0][0] if execute else none -%}
    {%- set where = where | replace('__latest_load__', "cast('" ~ latest ~ "' as timestamp)" if latest else 'null') -%}
  {%- endif -%}
  {{ return("(select * from " ~ relation ~ " where " ~ where ~ ") dbt_subquery" if where else relation) }}
{%- endmacro %}
