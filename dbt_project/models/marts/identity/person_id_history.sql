{#- Immutable log of person-id changes: when identities merge (or a flagged component is split), the
    old person_id is recorded with the id that replaced it, so scores and BI can follow a person.
    Reads the person-map rows this run rewrote (mapped_as_of_date) whose id differs from the one they had
    before (previous_person_id). -#}
{{ config(materialized='incremental', unique_key='history_key', incremental_strategy='delete+insert', on_schema_change='fail') }}

with current_map as (
    select node_key, person_id, previous_person_id, mapped_as_of_date from {{ ref('int_person_map') }}
),

changes as (
    select
        previous_person_id as old_person_id,
        person_id as new_person_id,
        count(*) as n_identifiers_moved
    from current_map
    where mapped_as_of_date = cast('{{ as_of_date() }}' as date)
      and previous_person_id <> person_id
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
