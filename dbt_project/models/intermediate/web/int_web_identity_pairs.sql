{#- One row per distinct (anonymous_id, user_id) pair seen on a valid web event (either may be null, not
    both): every device, every logged-in user and every login link, read once for all identity models from
    the lifetime pair totals. -#}
{{ config(materialized='view') }}

select anonymous_id, user_id
from {{ ref('int_web_pair_totals') }}
