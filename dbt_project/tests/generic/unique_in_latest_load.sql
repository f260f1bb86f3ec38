{% test unique_in_latest_load(model, column_name, load_column='loaded_at') %}
{#- Values of column_name repeated among the rows the latest load wrote (load_column = its max), or between
    those rows and any other. For keys that name their file, where a re-read file replaces all its rows:
    rows of earlier loads were tested when written and cannot collide with each other afterwards. -#}
with latest as (
    select {{ column_name }} from {{ model }}
    where {{ load_column }} = (select max({{ load_column }}) from {{ model }})
)

select {{ column_name }}, count(*) as n_rows
from {{ model }}
where {{ column_name }} in (select {{ column_name }} from latest)
group by {{ column_name }}
having count(*) > 1
{% endtest %}
