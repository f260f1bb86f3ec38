{#- One row per shop order (latest version) in the reporting currency (var reporting_currency), with the buyer's person. Only
    completed orders count as revenue; refunded and cancelled ones are kept with is_completed = false.
    The per-person order features read it here; fct_orders is its mart view. -#}
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

-- the reporting currency's rate (assert_reporting_currency_has_a_rate fails the build when the seed lacks it)
reporting as (
    select eur_per_unit from {{ ref('fx_rates') }} where currency = '{{ var("reporting_currency") }}'
),

-- every order's customer_id is an identity node, so the e-mail is looked up only for guest checkouts
person_map as (
    select node_key, person_id from {{ ref('int_person_map') }}
    where id_type in ('customer_id', 'email')
)

select
    orders.order_id,
    person_map.person_id,
    orders.customer_id,
    orders.customer_id is null as is_guest_checkout,
    orders.ordered_at,
    orders.order_date,
    orders.status,
    orders.status = 'completed' as is_completed,
    orders.store_channel,
    orders.currency,
    orders.amount,
    -- an order in the reporting currency passes through unchanged; others at the seed's cross rate
    cast(case when orders.currency = '{{ var("reporting_currency") }}' then orders.amount
              else {{ round_half_up('orders.amount * fx.eur_per_unit / reporting.eur_per_unit', 2) }}
         end as decimal(18, 2)) as amount_reporting,
    coalesce(items.n_items, 0) as n_items,
    coalesce(items.n_units, 0)::bigint as n_units,
    items.main_category
from orders
inner join fx on fx.currency = orders.currency
cross join reporting
left join items on items.order_id = orders.order_id
left join person_map on person_map.node_key = coalesce('customer_id:' || orders.customer_id, 'email:' || orders.email)
