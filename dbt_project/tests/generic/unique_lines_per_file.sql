{% test unique_lines_per_file(model, column_name, file_column='source_file', line_column='line_no', load_column='loaded_at') %}
{#- Lines keyed by (file_column, line_column) (column_name: the line number or a key built from both): the key
    is unique when no file holds a line number twice. Checked per file on the files of the latest load (a re-read file replaces
    all its lines; older files were tested when written): a per-file distinct count over integer line
    numbers instead of hashing every key string. Rows: files with a repeated line number. -#}
select {{ file_column }}, count(*) as n_lines, count(distinct {{ line_column }}) as n_line_numbers
from {{ model }}
where {{ file_column }} in (
    select {{ file_column }} from {{ model }}
    where {{ load_column }} = (select max({{ load_column }}) from {{ model }})
)
group by {{ file_column }}
having count(*) <> count(distinct {{ line_column }})
{% endtest %}
