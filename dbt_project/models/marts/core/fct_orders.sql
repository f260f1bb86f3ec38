{#- One row per shop order (latest version) in the reporting currency, with the buyer's person. Only
    completed orders count as revenue; refunded and cancelled ones are kept with is_completed = false. -#}
with orders as (
    select * from {{ ref('stg_shop__orders') }}
),

items as (
    select order_id, count(*) as n_items, sum(quantity) as n_units,
           {{ first_by('category', ['quantity * unit_price desc', 'line_number']) }} as main_category
    from {{ ref('stg_shop__order_items') }}
    group by order_id
),

fx as (
    select currency, eur_per_unit from {{ ref('fx_rates') }}
),

person_map as (
    select node_key, person_id from {{ ref('int_person_map') }}
)

select
    orders.order_id,
    coalesce(by_customer.person_id, by_email.person_id) as person_id,
    orders.customer_id,
    orders.customer_id is null as is_guest_checkout,
    orders.ordered_at,
    orders.order_date,
    orders.status,
    orders.status = 'completed' as is_completed,
    orders.store_channel,
    orders.currency,
    orders.amount,
    cast({{ round_half_up('orders.amount * fx.eur_per_unit', 2) }} as decimal(18, 2)) as amount_reporting,
    coalesce(items.n_items, 0) as n_items,
    coalesce(items.n_units, 0)::bigint as n_units,
    items.main_category
from orders
inner join fx on fx.currency = orders.currency
left join items on items.order_id = orders.order_id
left join person_map as by_customer on by_customer.node_key = 'customer_id:' || orders.customer_id
left join person_map as by_email on by_email.node_key = 'email:' || orders.email
