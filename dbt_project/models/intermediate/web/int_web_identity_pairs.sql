{#- One row per distinct (anonymous_id, user_id) pair seen on a valid web event (either may be null, not
    both): every device, every logged-in user and every login link, read from the event history once for
    all identity models instead of once per model. -#}
select distinct anonymous_id, user_id
from {{ ref('stg_web__events') }}
