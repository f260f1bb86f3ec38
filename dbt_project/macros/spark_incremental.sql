{#- On Spark every incremental model is rebuilt in full (parquet tables have no delete+insert). -#}

{% macro is_incremental() -%}
  {#- why: dbt's is_incremental(), but false on Spark (full rebuilds) and in a unit test that does not override
      it (no `this` there) -#}
  {{ return(target.type != 'spark' and this is not none and dbt.is_incremental()) }}
{%- endmacro %}

{% materialization incremental, adapter='spark' %}
  {#- why: dbt-spark's table materialization drops the old table first; this builds a new one and swaps it in,
      so the model's SQL can still read the previous rows ({{ this }}: the person map reads its nodes' ids) -#}
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
