{#- Spark versions of the landing-zone readers (macros/landing.sql). -#}

{% macro spark__read_lines(files, n_groups=4) -%}
  {#- A session temp view (text source, wholetext: one row per file) over exactly the listed files, named by one
      Hadoop glob '<folder>/{date=../f,date=../g}', exploded into numbered lines. -#}
  {%- if files | length == 0 -%}
    select cast(null as string) as source_file, cast(null as date) as delivery_date, cast(null as boolean) as is_blank_file,
           cast(null as bigint) as line_no, cast(null as string) as line
    where false
  {%- else -%}
    {%- set view = 'sw_landing_' ~ this.identifier -%}
    {%- set parts = [] -%}
    {%- for f in files -%}{%- do parts.append('date=' ~ f.split('/date=')[1]) -%}{%- endfor -%}
    {%- if execute -%}
      {%- do run_query("create or replace temporary view " ~ view ~ " using text options (path '"
                       ~ files[0].split('/date=')[0] ~ '/{' ~ parts | join(',') ~ '}' ~ "', wholetext 'true')") -%}
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
  {#- the session time zone is UTC (profiles.yml): an offset is applied, a timestamp without one is UTC -#}
  try_cast({{ expr }} as timestamp)
{%- endmacro %}
