{#- Landing-zone readers. Files are listed once per model with DuckDB's glob() so that a run for
    as_of_date D reads only partitions delivered on or before D (and incremental runs only the lookback). -#}

{% macro as_of_date() -%}
  {%- if var('as_of_date') -%}
    {{ return(var('as_of_date')) }}
  {%- elif execute -%}
    {%- set rows = run_query("select max(regexp_extract(file, 'date=(\\d{4}-\\d{2}-\\d{2})', 1)) from glob('" ~ var('raw_path') ~ "/*/*/date=*/*')") -%}
    {%- set latest = rows.columns[0].values()[0] if rows and rows.columns[0].values() else none -%}
    {%- if not latest -%}
      {{ exceptions.raise_compiler_error("no files in the landing zone " ~ var('raw_path') ~ " (set SEGWAREHOUSE_RAW or generate data first)") }}
    {%- endif -%}
    {{ return(latest) }}
  {%- else -%}
    {{ return('1970-01-01') }}
  {%- endif -%}
{%- endmacro %}


{% macro landing_files(folder, pattern, since_date=none) -%}
  {#- Absolute paths of the files under raw_path/folder/date=*/pattern delivered in [since_date, as_of_date]. -#}
  {%- if not execute -%}{{ return([]) }}{%- endif -%}
  {%- set sql -%}
    select file from glob('{{ var("raw_path") }}/{{ folder }}/date=*/{{ pattern }}')
    where regexp_extract(file, 'date=(\d{4}-\d{2}-\d{2})', 1) <= '{{ as_of_date() }}'
    {%- if since_date %} and regexp_extract(file, 'date=(\d{4}-\d{2}-\d{2})', 1) >= '{{ since_date }}'{% endif %}
    order by file
  {%- endset -%}
  {{ return(run_query(sql).columns[0].values() | list) }}
{%- endmacro %}


{% macro read_lines(files) -%}
  {#- One row per physical line: source file, delivery date, 1-based line number, text (no line ending). -#}
  {%- if files | length == 0 -%}
    select null::varchar as source_file, null::date as delivery_date, null::bigint as line_no, null::varchar as line
    where false
  {%- else -%}
    select
        replace(filename, '{{ var("raw_path") }}/', '') as source_file,
        cast(regexp_extract(filename, 'date=(\d{4}-\d{2}-\d{2})', 1) as date) as delivery_date,
        generate_subscripts(lines, 1)::bigint as line_no,
        rtrim(unnest(lines), chr(13)) as line
    from (
        select filename, string_split(content, chr(10)) as lines
        from read_text([{% for f in files %}'{{ f }}'{{ "," if not loop.last }}{% endfor %}])
    )
  {%- endif -%}
{%- endmacro %}


{% macro csv_fields(line) -%}
  {#- RFC-4180 fields of one CSV line (quoted fields may hold commas and doubled quotes; not newlines). -#}
  list_transform(
      regexp_extract_all(',' || {{ line }}, ',("(?:[^"]|"")*"|[^,]*)', 1),
      lambda f: case when f like '"%' then replace(f[2:-2], '""', '"') else f end
  )
{%- endmacro %}


{% macro incremental_since(relation, date_column='delivery_date') -%}
  {#- First delivery date an incremental run re-reads: the latest loaded one minus the lookback. -#}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set rows = run_query("select max(" ~ date_column ~ ") - interval " ~ var('lookback_days') ~ " day from " ~ relation) -%}
  {%- set value = rows.columns[0].values()[0] -%}
  {{ return(value.strftime('%Y-%m-%d') if value else none) }}
{%- endmacro %}
