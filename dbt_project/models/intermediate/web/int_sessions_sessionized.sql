{#- One row per browsing session of one device: a new session starts after session_gap_minutes (30) of
    inactivity. E-mail opens (pixel hits) are not visits and are left out.
    Incremental (delete+insert on session_id): every device with events in the re-read partitions is
    re-sessionized from the first stored session a new event can reach (earlier sessions are more than the gap
    away from every new event, so the result equals a full refresh). A late event re-splits sessions and their
    ids change, so the ids of the stored sessions it replaces are output too, without figures, and the
    post-hook deletes those rows. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='session_id',
    on_schema_change='sync_all_columns',
    post_hook="{{ delete_keys_without('n_events') }}"
) }}

with
{%- if is_incremental() %}
batch as (
    select {{ device_key() }} as device_key, min(event_at) as first_new_at
    from {{ ref('stg_web__events') }}
    where delivery_date >= '{{ incremental_since(this, 'last_delivery_date') }}' and event_type <> 'email_open'
    group by 1
),

recompute as materialized (
    select batch.device_key, least(batch.first_new_at, coalesce(min(s.session_start_at), batch.first_new_at)) as recompute_from
    from batch
    left join {{ this }} as s
        on s.device_key = batch.device_key
       and s.session_end_at >= batch.first_new_at - interval {{ var('session_gap_minutes') }} minute
    group by batch.device_key, batch.first_new_at
),

replaced as (
    select s.session_id
    from {{ this }} as s
    inner join recompute as r on r.device_key = s.device_key and s.session_start_at >= r.recompute_from
),
{%- endif %}

events as (
    select
        {{ device_key() }} as device_key,
        event_id,
        user_id,
        event_type,
        device,
        channel,
        event_at,
        delivery_date
    from {{ ref('stg_web__events') }} as e
    where event_type <> 'email_open'
    {%- if is_incremental() %}
      -- implied by the per-device bound below; a constant bound lets the scan skip the older row groups of
      -- the event history by their stored event_at range (20M events -> the last days)
      and e.event_at >= (select min(recompute_from) from recompute)
      and exists (
          select 1 from recompute as r
          where r.device_key = {{ device_key() }} and e.event_at >= r.recompute_from
      )
    {%- endif %}
),

-- Events are first folded into gap-wide time buckets per device. Two events of one bucket are less than the
-- gap apart, so a session never splits inside a bucket, and the gap between two neighbouring buckets is the
-- one between the last event of the first and the first event of the second: sessionizing the buckets gives
-- exactly the sessions of the events. The window sorts then order the buckets, several times fewer than the
-- events.
buckets as (
    select
        device_key,
        min(event_at) as first_at,
        max(event_at) as last_at,
        max(user_id) as user_id,
        count(*) as n_events,
        count(*) filter (where event_type in ('page_view', 'product_view')) as n_page_views,
        count(*) filter (where event_type = 'product_view') as n_product_views,
        bool_or(event_type = 'add_to_cart') as has_add_to_cart,
        bool_or(event_type = 'purchase') as has_purchase,
        bool_or(event_type = 'login') as has_login,
        {{ first_by('device', ['event_at', 'event_id']) }} as first_device,
        {{ first_by('channel', ['event_at', 'event_id']) }} as first_channel,
        max(delivery_date) as last_delivery_date
    from events
    group by device_key, {{ time_bucket_key('event_at', var('session_gap_minutes')) }}
),

-- the hash leads the window key: every device key starts with the same 12 characters, so a sort on the key
-- alone compares whole strings; the key itself follows so that devices with equal hashes stay apart
gaps as (
    select
        *,
        lag(last_at) over (partition by hash(device_key), device_key order by first_at) as previous_last_at
    from buckets
),

starts as (
    select
        * except (previous_last_at),
        case
            when previous_last_at is null
              or first_at - previous_last_at > interval {{ var('session_gap_minutes') }} minute
            then 1 else 0
        end as starts_session
    from gaps
),

numbered as (
    select
        *,
        sum(starts_session) over (
            partition by hash(device_key), device_key order by first_at rows between unbounded preceding and current row
        ) as session_seq
    from starts
),

sessions as (
    select
        substr(md5(device_key || '|' || {{ format_ts_micros('min(first_at)') }}), 1, 20) as session_id,
        device_key,
        -- the device key of a device with an anonymous_id is 'anonymous_id:' || anonymous_id
        case when device_key like 'anonymous_id:%' then substr(device_key, 14) end as anonymous_id,
        max(user_id) as user_id,
        min(first_at) as session_start_at,
        max(last_at) as session_end_at,
        {{ dbt.datediff('min(first_at)', 'max(last_at)', 'second') }} as duration_seconds,
        cast(round({{ dbt.datediff('min(first_at)', 'max(last_at)', 'second') }} / 60.0, 2) as double) as duration_minutes,
        cast(sum(n_events) as bigint) as n_events,
        cast(sum(n_page_views) as bigint) as n_page_views,
        cast(sum(n_product_views) as bigint) as n_product_views,
        bool_or(has_add_to_cart) as has_add_to_cart,
        bool_or(has_purchase) as has_purchase,
        bool_or(has_login) as has_login,
        -- the session's first bucket is its only row with starts_session = 1, and it holds the first event
        max(first_device) filter (where starts_session = 1) as device,
        max(first_channel) filter (where starts_session = 1) as channel,
        max(last_delivery_date) as last_delivery_date
    from numbered
    group by device_key, session_seq
)

select * from sessions
{%- if is_incremental() %}
-- every replaced session once more without figures: deleted by the post-hook, so one that no longer exists goes
union all by name
select session_id from replaced
{%- endif %}
