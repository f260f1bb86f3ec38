{% test primary_key(model, column_name) %}
{#- column_name is unique and never null: dbt's unique and not_null in one query (one node and one scan
    instead of two; ~20 keys are checked on every build). Rows: each null or repeated value with its count. -#}
select {{ column_name }}, count(*) as n_rows
from {{ model }}
group by {{ column_name }}
having count(*) > 1 or {{ column_name }} is null
{% endtest %}
