{{ config(tags=['whole_table']) }}
{#- fct_events.person_id is not null and names a profile, checked on the distinct device/user pairs (about
    1/15 of the events) instead of every event: an event gets its user's person, else its device's (the
    same lookup as fct_events, web_node_key). Rows: pairs whose events would have no person, or a person with no profile. -#}
with pairs as (
    select anonymous_id, user_id from {{ ref('int_web_identity_pairs') }}
),

person_map as (
    select node_key, person_id from {{ ref('int_person_map') }}
    where id_type in ('customer_id', 'anonymous_id')
),

profiles as (
    select person_id from {{ ref('dim_user_profile') }}
),

attributed as (
    select
        pairs.anonymous_id,
        pairs.user_id,
        person_map.person_id
    from pairs
    left join person_map on person_map.node_key = {{ web_node_key('pairs.user_id', 'pairs.anonymous_id') }}
)

select attributed.anonymous_id, attributed.user_id, attributed.person_id
from attributed
left join profiles on profiles.person_id = attributed.person_id
where profiles.person_id is null
