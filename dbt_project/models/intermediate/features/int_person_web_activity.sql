{#- One row per person with web activity: engagement inputs over the last 28 days, 30-day trends,
    preferences, behavioural triggers (cart abandonment, repeat visits, product interest) and lifetime
    browsing counts. Lifetime counts add up the totals of the person's identifier pairs and attribution
    nodes (int_web_pair_totals, int_web_node_category_totals; incremental); windowed counts read the daily
    activity of the last 60 days (int_web_activity_daily); session figures come from int_person_session_stats;
    only cart abandonment reads events, those of the last 30 days.
    Incremental on DuckDB: a run recomputes the persons whose events, identifiers, session figures or window
    days changed (person_features_recompute_prehook). The windows, in days before as_of_date whose events
    change a figure when as_of_date moves: 0 and 1 (a cart becomes 24 hours old), 7 and 8 (the 8-day flag
    on event_at), 28, 29 and 30 (28-day counts, the 30-day cart window on event_at, 30-day counts), 60. The
    persons whose session figures were recomputed are recomputed here too (the same criteria select them
    today; naming them keeps this model right if the session figures gain a window). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ person_features_recompute_prehook([0, 1, 7, 8, 28, 29, 30, 60], ref('int_web_activity_daily'), 'event_date', \"select person_id from \" ~ ref('int_person_session_stats') ~ \" where computed_at > {watermark}\") }}"
) }}
{%- set as_of = "cast('" ~ as_of_date() ~ "' as date)" -%}
{%- set as_of_end = "(cast('" ~ as_of_date() ~ "' as date) + interval 1 day)" %}
-- the pre-hook reads: {{ ref('base_web__event_lines') }}
with person_map as (
    select node_key, person_id from {{ ref('int_person_map') }}
    where id_type in ('customer_id', 'anonymous_id') and {{ recompute_filter('person_id', 'person_id') }}
),

pairs as (
    select person_map.person_id, totals.*
    from {{ ref('int_web_pair_totals') }} as totals
    inner join person_map on person_map.node_key = totals.node_key
),

lifetime as (
    select
        person_id,
        min(first_event_at) as first_event_at,
        max(last_event_at) as last_event_at,
        cast(sum(browse_events) as bigint) as browse_events,
        cast(sum(product_views) as bigint) as product_views,
        cast(sum(searches) as bigint) as searches
    from pairs
    group by person_id
),

-- the daily counts of the last 60 days (a constant bound on event_date skips the older row groups)
recent_days as (
    select person_map.person_id, activity.*
    from {{ ref('int_web_activity_daily') }} as activity
    inner join person_map on person_map.node_key = {{ web_node_key('activity.user_id', 'activity.anonymous_id') }}
    where activity.event_date > {{ as_of }} - 60
),

recent as (
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

event_stats as (
    select
        lifetime.person_id,
        lifetime.first_event_at,
        lifetime.last_event_at,
        coalesce(recent.events_last_30d, 0) as events_last_30d,
        coalesce(recent.events_prev_30d, 0) as events_prev_30d,
        coalesce(recent.page_views_28d, 0) as page_views_28d,
        coalesce(recent.email_opens_28d, 0) as email_opens_28d,
        coalesce(recent.email_clicks_28d, 0) as email_clicks_28d,
        lifetime.browse_events,
        lifetime.product_views,
        lifetime.searches
    from lifetime
    left join recent on recent.person_id = lifetime.person_id
),

categories as (
    select
        person_id,
        {{ first_by('category', ['n desc', 'category']) }} as top_category,
        max(n) / sum(n) as top_category_share
    from (
        select person_map.person_id, totals.category, sum(totals.n_category_events) as n
        from {{ ref('int_web_node_category_totals') }} as totals
        inner join person_map on person_map.node_key = totals.node_key
        group by 1, 2
    )
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
    select * from {{ ref('int_person_session_stats') }}
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
    where person_id is not null and {{ recompute_filter('person_id', 'person_id') }}
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
    coalesce(sessions.sessions_count, 0) as sessions_count,
    coalesce(sessions.sessions_last_30d, 0) as sessions_last_30d,
    coalesce(sessions.sessions_28d, 0) as sessions_28d,
    sessions.avg_session_minutes,
    sessions.preferred_device,
    sessions.preferred_channel,
    categories.top_category,
    categories.top_category_share,
    coalesce(sessions.is_repeat_visitor, false) as is_repeat_visitor,
    interest.product_interest_category,
    coalesce(abandonment.abandoned_carts_30d, 0) as abandoned_carts_30d,
    coalesce(abandonment.has_abandoned_cart, false) as has_abandoned_cart,
    {{ person_features_bookkeeping() }}
from event_stats
left join sessions on sessions.person_id = event_stats.person_id
left join categories on categories.person_id = event_stats.person_id
left join interest on interest.person_id = event_stats.person_id
left join abandonment on abandonment.person_id = event_stats.person_id
