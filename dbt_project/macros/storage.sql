{% macro duckdb__create_table_as(temporary, relation, compiled_code, language='sql', partitioned_by=none, sorted_by=none) -%}
  {#- dbt-duckdb's create_table_as, plus the model config uncompressed_columns: the listed columns are
      created with DuckDB's `using compression uncompressed`, kept by every later insert (incremental runs).
      For random identifiers, which DuckDB's string compression (DICT_FSST) cannot shrink much but spends
      time trying on: writing and looking them up get faster for a little more space (the measured figures
      are in benchmarks/results).
      Temporary tables and contract-enforced models take dbt-duckdb's own path. -#}
  {%- set uncompressed = config.get('uncompressed_columns') or [] -%}
  {%- if uncompressed and not temporary and language == 'sql' and not config.get('contract').enforced -%}
    {%- set columns = get_column_schema_from_query(compiled_code) -%}
    {%- set names = columns | map(attribute='name') | map('lower') | list -%}
    {%- set wanted = uncompressed | map('lower') | list -%}
    {%- for missing in wanted if missing not in names -%}
      {{ exceptions.raise_compiler_error(model.name ~ ": uncompressed_columns names " ~ missing ~ ", which the model does not select") }}
    {%- endfor -%}
    {%- set sql_header = config.get('sql_header', none) -%}
    {{ sql_header if sql_header is not none }}
    create table {{ relation }} (
      {%- for column in columns %}
      {{ adapter.quote(column.name) }} {{ column.data_type }}{% if column.name | lower in wanted %} using compression uncompressed{% endif %}{{ "," if not loop.last }}
      {%- endfor %}
    );
    insert into {{ relation }} select * from (
      {{ compiled_code }}
    ) as model_subq
  {%- else -%}
    {{ return(dbt.duckdb__create_table_as(temporary, relation, compiled_code, language, partitioned_by, sorted_by)) }}
  {%- endif -%}
{%- endmacro %}
