{% macro probabilistic_links(relation) -%}
  {#- The matching step's links (source identity.probabilistic_links) as (customer_id_l, customer_id_r,
      match_probability); none while the table does not exist: before the first matching step, with `dbt`
      run by hand, and on Spark (probabilistic matching runs on the DuckDB warehouse only). -#}
  {%- set found = none -%}
  {%- if execute and target.type == 'duckdb' -%}
    {%- set found = adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier) -%}
  {%- endif -%}
  {%- if found is not none -%}
    select customer_id_l, customer_id_r, match_probability from {{ relation }}
  {%- else -%}
    select cast(null as {{ dbt.type_string() }}) as customer_id_l, cast(null as {{ dbt.type_string() }}) as customer_id_r,
           cast(null as double) as match_probability
    where 1 = 0
  {%- endif -%}
{%- endmacro %}
