{#- One row per person with at least one session: how the person browses over all history (not how much
    lately): visit length, depth, what the browsing is made of (search vs product pages), how often a visit
    puts something in the cart and how often the visitor is logged in. Shares and means, so they describe
    quiet and lapsed persons as well as active ones (the 28-day columns are null or 0 for them). -#}
{#- a view: a per-row derivation of stored facts that only dim_user_profile reads, once per run -#}
{{ config(materialized='view') }}
with browsing as (  -- lifetime browse counts per person
    select person_id, browse_events, product_views, searches
    from {{ ref('int_person_web_activity') }}
),

visits as (
    select person_id, sessions_count, lifetime_avg_session_minutes, cart_session_share, logged_in_session_share
    from {{ ref('int_person_session_stats') }}
)

select
    visits.person_id,
    visits.sessions_count as sessions,
    coalesce(browsing.browse_events, 0) as browse_events,
    coalesce(browsing.product_views, 0) as product_views,
    coalesce(browsing.searches, 0) as searches,
    visits.lifetime_avg_session_minutes,
    coalesce(browsing.browse_events, 0) / visits.sessions_count as browse_events_per_session,
    browsing.searches / nullif(browsing.browse_events, 0) as search_share,
    browsing.product_views / nullif(browsing.browse_events, 0) as product_view_share,
    visits.cart_session_share,
    visits.logged_in_session_share
from visits
left join browsing on browsing.person_id = visits.person_id
