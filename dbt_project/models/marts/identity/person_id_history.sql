{#- Immutable log of person-id changes: when identities merge (or a flagged component is split), the
    old person_id is recorded with the id that replaced it, so scores and BI can follow a person.
    Compares the new int_person_map with the mapping published by the previous run (person_map_snapshot). -#}
{{ config(materialized='incremental', unique_key='history_key', incremental_strategy='delete+insert', on_schema_change='fail') }}

{%- set previous = adapter.get_relation(database=this.database, schema=this.schema, identifier='person_map_snapshot') -%}

with current_map as (
    select node_key, person_id from {{ ref('int_person_map') }}
),

{% if previous is not none %}
previous_map as (
    select node_key, person_id from {{ previous }}
),
{% else %}
previous_map as (
    select null::{{ string_type() }} as node_key, null::{{ string_type() }} as person_id where false
),
{% endif %}

changes as (
    select
        previous_map.person_id as old_person_id,
        current_map.person_id as new_person_id,
        count(*) as n_identifiers_moved
    from previous_map
    inner join current_map on current_map.node_key = previous_map.node_key
    where previous_map.person_id <> current_map.person_id
    group by 1, 2
)

select
    old_person_id || '>' || new_person_id || '@' || '{{ as_of_date() }}' as history_key,
    old_person_id,
    new_person_id,
    n_identifiers_moved,
    case
        when {{ in_subquery('old_person_id', 'select person_id from current_map', 'person_id') }} then 'split'
        else 'merge'
    end as change_type,
    cast('{{ as_of_date() }}' as date) as changed_as_of_date
from changes
