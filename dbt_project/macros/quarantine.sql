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
