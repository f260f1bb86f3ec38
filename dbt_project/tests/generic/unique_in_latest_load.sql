{% test unique_in_latest_load(model, column_name, load_column='loaded_at', load_model=none, partition_column=none) %}
{#- Values of column_name repeated among the rows the latest load wrote (load_column = its max), or between
    those rows and any other. For keys that name their file, where a re-read file replaces all its rows:
    rows of earlier loads were tested when written and cannot collide with each other afterwards.
    load_model: the stored table whose load_column the model (a view over it) passes through; the latest
    load and its share are read there (a min/max lookup) instead of through the view. The latest load is
    pasted in as a constant, so the filter on it reaches the stored table's scan and skips older row groups.
    A group holding a row of the latest load has that load's time as its max: when the latest load wrote
    most of the table (a full build), one group-by is cheaper than collecting its keys first.
    partition_column (with load_model; the model's rows are load_model rows, filtered, carrying both columns):
    the partitions holding any stored row with a key of the latest load are looked up in load_model first,
    with no filter (cheaper than probing through the view's filters), and pasted
    in as constants, so the model is read only in those partitions' row groups. -#}
{%- set latest = latest_load(load_model or model, load_column) %}
{%- if latest.share > 0.5 %}
select {{ column_name }}, count(*) as n_rows
from {{ model }}
group by {{ column_name }}
having count(*) > 1 and max({{ load_column }}) = {{ latest.value }}
{%- elif load_model is not none and partition_column is not none %}
{%- set partitions = [] %}
{%- if execute %}
  {%- set found = run_query("select distinct stored." ~ partition_column ~ " from " ~ load_model ~ " as stored inner join (select distinct "
        ~ column_name ~ " from " ~ load_model ~ " where " ~ load_column ~ " = " ~ latest.value ~ ") as latest_keys on stored."
        ~ column_name ~ " = latest_keys." ~ column_name ~ " where stored." ~ partition_column ~ " is not null") %}
  {%- for row in found.rows %}{% do partitions.append("'" ~ row[0] ~ "'") %}{% endfor %}
{%- endif %}
select {{ column_name }}, count(*) as n_rows
from {{ model }}
where {% if partitions %}{{ partition_column }} in ({{ partitions | join(', ') }}){% else %}false{% endif %}
  and {{ column_name }} in (select {{ column_name }} from {{ model }} where {{ load_column }} = {{ latest.value }})
group by {{ column_name }}
having count(*) > 1
{%- else %}
with latest as (
    select {{ column_name }} from {{ model }}
    where {{ load_column }} = {{ latest.value }}
)

-- a join from the latest keys, not `in (subquery)`: DuckDB then probes the model's rows against the few keys
-- early, also when the model is a view with joins of its own
select model_rows.{{ column_name }}, count(*) as n_rows
from (select distinct {{ column_name }} from latest) as latest_keys
inner join {{ model }} as model_rows on model_rows.{{ column_name }} = latest_keys.{{ column_name }}
group by model_rows.{{ column_name }}
having count(*) > 1
{%- endif %}
{% endtest %}
