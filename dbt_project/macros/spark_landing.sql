{#- Spark versions of the landing-zone readers (macros/landing.sql). Files are listed with Spark's
    binaryFile source (only the path column is read, never the content) and read whole with the text
    source's wholetext option, so every line keeps its 1-based line number like DuckDB's read_text. -#}

{% macro spark_ledger() -%}
  {#- The file ledger as Parquet (`segwarehouse landing scan --parquet PATH` writes it; SEGWAREHOUSE_LEDGER_PARQUET
      names it): Spark lists the same accepted files as DuckDB. -#}
  {%- set path = env_var('SEGWAREHOUSE_LEDGER_PARQUET', '') -%}
  {%- if execute and not path -%}
    {{ exceptions.raise_compiler_error("set SEGWAREHOUSE_LEDGER_PARQUET to the file ledger exported by `segwarehouse landing scan --parquet PATH`") }}
  {%- endif -%}
  {{ return("parquet.`" ~ path ~ "`") }}
{%- endmacro %}

{% macro spark__latest_delivery_date_sql() -%}
  {{ return("select cast(max(delivery_date) as string) from " ~ spark_ledger() ~ " where status in ('new', 'changed', 'loaded', 'reloaded')") }}
{%- endmacro %}


{% macro spark__landing_files(source_name, incremental=false) -%}
  {#- Spark rebuilds every model in full: all accepted files up to as_of_date. -#}
  {%- set sql -%}
    select concat('{{ var("raw_path") }}/', source_file) from {{ spark_ledger() }}
    where source_name = '{{ source_name }}' and status in ('new', 'changed', 'loaded', 'reloaded')
      and delivery_date <= '{{ as_of_date() }}'
    order by 1
  {%- endset -%}
  {{ return(run_query(sql).columns[0].values() | list) }}
{%- endmacro %}


{% macro spark__read_lines(files, n_groups=4) -%}
  {#- A session temp view over exactly the listed files (one row per file), exploded into numbered lines.
      source_file is the path below the landing-zone root, as in DuckDB. -#}
  {%- if files | length == 0 -%}
    select cast(null as string) as source_file, cast(null as date) as delivery_date, cast(null as boolean) as is_blank_file,
           cast(null as bigint) as line_no, cast(null as string) as line
    where false
  {%- else -%}
    {%- set view = 'sw_landing_' ~ this.identifier -%}
    {%- if execute -%}
      {%- do run_query("create or replace temporary view " ~ view ~ " using text options (path '" ~ spark_files_glob(files) ~ "', wholetext 'true')") -%}
    {%- endif %}
    select source_file, delivery_date, is_blank_file, cast(pos + 1 as bigint) as line_no, line
    from (
        select
            trim(regexp_replace(value, '[\\r\\n]', '')) = '' as is_blank_file,
            regexp_extract(input_file_name(), '([^/]+/[^/]+/date=[^/]+/[^/]+)$', 1) as source_file,
            cast(regexp_extract(input_file_name(), 'date=([0-9]{4}-[0-9]{2}-[0-9]{2})', 1) as date) as delivery_date,
            split(regexp_replace(replace(value, chr(13) || chr(10), chr(10)), '^\\x{FEFF}', ''), chr(10), -1) as lines
        from {{ view }}
    )
    lateral view posexplode(lines) exploded as pos, line
  {%- endif -%}
{%- endmacro %}


{% macro spark__csv_fields(line) -%}
  {#- Same fields as DuckDB; a leading null element makes f[1] the first field (DuckDB lists are 1-based). -#}
  concat(array(cast(null as string)), transform(
      regexp_extract_all(',' || {{ line }}, ',("(?:[^"]|"")*"|[^,]*)', 1),
      f -> case when f like '"%' then replace(substr(f, 2, length(f) - 2), '""', '"') else f end
  ))
{%- endmacro %}


{% macro spark__parse_utc(expr) -%}
  {#- session time zone is UTC (profiles.yml): an offset is applied, a timestamp without one is UTC -#}
  try_cast({{ expr }} as timestamp)
{%- endmacro %}


{% macro spark_files_glob(files) -%}
  {#- One Hadoop glob '<folder>/{date=../f,date=../g}' naming exactly these files (all in one landing folder). -#}
  {%- set parts = [] -%}
  {%- for f in files -%}{%- do parts.append('date=' ~ f.split('/date=')[1]) -%}{%- endfor -%}
  {{ return(files[0].split('/date=')[0] ~ '/{' ~ parts | join(',') ~ '}') }}
{%- endmacro %}
