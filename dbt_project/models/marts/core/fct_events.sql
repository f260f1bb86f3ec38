{#- One row per web event with the person it belongs to. Incremental (lookback over delivery partitions);
    the post-hook re-attributes earlier events whose device or user has since been stitched to another
    person (late logins, merges), so the table always equals a full refresh. -#}
{{ config(
    materialized='incremental',
    unique_key='event_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="
        update {{ this }} as f set person_id = r.person_id
        from (
            select e.event_id, coalesce(u.person_id, a.person_id) as person_id
            from {{ this }} as e
            left join {{ ref('int_person_map') }} as u on u.node_key = 'customer_id:' || e.user_id
            left join {{ ref('int_person_map') }} as a on a.node_key = 'anonymous_id:' || e.anonymous_id
        ) as r
        where f.event_id = r.event_id and f.person_id is distinct from r.person_id
    "
) }}

{%- set since = incremental_since(this) if is_incremental() else none -%}

with events as (
    select * from {{ ref('stg_web__events') }}
    {%- if since %} where delivery_date >= '{{ since }}'{% endif %}
),

person_map as (
    select node_key, person_id from {{ ref('int_person_map') }}
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
left join person_map as by_user on by_user.node_key = 'customer_id:' || events.user_id
left join person_map as by_device on by_device.node_key = 'anonymous_id:' || events.anonymous_id
