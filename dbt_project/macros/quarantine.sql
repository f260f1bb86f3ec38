{% macro quarantine_since() -%}
  {#- The newest loaded_at int_quarantine_rows holds (an incremental run reads the lines loaded after it);
      none on a full build. Every line loaded up to then was read by an earlier run (a run that stopped before
      this model leaves its lines above the watermark). -#}
  {%- if execute and is_incremental() -%}
    {%- if 'loaded_at' not in (adapter.get_columns_in_relation(this) | map(attribute='name') | list) -%}
      {{ exceptions.raise_compiler_error(this ~ " was built by an earlier version without loaded_at: rebuild it once with --full-refresh --select " ~ this.identifier) }}
    {%- endif -%}
    {{ return(run_query("select max(loaded_at) from " ~ this).rows[0][0]) }}
  {%- endif -%}
  {{ return(none) }}
{%- endmacro %}


{% macro quarantine_replace_prehook(base_models) -%}
  {#- Pre-hook of the incremental int_quarantine_rows: deletes the rows of every file with lines loaded after
      the newest loaded_at the table holds (the model appends those files' bad lines again). -#}
  {%- set since = quarantine_since() -%}
  {%- if is_incremental() and since -%}
    delete from {{ this }} where source_file in (
      {%- for model in base_models %}
        {{ 'union ' if not loop.first }}select source_file from {{ ref(model) }} where loaded_at > cast('{{ since }}' as timestamp)
      {%- endfor %}
    )
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}
