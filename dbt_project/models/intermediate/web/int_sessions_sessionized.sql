{#- One row per browsing session of one device: a new session starts after session_gap_minutes (30) of
    inactivity. E-mail opens (pixel hits) are not visits and are left out. Incremental: see
    sessions_recompute_prehook for how late events re-open and re-split sessions. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ sessions_recompute_prehook() }}"
) }}

with events as (
    select
        {{ device_key() }} as device_key,
        event_id,
        anonymous_id,
        user_id,
        event_type,
        category,
        device,
        channel,
        event_at,
        delivery_date
    from {{ ref('stg_web__events') }} as e
    where event_type <> 'email_open'
    {%- if is_incremental() %}
      -- implied by the per-device bound below; a constant bound lets the scan skip the older row groups of
      -- the event history by their stored event_at range (20M events -> the last days)
      and e.event_at >= (select min(recompute_from) from session_recompute)
      and exists (
          select 1 from session_recompute as r
          where r.device_key = {{ device_key() }} and e.event_at >= r.recompute_from
      )
    {%- endif %}
),

gaps as (
    select
        *,
        lag(event_at) over (partition by device_key order by event_at, event_id) as previous_event_at
    from events
),

starts as (
    select
        *,
        case
            when previous_event_at is null
              or event_at - previous_event_at > interval {{ var('session_gap_minutes') }} minute
            then 1 else 0
        end as starts_session
    from gaps
),

numbered as (
    select
        *,
        sum(starts_session) over (
            partition by device_key order by event_at, event_id rows between unbounded preceding and current row
        ) as session_seq
    from starts
)

select
    substr(md5(device_key || '|' || {{ format_ts_micros('min(event_at)') }}), 1, 20) as session_id,
    device_key,
    max(anonymous_id) as anonymous_id,
    max(user_id) as user_id,
    min(event_at) as session_start_at,
    max(event_at) as session_end_at,
    {{ seconds_between('min(event_at)', 'max(event_at)') }} as duration_seconds,
    {{ as_double("round(" ~ seconds_between('min(event_at)', 'max(event_at)') ~ " / 60.0, 2)") }} as duration_minutes,
    count(*) as n_events,
    count(*) filter (where event_type in ('page_view', 'product_view')) as n_page_views,
    count(*) filter (where event_type = 'product_view') as n_product_views,
    bool_or(event_type = 'add_to_cart') as has_add_to_cart,
    bool_or(event_type = 'purchase') as has_purchase,
    bool_or(event_type = 'login') as has_login,
    -- the session's first event is its only row with starts_session = 1 (cheaper than an ordered aggregate)
    max(device) filter (where starts_session = 1) as device,
    max(channel) filter (where starts_session = 1) as channel,
    max(delivery_date) as last_delivery_date
from numbered
group by device_key, session_seq
