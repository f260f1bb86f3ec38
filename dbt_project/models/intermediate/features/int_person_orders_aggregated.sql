{#- One row per buying person: the lifetime order facts (RFM inputs, first and last order). Nothing here
    depends on as_of_date: recency and RFM scores are int_person_rfm_scored's, the 30-day order counts
    int_person_recent_activity's. -#}
with orders as (
    select * from {{ ref('int_orders_attributed') }} where person_id is not null
)

select
    person_id,
    count(*) filter (where is_completed) as frequency,
    coalesce(sum(amount_reporting) filter (where is_completed), 0) as monetary,
    count(*) filter (where not is_completed) as refund_count,
    max(ordered_at) filter (where is_completed) as last_order_at,
    min(ordered_at) as first_order_at,
    max(ordered_at) as last_any_order_at
from orders
group by person_id
