{#- One row per CRM contact: the latest valid version (by updated_at, then delivery order). -#}
with lines as (
    select * from {{ ref('base_crm__contact_lines') }}
),

valid as (
    select * from lines where reject_reason is null
),

latest as (
    select
        *,
        row_number() over (
            partition by customer_id order by updated_at desc, delivery_date desc, source_file desc, line_no desc
        ) as version_rank
    from valid
)

select
    customer_id,
    email,
    phone,
    first_name,
    last_name,
    birth_date,
    gender,
    city,
    country,
    signup_at,
    has_marketing_consent,
    loyalty_tier,
    income_bracket,
    interests,
    updated_at,
    delivery_date,
    source_file,
    line_no,
    loaded_at
from latest
where version_rank = 1
