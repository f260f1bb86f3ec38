{#- fct_events.person_id is not null and names a profile, checked on the ~1/15 as many distinct device/user
    pairs instead of every event: an event gets its user's person, else its device's (the same joins as
    fct_events), and int_person_map.person_id -> dim_user_profile is tested on the map. Rows: pairs whose
    events would have no person. -#}
with pairs as (
    select anonymous_id, user_id from {{ ref('int_web_identity_pairs') }}
),

person_map as (
    select id_type, id_value, person_id from {{ ref('int_person_map') }}
)

select pairs.anonymous_id, pairs.user_id
from pairs
left join person_map as by_user
    on by_user.id_type = 'customer_id' and by_user.id_value = pairs.user_id
left join person_map as by_device
    on by_device.id_type = 'anonymous_id' and by_device.id_value = pairs.anonymous_id
where coalesce(by_user.person_id, by_device.person_id) is null
