{#- One row per buying person: raw RFM inputs and order trends as of as_of_date. -#}
{%- set as_of = "cast('" ~ as_of_date() ~ "' as date)" -%}
with orders as (
    select * from {{ ref('fct_orders') }} where person_id is not null
)

select
    person_id,
    count(*) filter (where is_completed) as frequency,
    coalesce(sum(amount_reporting) filter (where is_completed), 0) as monetary,
    count(*) filter (where not is_completed) as refund_count,
    max(ordered_at) filter (where is_completed) as last_order_at,
    min(ordered_at) as first_order_at,
    max(ordered_at) as last_any_order_at,
    count(*) filter (where is_completed and order_date > {{ as_of }} - 30) as orders_last_30d,
    count(*) filter (where is_completed and order_date <= {{ as_of }} - 30 and order_date > {{ as_of }} - 60) as orders_prev_30d
from orders
group by person_id
