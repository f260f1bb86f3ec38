{#- One row per person with web activity: engagement inputs over the last 28 days, 30-day trends,
    preferences, behavioural triggers (cart abandonment, repeat visits, product interest) and lifetime
    browsing counts. Counts come from the daily activity of the person's identifier pairs
    (int_web_activity_daily, incremental); only cart abandonment reads events, those of the last 30 days. -#}
{%- set as_of = "cast('" ~ as_of_date() ~ "' as date)" -%}
{%- set as_of_end = "(cast('" ~ as_of_date() ~ "' as date) + interval 1 day)" -%}
with person_map as (
    select id_type, id_value, person_id from {{ ref('int_person_map') }}
),

days as (
    select coalesce(by_user.person_id, by_device.person_id) as person_id, activity.*
    from {{ ref('int_web_activity_daily') }} as activity
    left join person_map as by_user
        on by_user.id_type = 'customer_id' and by_user.id_value = activity.user_id
    left join person_map as by_device
        on by_device.id_type = 'anonymous_id' and by_device.id_value = activity.anonymous_id
),

sessions as (
    select * from {{ ref('fct_sessions') }} where person_id is not null
),

event_stats as (
    select
        person_id,
        min(first_event_at) as first_event_at,
        max(last_event_at) as last_event_at,
        cast(coalesce(sum(n_events) filter (where event_date > {{ as_of }} - 30), 0) as bigint) as events_last_30d,
        cast(coalesce(sum(n_events) filter (where event_date <= {{ as_of }} - 30 and event_date > {{ as_of }} - 60), 0) as bigint) as events_prev_30d,
        cast(coalesce(sum(n_page_views) filter (where event_date > {{ as_of }} - 28), 0) as bigint) as page_views_28d,
        cast(coalesce(sum(n_email_opens) filter (where event_date > {{ as_of }} - 28), 0) as bigint) as email_opens_28d,
        cast(coalesce(sum(n_email_clicks) filter (where event_date > {{ as_of }} - 28), 0) as bigint) as email_clicks_28d,
        cast(sum(n_page_views + n_searches) as bigint) as browse_events,
        cast(sum(n_product_views) as bigint) as product_views,
        cast(sum(n_searches) as bigint) as searches
    from days
    where person_id is not null
    group by person_id
),

session_stats as (
    select
        person_id,
        count(*) as sessions_count,
        count(*) filter (where session_date > {{ as_of }} - 30) as sessions_last_30d,
        count(*) filter (where session_date > {{ as_of }} - 28) as sessions_28d,
        avg(duration_seconds) filter (where session_date > {{ as_of }} - 28) / 60.0 as avg_session_minutes
    from sessions
    group by person_id
),

-- session counts per device and per channel of each person in one pass over the sessions
session_mix as (
    select person_id, device, channel, grouping(channel) as by_device, count(*) as n
    from sessions
    group by grouping sets ((person_id, device), (person_id, channel))
),

preferences as (
    select person_id, {{ first_by('device', ['n desc', 'device']) }} as preferred_device
    from session_mix
    where by_device = 1
    group by person_id
),

channels as (
    select person_id, {{ first_by('channel', ['n desc', 'channel']) }} as preferred_channel
    from session_mix
    where by_device = 0
    group by person_id
),

categories as (
    select
        person_id,
        {{ first_by('category', ['n desc', 'category']) }} as top_category,
        max(n) / sum(n) as top_category_share
    from (
        select person_id, category, sum(n_category_events) as n
        from days
        where person_id is not null and category is not null and n_category_events > 0
        group by 1, 2
    )
    group by person_id
),

repeat_visits as (
    select person_id, max(n) >= 2 as is_repeat_visitor
    from (
        select person_id, date_trunc('week', session_date) as week, count(*) as n
        from sessions where session_date > {{ as_of }} - 28
        group by 1, 2
    )
    group by person_id
),

interest as (
    select person_id, {{ first_by('category', ['n desc', 'category']) }} as product_interest_category
    from (
        select person_id, date_trunc('week', event_date) as week, category, sum(n_product_views) as n
        from days
        where person_id is not null and n_product_views > 0 and event_date > {{ as_of }} - 28 and category is not null
        group by 1, 2, 3
    )
    where n > 3
    group by person_id
),

-- a cart of the last 30 days is abandoned unless a purchase follows within 24 hours; that purchase is later,
-- so events before the window cannot matter (the event scan skips them by the stored event_at ranges)
carts as (
    select
        person_id,
        event_at,
        min(case when event_type = 'purchase' then event_at end) over (
            partition by person_id order by event_at, event_id rows between current row and unbounded following
        ) as next_purchase_at,
        event_type
    from {{ ref('fct_events') }}
    where person_id is not null
      and event_type in ('add_to_cart', 'purchase')
      and event_at > {{ as_of_end }} - interval 30 day
),

abandonment as (
    select
        person_id,
        count(*) filter (where event_at > {{ as_of_end }} - interval 30 day) as abandoned_carts_30d,
        bool_or(event_at > {{ as_of_end }} - interval 8 day) as has_abandoned_cart
    from carts
    where event_type = 'add_to_cart'
      and event_at <= {{ as_of_end }} - interval 24 hour
      and (next_purchase_at is null or next_purchase_at > event_at + interval 24 hour)
    group by person_id
)

select
    event_stats.*,
    coalesce(session_stats.sessions_count, 0) as sessions_count,
    coalesce(session_stats.sessions_last_30d, 0) as sessions_last_30d,
    coalesce(session_stats.sessions_28d, 0) as sessions_28d,
    session_stats.avg_session_minutes,
    preferences.preferred_device,
    channels.preferred_channel,
    categories.top_category,
    categories.top_category_share,
    coalesce(repeat_visits.is_repeat_visitor, false) as is_repeat_visitor,
    interest.product_interest_category,
    coalesce(abandonment.abandoned_carts_30d, 0) as abandoned_carts_30d,
    coalesce(abandonment.has_abandoned_cart, false) as has_abandoned_cart
from event_stats
left join session_stats on session_stats.person_id = event_stats.person_id
left join preferences on preferences.person_id = event_stats.person_id
left join channels on channels.person_id = event_stats.person_id
left join categories on categories.person_id = event_stats.person_id
left join repeat_visits on repeat_visits.person_id = event_stats.person_id
left join interest on interest.person_id = event_stats.person_id
left join abandonment on abandonment.person_id = event_stats.person_id
