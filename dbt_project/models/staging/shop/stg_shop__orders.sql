{#- One row per shop order: the latest valid version (a refund re-delivers the order with a new status). -#}
with lines as (
    select * from {{ ref('base_shop__order_lines') }}
    where reject_reason is null
),

latest as (
    select
        *,
        row_number() over (
            partition by order_id order by updated_at desc, delivery_date desc, source_file desc, line_no desc
        ) as version_rank
    from lines
)

select
    order_id,
    customer_id,
    email,
    ordered_at,
    cast(ordered_at as date) as order_date,
    currency,
    amount,
    status,
    store_channel,
    updated_at,
    delivery_date,
    source_file,
    line_no,
    loaded_at
from latest
where version_rank = 1
