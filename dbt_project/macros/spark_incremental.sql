{#- On Spark every incremental model is rebuilt in full (parquet tables; no delete+insert on plain
    parquet). is_incremental() is false there, so model bodies and post-hooks take their full-refresh
    branch; on DuckDB it is dbt's own definition, unchanged. -#}

{% macro is_incremental() %}
  {{ return(adapter.dispatch('is_incremental', 'segwarehouse')()) }}
{% endmacro %}

{% macro default__is_incremental() %}
    {#-- dbt-core's is_incremental(), plus: false in a dbt unit test without an is_incremental override
         (no `this` there) --#}
    {% if not execute or this is none %}
        {{ return(False) }}
    {% else %}
        {% set relation = adapter.get_relation(this.database, this.schema, this.table) %}
        {{ return(relation is not none
                  and relation.type == 'table'
                  and model.config.materialized == 'incremental'
                  and not should_full_refresh()) }}
    {% endif %}
{% endmacro %}

{% macro spark__is_incremental() %}
  {{ return(False) }}
{% endmacro %}


{% materialization incremental, adapter='spark' %}
  {#- full rebuild into a new table, then swapped in: the model's SQL can still read the previous rows
      ({{ this }}; the person map reads the ids its nodes had) -#}
  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set existing_relation = load_relation(this) -%}
  {%- set new_relation = this.incorporate(path={'identifier': this.identifier ~ '__dbt_new'}, type='table') -%}
  {{ run_hooks(pre_hooks) }}
  {{ adapter.drop_relation(new_relation) }}
  {% call statement('main') -%}
    {{ create_table_as(False, new_relation, sql) }}
  {%- endcall %}
  {%- if existing_relation is not none -%}
    {{ adapter.drop_relation(existing_relation) }}
  {%- endif -%}
  {{ adapter.rename_relation(new_relation, target_relation) }}
  {{ run_hooks(post_hooks) }}
  {% do persist_docs(target_relation, model) %}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{% macro spark__get_empty_schema_sql(columns) %}
    {#- Model contracts declare DuckDB type names; Spark has no plain varchar, its name is string.
        Same as dbt's default otherwise. -#}
    select
    {% for i in columns %}
      {%- set col = columns[i] -%}
      {%- set data_type = 'string' if col['data_type'].strip().lower() in ('varchar', 'text') else col['data_type'] -%}
      {% set col_name = adapter.quote(col['name']) if col.get('quote') else col['name'] %}
      cast(null as {{ data_type }}) as {{ col_name }}{{ ", " if not loop.last }}
    {%- endfor -%}
{% endmacro %}
