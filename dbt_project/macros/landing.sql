{#- Landing-zone readers: a run reads the files the file ledger accepted, delivered up to as_of_date (and an
    incremental run only those new or changed since their load). -#}

{% macro given_as_of_date() -%}
  {#- why: a var is fixed at parse time; the pipeline passes the date in env SEGWAREHOUSE_AS_OF_DATE, read at run time -#}
  {{ return(var('as_of_date') or (env_var('SEGWAREHOUSE_AS_OF_DATE', '') if execute else '')) }}
{%- endmacro %}

{% macro as_of_date() -%}
  {#- why: dbt has no run date taken from the data: the given date, else the latest accepted delivery -#}
  {%- set given = given_as_of_date() -%}
  {%- if given -%}
    {{ return(given) }}
  {%- elif execute -%}
    {%- set rows = run_query("select cast(max(delivery_date) as string) from " ~ landing_ledger()
                             ~ " where status in ('new', 'changed', 'loaded', 'reloaded')") -%}
    {%- set latest = rows.columns[0].values()[0] if rows and rows.columns[0].values() else none -%}
    {%- if not latest -%}
      {{ exceptions.raise_compiler_error("no files in the landing zone " ~ var('raw_path') ~ " (set SEGWAREHOUSE_RAW or generate data first)") }}
    {%- endif -%}
    {{ return(latest) }}
  {%- else -%}
    {{ return('1970-01-01') }}
  {%- endif -%}
{%- endmacro %}

{% macro landing_ledger() -%}
  {#- why: as_of_date() reads the ledger from any model and unit test, where source() is out of reach; it stops
      with what to do when no scan wrote the ledger yet. Spark reads the ledger's Parquet export
      (`segwarehouse landing scan --parquet PATH`, SEGWAREHOUSE_LEDGER_PARQUET), so it lists the same files. -#}
  {%- if target.type == 'spark' -%}
    {%- set path = env_var('SEGWAREHOUSE_LEDGER_PARQUET', '') -%}
    {%- if execute and not path -%}
      {{ exceptions.raise_compiler_error("set SEGWAREHOUSE_LEDGER_PARQUET to the file ledger exported by `segwarehouse landing scan --parquet PATH`") }}
    {%- endif -%}
    {{ return("parquet.`" ~ path ~ "`") }}
  {%- endif -%}
  {%- set ledger = api.Relation.create(database=target.database, schema='landing', identifier='file_ledger') -%}
  {%- if execute and adapter.get_relation(ledger.database, ledger.schema, ledger.identifier) is none -%}
    {{ exceptions.raise_compiler_error("the landing-zone file ledger " ~ ledger ~ " does not exist: build with `segwarehouse build` (it scans the landing zone first) or run `segwarehouse landing scan`") }}
  {%- endif -%}
  {{ return(ledger) }}
{%- endmacro %}

{% macro landing_files(source_name, incremental=false) -%}
  {#- why: dbt cannot list files; the accepted files of source_name up to as_of_date, from the ledger (never a glob) -#}
  {%- if not execute -%}{{ return([]) }}{%- endif -%}
  {%- set sql -%}
    select '{{ var("raw_path") }}/' || source_file from {{ landing_ledger() }}
    where source_name = '{{ source_name }}' and status in ('new', 'changed', 'loaded', 'reloaded')
      and delivery_date <= '{{ as_of_date() }}'
      {%- if incremental %} and loaded_hash is distinct from content_hash{% endif %}
    order by source_file
  {%- endset -%}
  {{ return(run_query(sql).columns[0].values() | list) }}
{%- endmacro %}

{% macro read_lines(files, n_groups=4) -%}
  {#- why: dbt has no file reader; one row per physical line with its file, delivery date and line number -#}
  {{ return(adapter.dispatch('read_lines', 'segwarehouse')(files, n_groups)) }}
{%- endmacro %}

{% macro default__read_lines(files, n_groups=4) -%}
  {#- read_text yields a row per file and the parse after the unnest runs in that scan's pipeline, so the files
      are split round-robin into n_groups union-all branches that run in parallel (a materialized CTE would
      hold every line in memory). File-level columns are computed once per file, before the unnest. -#}
  {%- if files | length == 0 -%}
    select null::varchar as source_file, null::date as delivery_date, null::boolean as is_blank_file,
           null::bigint as line_no, null::varchar as line
    where false
  {%- else -%}
    {%- for group in range([n_groups, files | length] | min) %}
    {% if not loop.first %}union all{% endif %}
    -- a UTF-8 byte-order mark (spreadsheet exports write one) is not part of the first line
    select source_file, delivery_date, is_blank_file, line_no,
           case when line_no = 1 then ltrim(line, chr(65279)) else line end as line
    from (
        select source_file, delivery_date, is_blank_file, generate_subscripts(lines, 1)::bigint as line_no,
               unnest(lines) as line
        from (
            select
                replace(filename, '{{ var("raw_path") }}/', '') as source_file,
                -- stops at the first visible character: no copy of the file
                not regexp_matches(content, '[^\s\x{FEFF}]') as is_blank_file,
                cast(regexp_extract(filename, 'date=(\d{4}-\d{2}-\d{2})', 1) as date) as delivery_date,
                -- the fold copies the whole file, so only files that hold a CR are folded
                string_split(
                    case when contains(content, chr(13)) then replace(content, chr(13) || chr(10), chr(10)) else content end,
                    chr(10)
                ) as lines
            from read_text([{% for f in files[group::n_groups] %}'{{ f | replace("'", "''") }}'{{ "," if not loop.last }}{% endfor %}])
        )
    )
    {%- endfor %}
  {%- endif -%}
{%- endmacro %}

{% macro csv_fields(line) -%}
  {#- why: dbt has no CSV split; RFC-4180 fields of one line (quoted commas and doubled quotes; no newlines) -#}
  {{ return(adapter.dispatch('csv_fields', 'segwarehouse')(line)) }}
{%- endmacro %}
{% macro default__csv_fields(line) -%}
  {#- a line without a double quote is a plain split: the same list, many times cheaper than the pattern -#}
  case when contains({{ line }}, '"') then list_transform(
      regexp_extract_all(',' || {{ line }}, ',("(?:[^"]|"")*"|[^,]*)', 1),
      lambda f: case when f like '"%' then replace(f[2:-2], '""', '"') else f end
  ) else string_split({{ line }}, ',') end
{%- endmacro %}

{% macro incremental_since(relation, date_column='delivery_date') -%}
  {#- why: dbt has no lookback window; the first delivery date an incremental run re-reads -#}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set rows = run_query("select max(" ~ date_column ~ ") - interval " ~ var('lookback_days') ~ " day from " ~ relation) -%}
  {%- set value = rows.columns[0].values()[0] -%}
  {{ return(value.strftime('%Y-%m-%d') if value else none) }}
{%- endmacro %}

{% macro csv_landing_ctes(source_name) -%}
  {#- why: shared by the three CSV base models: CTEs lines, headers and fields (each data line, its file's header
      line and its parsed fields f) of the files the run reads -#}
  {%- set files = landing_files(source_name, is_incremental()) -%}
-- materialized: read once for both the header check and the fields (CSV files are small next to events)
with lines as {% if target.type != 'spark' %}materialized {% endif %}(
    {{ read_lines(files) }}
),

headers as (
    select source_file, line as header_line from lines where line_no = 1
),

fields as (
    select
        lines.source_file,
        lines.delivery_date,
        lines.line_no,
        lines.line,
        headers.header_line,
        {{ csv_fields('lines.line') }} as f
    from lines
    left join headers on headers.source_file = lines.source_file
    -- data lines; and line 1 of a file whose first line is empty (a 0-byte delivery), so that it is quarantined
    where (lines.line_no > 1 and lines.line <> '') or (lines.line_no = 1 and lines.line = '')
)
{%- endmacro %}

{% macro csv_shape_rejects(header) -%}
  {#- why: shared by the three CSV base models: empty file, header, unbalanced quote (a split would truncate the
      field silently), field count -#}
  when line_no = 1 then 'empty file: no header line'
  when header_line <> '{{ header }}' then 'header mismatch: expected ' || '{{ header }}'
  when (length(line) - length(replace(line, '"', ''))) % 2 = 1 then 'malformed line: unbalanced double quote'
  when n_fields <> {{ header.split(',') | length }} then 'malformed line: ' || n_fields || ' fields, expected {{ header.split(',') | length }}'
{%- endmacro %}

{% macro load_timestamp() -%}
  {#- why: dbt has no load time column; when the writing dbt invocation started (UTC), the rows' loaded_at -#}
  cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}
