{% test unique_lines_per_file(model, column_name, file_column='source_file', line_column='line_no', load_column='loaded_at') %}
{#- Lines keyed by (file_column, line_column) (column_name: the line number or a key built from both): the key
    is unique when no file holds a line number twice. Checked on every line of the files of the latest load
    (a re-read file replaces all its lines; older files were tested when written). Rows: files with a
    repeated line number, or repeated (file, line) keys.
    On DuckDB, one bitmap of line numbers per file: its set bits count the distinct numbers (far cheaper than
    a group-by over (file, line)). The bitmaps span the files' line
    number range and may take up to var('line_bitmap_max_mb') (256 MB) together; past that, and on Spark,
    the plans below. -#}
{%- set latest = latest_load(model, load_column) %}
{%- set latest_files -%}
    select distinct {{ file_column }} from {{ model }} where {{ load_column }} = {{ latest.value }}
{%- endset %}
{#- when the latest load wrote most of the table (a full build), the bitmaps cover every file: cheaper than
    collecting the files of 20M lines first #}
{%- set bitmap_filter = '' if latest.share > 0.5 else ' where ' ~ file_column ~ ' in (' ~ latest_files ~ ')' %}
{%- set bounds = {} %}
{%- if execute and target.type == 'duckdb' %}
  {%- set found = run_query("select min(" ~ line_column ~ "), max(" ~ line_column ~ "), count(distinct " ~ file_column
        ~ ") from " ~ model ~ bitmap_filter).rows[0] %}
  {%- if found[0] is not none and (found[1] - found[0] + 1) * found[2] <= var('line_bitmap_max_mb') * 8 * 2 ** 20 %}
    {%- do bounds.update({'low': found[0], 'high': found[1]}) %}
  {%- endif %}
{%- endif %}
{%- if bounds %}
select
    {{ file_column }},
    count({{ line_column }}) as n_lines,
    bit_count(bitstring_agg({{ line_column }}, {{ bounds.low }}, {{ bounds.high }})) as n_line_numbers
from {{ model }}{{ bitmap_filter }}
group by {{ file_column }}
having count({{ line_column }}) <> bit_count(bitstring_agg({{ line_column }}, {{ bounds.low }}, {{ bounds.high }}))
{%- elif latest.share > 0.5 %}
{#- the latest load wrote most of the table (a full build): one group-by over (file, line) with the latest
    load as its max (cheaper than per-file distinct counts) #}
select {{ file_column }}, {{ line_column }}, count(*) as n_lines
from {{ model }}
group by {{ file_column }}, {{ line_column }}
having count(*) > 1 and max({{ load_column }}) = {{ latest.value }}
{%- else %}
select {{ file_column }}, count(*) as n_lines, count(distinct {{ line_column }}) as n_line_numbers
from {{ model }}
where {{ file_column }} in ({{ latest_files }})
group by {{ file_column }}
having count(*) <> count(distinct {{ line_column }})
{%- endif %}
{% endtest %}
