{#- One row per session (30-minute inactivity rule) with the person it belongs to: the logged-in user's
    person when the session had a login, else the device's person. A view like fct_events: the sessions are
    stored once (int_sessions_sessionized, incremental) and attribution always follows the current map. -#}
{#- On Spark a table: its readers (and the engine-parity test) read stored parquet, and a cluster has the room. -#}
{{ config(materialized='table' if target.type == 'spark' else 'view') }}

with sessions as (
    select * from {{ ref('int_sessions_sessionized') }}
),

-- only the identifier types a session is attributed by: a smaller hash table for the lookup
person_map as (
    select node_key, person_id from {{ ref('int_person_map') }}
    where id_type in ('customer_id', 'anonymous_id')
)

select
    sessions.session_id,
    person_map.person_id,
    sessions.device_key,
    sessions.anonymous_id,
    sessions.user_id,
    sessions.session_start_at,
    sessions.session_end_at,
    cast(sessions.session_start_at as date) as session_date,
    sessions.duration_seconds,
    sessions.duration_minutes,
    sessions.n_events,
    sessions.n_page_views,
    sessions.n_product_views,
    sessions.has_add_to_cart,
    sessions.has_purchase,
    sessions.has_login,
    sessions.device,
    sessions.channel
from sessions
left join person_map on person_map.node_key = {{ web_node_key('sessions.user_id', 'sessions.anonymous_id') }}
