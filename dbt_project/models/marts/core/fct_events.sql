{#- One row per web event with the person it belongs to. Incremental (lookback over delivery partitions);
    the pre-hook first re-attributes loaded events whose device or user has since been stitched to another
    person (late logins, merges), so the table always equals a full refresh. -#}
{{ config(
    materialized='incremental',
    unique_key='event_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    pre_hook="{{ events_reattribute_prehook() }}"
) }}

{%- set since = incremental_since(this) if is_incremental() else none -%}

with events as (
    select * from {{ ref('stg_web__events') }}
    {%- if since %} where delivery_date >= '{{ since }}'{% endif %}
),

person_map as (
    select id_type, id_value, person_id from {{ ref('int_person_map') }}
)

select
    events.event_id,
    coalesce(by_user.person_id, by_device.person_id) as person_id,
    events.anonymous_id,
    events.user_id,
    events.session_hint,
    events.event_type,
    events.page_url,
    events.product_id,
    events.category,
    events.search_query,
    events.order_id,
    events.campaign_id,
    events.device,
    events.channel,
    events.event_at,
    events.event_date,
    events.delivery_date
from events
left join person_map as by_user
    on by_user.id_type = 'customer_id' and by_user.id_value = events.user_id
left join person_map as by_device
    on by_device.id_type = 'anonymous_id' and by_device.id_value = events.anonymous_id
