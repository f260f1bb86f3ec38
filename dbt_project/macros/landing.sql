{#- Landing-zone readers. Files are listed once per model with DuckDB's glob() so that a run for
    as_of_date D reads only partitions delivered on or before D (and incremental runs only the lookback). -#}

{% macro given_as_of_date() -%}
  {#- The as_of_date the run was given: var as_of_date, else env SEGWAREHOUSE_AS_OF_DATE (how the pipeline
      passes it: read only at run time, so a new date keeps dbt's partial parsing), else ''. -#}
  {{ return(var('as_of_date') or (env_var('SEGWAREHOUSE_AS_OF_DATE', '') if execute else '')) }}
{%- endmacro %}


{% macro as_of_date() -%}
  {#- The given as_of_date (given_as_of_date), else the latest delivery in the landing zone. -#}
  {%- set given = given_as_of_date() -%}
  {%- if given -%}
    {{ return(given) }}
  {%- elif execute -%}
    {%- set rows = run_query(latest_delivery_date_sql()) -%}
    {%- set latest = rows.columns[0].values()[0] if rows and rows.columns[0].values() else none -%}
    {%- if not latest -%}
      {{ exceptions.raise_compiler_error("no files in the landing zone " ~ var('raw_path') ~ " (set SEGWAREHOUSE_RAW or generate data first)") }}
    {%- endif -%}
    {{ return(latest) }}
  {%- else -%}
    {{ return('1970-01-01') }}
  {%- endif -%}
{%- endmacro %}


{% macro latest_delivery_date_sql() -%}
  {{ return(adapter.dispatch('latest_delivery_date_sql', 'segwarehouse')()) }}
{%- endmacro %}

{% macro default__latest_delivery_date_sql() -%}
  {{ return("select max(delivery_date)::varchar from " ~ landing_ledger() ~ " where status in ('new', 'changed', 'loaded', 'reloaded')") }}
{%- endmacro %}


{% macro landing_ledger() -%}
  {#- The file ledger (segwarehouse.landing.ledger writes it before every build): the relation, after checking
      that it exists, so a dbt run by hand before any scan stops with what to do. Not source(): as_of_date()
      reads it from any model (and from unit tests); the base models declare the source for lineage. -#}
  {%- set ledger = api.Relation.create(database=target.database, schema='landing', identifier='file_ledger') -%}
  {%- if execute and target.type != 'spark' -%}
    {%- if adapter.get_relation(ledger.database, ledger.schema, ledger.identifier) is none -%}
      {{ exceptions.raise_compiler_error("the landing-zone file ledger " ~ ledger ~ " does not exist: build with `segwarehouse build` (it scans the landing zone first) or run `segwarehouse landing scan`") }}
    {%- endif -%}
  {%- endif -%}
  {{ return(ledger) }}
{%- endmacro %}


{% macro landing_files(source_name, incremental=false) -%}
  {#- Absolute paths of the accepted files of source_name delivered up to as_of_date, listed by the file ledger
      (never a glob: links, bad partitions and unexpected files are not in it). In an incremental run only the
      files whose content the warehouse does not hold yet (new, or changed since their load: by content hash). -#}
  {%- if not execute -%}{{ return([]) }}{%- endif -%}
  {{ return(adapter.dispatch('landing_files', 'segwarehouse')(source_name, incremental)) }}
{%- endmacro %}

{% macro default__landing_files(source_name, incremental=false) -%}
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
  {{ return(adapter.dispatch('read_lines', 'segwarehouse')(files, n_groups)) }}
{%- endmacro %}

{% macro default__read_lines(files, n_groups=4) -%}
  {#- One row per physical line: source file, delivery date, whether the file holds no visible character
      (is_blank_file: an empty delivery), 1-based line number, text (no line ending).
      read_text yields one row per file and the unnest and parsing after it run in that scan's pipeline, so
      the files are split round-robin into n_groups union-all branches that DuckDB runs in parallel (a
      materialized CTE would parallelize too, but holds every line of the history in memory). File-level
      columns are computed once per file, before the unnest; CRLF endings are folded per file (only in files with a CR) and a
      leading byte-order mark is dropped. File names
      come from the landing zone, so quotes in them are escaped. A 0-byte file yields one empty line 1. -#}
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
            from read_text({{ sql_file_list(files[group::n_groups]) }})
        )
    )
    {%- endfor %}
  {%- endif -%}
{%- endmacro %}


{% macro csv_fields(line) -%}
  {#- RFC-4180 fields of one CSV line (quoted fields may hold commas and doubled quotes; not newlines). -#}
  {{ return(adapter.dispatch('csv_fields', 'segwarehouse')(line)) }}
{%- endmacro %}

{% macro default__csv_fields(line) -%}
  {#- A line without a double quote is a plain split: the RFC-4180 pattern yields the same list for it and
      costs many times more. -#}
  case when contains({{ line }}, '"') then list_transform(
      regexp_extract_all(',' || {{ line }}, ',("(?:[^"]|"")*"|[^,]*)', 1),
      lambda f: case when f like '"%' then replace(f[2:-2], '""', '"') else f end
  ) else string_split({{ line }}, ',') end
{%- endmacro %}


{% macro incremental_since(relation, date_column='delivery_date') -%}
  {#- First delivery date an incremental run re-reads: the latest loaded one minus the lookback. -#}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set rows = run_query("select max(" ~ date_column ~ ") - interval " ~ var('lookback_days') ~ " day from " ~ relation) -%}
  {%- set value = rows.columns[0].values()[0] -%}
  {{ return(value.strftime('%Y-%m-%d') if value else none) }}
{%- endmacro %}


{% macro csv_landing_ctes(source_name) -%}
  {#- CTEs `lines`, `headers`, `fields` for the CSV files of one source that the run reads (landing_files):
      one row per data line with its file, delivery date, line number, raw text, the file's header line and
      the parsed fields `f`. -#}
  {%- set files = landing_files(source_name, is_incremental()) -%}
-- materialized: read once for both the header check and the fields (CSV files are small next to events)
with lines as {{ cte_materialized() }}(
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
  {#- The first reject rules of every CSV source: an empty file, the file's header, unbalanced quoting (an
      unclosed quoted field would otherwise be split and truncated silently), the line's field count. -#}
  when line_no = 1 then 'empty file: no header line'
  when header_line <> '{{ header }}' then 'header mismatch: expected ' || '{{ header }}'
  when (length(line) - length(replace(line, '"', ''))) % 2 = 1 then 'malformed line: unbalanced double quote'
  when n_fields <> {{ header.split(',') | length }} then 'malformed line: ' || n_fields || ' fields, expected {{ header.split(',') | length }}'
{%- endmacro %}


{% macro sql_file_list(files) -%}
  {#- A DuckDB list literal of file paths; paths come from the landing zone, so quotes in them are escaped. -#}
  [{% for f in files %}'{{ f | replace("'", "''") }}'{{ "," if not loop.last }}{% endfor %}]
{%- endmacro %}


{% macro load_timestamp() -%}
  {#- When the dbt invocation writing a row started (run_started_at, UTC): the loaded_at of line models, which
      the quality gate uses to validate only what a run loaded. -#}
  cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}
