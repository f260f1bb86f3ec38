{#- One row per distinct (anonymous_id, user_id) pair seen on a valid web event (either may be null, not
    both): every device, every logged-in user and every login link, read once for all identity models from
    the daily activity counts (half the rows of the event history). -#}
select distinct anonymous_id, user_id
from {{ ref('int_web_activity_daily') }}
