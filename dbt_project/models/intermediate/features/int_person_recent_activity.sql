{#- One row per person active in the 60 days up to as_of_date: every figure that moves because the calendar
    moved, computed each run from the stored facts of those days only (so its cost follows the window, not
    the history): web events in the last 30 days and the 30 before, page views and e-mail opens/clicks in
    the last 28 days, the product interest (more than 3 product views of a category in one week of the last
    28 days), sessions in the last 30/28 days, their mean length and repeat visits (two or more sessions in
    one calendar week of the last 28 days), abandoned carts (a cart of the last 30 days with no purchase
    within 24 hours, called once 24 hours have passed; 8 days for the flag) and completed orders in the last
    30 days and the 30 before. Web rows are attributed like fct_events / fct_sessions. -#}
{%- set as_of = "cast('" ~ as_of_date() ~ "' as date)" -%}
{%- set as_of_end = "(cast('" ~ as_of_date() ~ "' as date) + interval 1 day)" %}
with person_map as (
    select node_key, person_id from {{ ref('int_person_map') }}
    where id_type in ('customer_id', 'anonymous_id')
),

-- the daily counts of the last 60 days (a constant bound on event_date skips the older row groups)
recent_days as (
    select person_map.person_id, activity.*
    from {{ ref('int_web_activity_daily') }} as activity
    inner join person_map on person_map.node_key = {{ web_node_key('activity.user_id', 'activity.anonymous_id') }}
    where activity.event_date > {{ as_of }} - 60
),

web as (
    select
        person_id,
        cast(sum(n_events) filter (where event_date > {{ as_of }} - 30) as bigint) as events_last_30d,
        cast(sum(n_events) filter (where event_date <= {{ as_of }} - 30) as bigint) as events_prev_30d,
        cast(sum(n_page_views) filter (where event_date > {{ as_of }} - 28) as bigint) as page_views_28d,
        cast(sum(n_email_opens) filter (where event_date > {{ as_of }} - 28) as bigint) as email_opens_28d,
        cast(sum(n_email_clicks) filter (where event_date > {{ as_of }} - 28) as bigint) as email_clicks_28d
    from recent_days
    group by person_id
),

interest as (
    select person_id, {{ first_by('category', ['n desc', 'category']) }} as product_interest_category
    from (
        select person_id, date_trunc('week', event_date) as week, category, sum(n_product_views) as n
        from recent_days
        where n_product_views > 0 and event_date > {{ as_of }} - 28 and category is not null
        group by 1, 2, 3
    )
    where n > 3
    group by person_id
),

sessions as (
    select
        person_map.person_id,
        cast(sessions.session_start_at as date) as session_date,
        sessions.duration_seconds
    from {{ ref('int_sessions_sessionized') }} as sessions
    inner join person_map on person_map.node_key = {{ web_node_key('sessions.user_id', 'sessions.anonymous_id') }}
    where sessions.session_start_at >= {{ as_of }} - 29
),

session_windows as (
    select
        person_id,
        count(*) as sessions_last_30d,
        count(*) filter (where session_date > {{ as_of }} - 28) as sessions_28d,
        avg(duration_seconds) filter (where session_date > {{ as_of }} - 28) / 60.0 as avg_session_minutes
    from sessions
    group by person_id
),

repeat_visits as (
    select person_id, max(n) >= 2 as is_repeat_visitor
    from (
        select person_id, date_trunc('week', session_date) as week, count(*) as n
        from sessions
        where session_date > {{ as_of }} - 28
        group by 1, 2
    )
    group by person_id
),

-- a purchase after a cart of the window is later, so events before the window cannot matter (the event scan
-- skips them by the stored event_at ranges)
carts as (
    select
        person_map.person_id,
        events.event_at,
        min(case when events.event_type = 'purchase' then events.event_at end) over (
            partition by person_map.person_id order by events.event_at, events.event_id
            rows between current row and unbounded following
        ) as next_purchase_at,
        events.event_type
    from {{ ref('stg_web__events') }} as events
    inner join person_map on person_map.node_key = {{ web_node_key('events.user_id', 'events.anonymous_id') }}
    where events.event_type in ('add_to_cart', 'purchase')
      and events.event_at > {{ as_of_end }} - interval 30 day
),

abandonment as (
    select
        person_id,
        count(*) as abandoned_carts_30d,
        bool_or(event_at > {{ as_of_end }} - interval 8 day) as has_abandoned_cart
    from carts
    where event_type = 'add_to_cart'
      and event_at <= {{ as_of_end }} - interval 24 hour
      and (next_purchase_at is null or next_purchase_at > event_at + interval 24 hour)
    group by person_id
),

orders as (
    select
        person_id,
        count(*) filter (where order_date > {{ as_of }} - 30) as orders_last_30d,
        count(*) filter (where order_date <= {{ as_of }} - 30) as orders_prev_30d
    from {{ ref('int_orders_attributed') }}
    where person_id is not null and is_completed and order_date > {{ as_of }} - 60
    group by person_id
),

persons as (
    select person_id from web
    union
    select person_id from session_windows
    union
    select person_id from abandonment
    union
    select person_id from orders
)

select
    persons.person_id,
    coalesce(web.events_last_30d, 0) as events_last_30d,
    coalesce(web.events_prev_30d, 0) as events_prev_30d,
    coalesce(web.page_views_28d, 0) as page_views_28d,
    coalesce(web.email_opens_28d, 0) as email_opens_28d,
    coalesce(web.email_clicks_28d, 0) as email_clicks_28d,
    interest.product_interest_category,
    coalesce(session_windows.sessions_last_30d, 0) as sessions_last_30d,
    coalesce(session_windows.sessions_28d, 0) as sessions_28d,
    session_windows.avg_session_minutes,
    coalesce(repeat_visits.is_repeat_visitor, false) as is_repeat_visitor,
    coalesce(abandonment.abandoned_carts_30d, 0) as abandoned_carts_30d,
    coalesce(abandonment.has_abandoned_cart, false) as has_abandoned_cart,
    coalesce(orders.orders_last_30d, 0) as orders_last_30d,
    coalesce(orders.orders_prev_30d, 0) as orders_prev_30d
from persons
left join web on web.person_id = persons.person_id
left join interest on interest.person_id = persons.person_id
left join session_windows on session_windows.person_id = persons.person_id
left join repeat_visits on repeat_visits.person_id = persons.person_id
left join abandonment on abandonment.person_id = persons.person_id
left join orders on orders.person_id = persons.person_id
