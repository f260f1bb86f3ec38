{% macro get_where_subquery(relation) -%}
  {#- dbt's `where` test config, plus the placeholder `__latest_load__` (dbt has no run-time value for it):
      `<column> = __latest_load__` makes a `dbt build` test the rows the model's latest load wrote (the max of
      <column>, pasted in as a constant so older row groups are skipped; a retry re-tests the same rows) and a
      standalone `dbt test` (the weekly check) test every row; the rest of the `where` applies to both. -#}
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
