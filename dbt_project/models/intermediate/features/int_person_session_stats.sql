{#- One row per person with at least one session: the per-person session facts of the web features over all
    history (they change only when sessions or identifiers change, never because the calendar moved): sessions,
    mean length, cart and login shares, session days, first and last session, mean visit length (sessions with
    a page or product view), e-mail sessions, preferred device and channel. The windowed session figures
    (last 30/28 days, repeat visits) are int_person_recent_activity's, computed each run.
    Sessions are attributed like fct_sessions (the logged-in user's person, else the device's).
    Incremental on DuckDB: a run recomputes the persons whose sessions or identifiers changed
    (persons_with_new_data; computed_at records the run that computed a row). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='person_id',
    on_schema_change='fail',
    post_hook="{{ delete_keys_without('sessions_count', live_persons=true) }}"
) }}
{%- set changed_persons = persons_with_new_data() %}
with
{%- if is_incremental() %}
recomputed as (
    {{ changed_persons }}
),
{%- endif %}

person_map as (
    select node_key, person_id from {{ ref('int_person_map') }}
    where id_type in ('customer_id', 'anonymous_id')
    {%- if is_incremental() %}
      and person_id in (select person_id from recomputed)
    {%- endif %}
),

sessions as (
    select
        person_map.person_id,
        cast(sessions.session_start_at as date) as session_date,
        sessions.duration_seconds,
        sessions.n_page_views,
        sessions.has_add_to_cart,
        sessions.has_login,
        sessions.device,
        sessions.channel
    from {{ ref('int_sessions_sessionized') }} as sessions
    inner join person_map on person_map.node_key = {{ web_node_key('sessions.user_id', 'sessions.anonymous_id') }}
),

totals as (
    select
        person_id,
        count(*) as sessions_count,
        avg(duration_seconds) / 60.0 as lifetime_avg_session_minutes,
        avg(cast(has_add_to_cart as integer)) as cart_session_share,
        avg(cast(has_login as integer)) as logged_in_session_share,
        count(distinct session_date) as session_days,
        min(session_date) as first_session_date,
        max(session_date) as last_session_date,
        avg(case when n_page_views > 0 then duration_seconds end) / 60.0 as avg_visit_minutes,
        count(case when channel = 'email' then 1 end) as email_sessions
    from sessions
    group by person_id
),

devices as (
    select person_id, {{ first_by('device', ['n desc', 'device']) }} as preferred_device
    from (select person_id, device, count(*) as n from sessions group by person_id, device)
    group by person_id
),

channels as (
    select person_id, {{ first_by('channel', ['n desc', 'channel']) }} as preferred_channel
    from (select person_id, channel, count(*) as n from sessions group by person_id, channel)
    group by person_id
),

facts as (
    select
        totals.*,
        devices.preferred_device,
        channels.preferred_channel,
        {{ person_features_bookkeeping() }}
    from totals
    inner join devices on devices.person_id = totals.person_id
    inner join channels on channels.person_id = totals.person_id
)

{{ recomputed_persons_facts('facts') }}
