{#- fct_events.person_id is not null and names a profile, checked on the distinct device/user pairs (about
    1/15 of the events) instead of every event: an event gets its user's person, else its device's (the
    same joins as fct_events). Rows: pairs whose events would have no person, or a person with no profile. -#}
with pairs as (
    select anonymous_id, user_id from {{ ref('int_web_identity_pairs') }}
),

person_map as (
    select id_type, id_value, person_id from {{ ref('int_person_map') }}
),

profiles as (
    select person_id from {{ ref('dim_user_profile') }}
),

attributed as (
    select
        pairs.anonymous_id,
        pairs.user_id,
        coalesce(by_user.person_id, by_device.person_id) as person_id
    from pairs
    left join person_map as by_user
        on by_user.id_type = 'customer_id' and by_user.id_value = pairs.user_id
    left join person_map as by_device
        on by_device.id_type = 'anonymous_id' and by_device.id_value = pairs.anonymous_id
)

select attributed.anonymous_id, attributed.user_id, attributed.person_id
from attributed
left join profiles on profiles.person_id = attributed.person_id
where profiles.person_id is null
