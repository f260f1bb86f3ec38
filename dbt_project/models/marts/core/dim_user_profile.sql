{#- The unified user profile: one row per resolved person, as of as_of_date (docs/profile.md). The stored
    per-person facts (int_person_*: incremental, touched only for persons with new data) joined with the
    figures that move with the calendar: the recent windows (int_person_recent_activity), RFM scores and
    everything derived here from as_of_date (age, tenure, days since, lifecycle). Rebuilt every run. -#}
{%- set as_of = "cast('" ~ as_of_date() ~ "' as date)" -%}
{#- the engagement score's points before rounding (seed articles: 15+ pages/week high, >10 min sessions
    engaged); read in `derived` below -#}
{%- set engagement_points -%}
    100 * (
        0.40 * least(page_views_per_week / {{ var('engagement_pages_per_week') }}, 1)
      + 0.25 * least(coalesce(avg_session_minutes, 0) / {{ var('engagement_session_minutes') }}, 1)
      + 0.20 * least(sessions_per_week / {{ var('engagement_sessions_per_week') }}, 1)
      + 0.15 * least((email_opens_28d + 2 * email_clicks_28d) / {{ var('engagement_email_points') }}, 1)
    )
{%- endset %}
with persons as (
    select
        person_id,
        count(*) filter (where id_type = 'customer_id') as n_customer_nodes,
        count(*) filter (where id_type = 'anonymous_id') as n_anonymous_ids,
        bool_or(is_identity_flagged) as is_identity_flagged
    from {{ ref('int_person_map') }}
    group by person_id
    having bool_or(is_actor)
),

contacts as (
    select * from {{ ref('int_person_contacts_aggregated') }}
),

orders as (
    select * from {{ ref('int_person_orders_aggregated') }}
),

rfm as (
    select * from {{ ref('int_person_rfm_scored') }}
),

web as (
    select * from {{ ref('int_person_web_activity') }}
),

sessions as (
    select * from {{ ref('int_person_session_stats') }}
),

recent as (
    select * from {{ ref('int_person_recent_activity') }}
),

browsing as (
    select * from {{ ref('int_person_browsing_behaviour') }}
),

rhythm as (
    select * from {{ ref('int_person_visit_rhythm') }}
),

joined as (
    select
        persons.person_id,
        contacts.primary_customer_id,
        coalesce(contacts.n_customer_ids, 0)::integer as n_customer_ids,
        persons.n_anonymous_ids::integer as n_anonymous_ids,
        contacts.person_id is not null as is_registered,
        persons.is_identity_flagged,
        contacts.email,
        contacts.phone,
        contacts.first_name,
        contacts.last_name,
        case when {{ years_between('contacts.birth_date', as_of) }} between 0 and 120
             then {{ years_between('contacts.birth_date', as_of) }}::integer end as age,
        coalesce(contacts.gender, 'unknown') as gender,
        coalesce(contacts.city, 'unknown') as city,
        coalesce(contacts.country, 'unknown') as country,
        coalesce(contacts.income_bracket, 'unknown') as income_bracket,
        coalesce(contacts.loyalty_tier, 'none') as loyalty_tier,
        coalesce(contacts.interests, 'unknown') as interests,
        coalesce(contacts.has_marketing_consent, false) as has_marketing_consent,
        contacts.signup_at,
        least(contacts.signup_at, web.first_event_at, orders.first_order_at) as first_seen_at,
        greatest(web.last_event_at, orders.last_any_order_at) as last_seen_at,
        rfm.recency_days::integer as recency_days,
        coalesce(orders.frequency, 0)::integer as frequency,
        cast(coalesce(orders.monetary, 0) as double) as monetary,
        coalesce(orders.refund_count, 0)::integer as refund_count,
        coalesce(rfm.r_score, 1) as r_score,
        coalesce(rfm.f_score, 1) as f_score,
        coalesce(rfm.m_score, 1) as m_score,
        coalesce(sessions.sessions_count, 0)::integer as sessions_count,
        coalesce(recent.sessions_last_30d, 0)::integer as sessions_last_30d,
        {{ round_half_up("coalesce(recent.page_views_28d, 0) / 4.0", 2) }} as page_views_per_week,
        {{ round_half_up("coalesce(recent.sessions_28d, 0) / 4.0", 2) }} as sessions_per_week,
        {{ round_half_up("recent.avg_session_minutes", 2) }} as avg_session_minutes,
        coalesce(recent.email_opens_28d, 0)::integer as email_opens_28d,
        coalesce(recent.email_clicks_28d, 0)::integer as email_clicks_28d,
        coalesce(recent.events_last_30d, 0)::integer as events_last_30d,
        coalesce(recent.events_prev_30d, 0)::integer as events_prev_30d,
        coalesce(recent.orders_last_30d, 0)::integer as orders_last_30d,
        coalesce(recent.orders_prev_30d, 0)::integer as orders_prev_30d,
        coalesce(web.top_category, 'unknown') as top_category,
        coalesce(web.top_category_share, 0) as top_category_share,
        coalesce(sessions.preferred_device, 'unknown') as preferred_device,
        coalesce(sessions.preferred_channel, 'unknown') as preferred_channel,
        coalesce(recent.has_abandoned_cart, false) as has_abandoned_cart,
        coalesce(recent.abandoned_carts_30d, 0)::integer as abandoned_carts_30d,
        coalesce(recent.is_repeat_visitor, false) as is_repeat_visitor,
        recent.product_interest_category,
        least(web.first_event_at, orders.first_order_at) as first_activity_at,
        browsing.lifetime_avg_session_minutes,
        browsing.browse_events_per_session,
        browsing.search_share,
        browsing.product_view_share,
        browsing.cart_session_share,
        browsing.logged_in_session_share,
        coalesce(rhythm.session_days, 0)::integer as session_days,
        rhythm.last_session_date,
        rhythm.mean_days_between_sessions,
        rhythm.avg_visit_minutes,
        coalesce(rhythm.email_sessions, 0)::integer as email_sessions
    from persons
    left join contacts on contacts.person_id = persons.person_id
    left join orders on orders.person_id = persons.person_id
    left join rfm on rfm.person_id = persons.person_id
    left join web on web.person_id = persons.person_id
    left join sessions on sessions.person_id = persons.person_id
    left join recent on recent.person_id = persons.person_id
    left join browsing on browsing.person_id = persons.person_id
    left join rhythm on rhythm.person_id = persons.person_id
),

derived as (
    select
        *,
        -- greatest() skips nulls on both engines: without the cases a person with nothing dated (no signup, no
        -- event, no valid order: e.g. one whose only orders were quarantined) would get 0 days, i.e. look
        -- active today, instead of null
        case when first_seen_at is not null
            then greatest({{ dbt.datediff('cast(first_seen_at as date)', as_of, 'day') }}, 0)::integer
        end as tenure_days,
        case when first_seen_at is not null
            then greatest({{ dbt.datediff('cast(coalesce(last_seen_at, first_seen_at) as date)', as_of, 'day') }}, 0)::integer
        end as days_since_last_activity,
        case when first_activity_at is not null
            then greatest({{ dbt.datediff('cast(first_activity_at as date)', as_of, 'day') }}, 0)::integer
        end as days_since_first_activity,
        case when last_session_date is not null
            then greatest({{ dbt.datediff('last_session_date', as_of, 'day') }}, 0)::integer
        end as days_since_last_session,
        {{ round_half_up(engagement_points, 1) }} as engagement_score
    from joined
)

select
    person_id,
    primary_customer_id,
    n_customer_ids,
    n_anonymous_ids,
    is_registered,
    is_identity_flagged,
    email,
    phone,
    first_name,
    last_name,
    age,
    gender,
    city,
    country,
    income_bracket,
    loyalty_tier,
    interests,
    has_marketing_consent,
    signup_at,
    first_seen_at,
    last_seen_at,
    tenure_days,
    days_since_last_activity,
    recency_days,
    frequency,
    monetary,
    case when frequency > 0 then {{ round_half_up("monetary / frequency", 2) }} end as avg_order_value,
    refund_count,
    {{ round_half_up("frequency * 30.0 / greatest(tenure_days, 30)", 3) }} as orders_per_month,
    r_score,
    f_score,
    m_score,
    r_score::{{ dbt.type_string() }} || f_score::{{ dbt.type_string() }} || m_score::{{ dbt.type_string() }} as rfm_cell,
    sessions_count,
    sessions_last_30d,
    page_views_per_week,
    sessions_per_week,
    avg_session_minutes,
    email_opens_28d,
    email_clicks_28d,
    engagement_score,
    events_last_30d,
    events_prev_30d,
    {{ round_half_up("(events_last_30d - events_prev_30d) / greatest(events_prev_30d, 1)", 3) }} as engagement_trend,
    orders_last_30d,
    orders_prev_30d,
    top_category,
    {{ round_half_up("top_category_share", 3) }} as top_category_share,
    preferred_device,
    preferred_channel,
    has_abandoned_cart,
    abandoned_carts_30d,
    is_repeat_visitor,
    product_interest_category,
    -- nothing dated at all (days_since_last_activity null) counts as churned: there is no activity to be recent
    case
        when cast(first_seen_at as date) > {{ as_of }} - {{ var('lifecycle_new_days') }} then 'new'
        when days_since_last_activity <= {{ var('lifecycle_active_days') }} then 'active'
        when days_since_last_activity <= {{ var('lifecycle_at_risk_days') }} then 'at_risk'
        when days_since_last_activity <= {{ var('lifecycle_lapsed_days') }} then 'lapsed'
        else 'churned'
    end as lifecycle_stage,
    {{ as_of }} as as_of_date,
    days_since_first_activity,
    {{ round_half_up("lifetime_avg_session_minutes", 2) }} as lifetime_avg_session_minutes,
    {{ round_half_up("browse_events_per_session", 2) }} as browse_events_per_session,
    {{ round_half_up("search_share", 3) }} as search_share,
    {{ round_half_up("product_view_share", 3) }} as product_view_share,
    {{ round_half_up("cart_session_share", 3) }} as cart_session_share,
    {{ round_half_up("logged_in_session_share", 3) }} as logged_in_session_share,
    session_days,
    days_since_last_session,
    {{ round_half_up("mean_days_between_sessions", 2) }} as mean_days_between_sessions,
    {{ round_half_up("days_since_last_session / mean_days_between_sessions", 3) }} as session_gap_ratio,
    {{ round_half_up("avg_visit_minutes", 2) }} as avg_visit_minutes,
    email_sessions
from derived
