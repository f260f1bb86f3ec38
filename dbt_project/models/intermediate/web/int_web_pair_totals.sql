{#- Lifetime web activity per identifier pair (anonymous_id, user_id): first and last event, events, browse
    events, product views, searches, and the node the pair is attributed by (web_node_key). The identity
    graph reads the pairs; the lifetime web features add the totals up per person (1.5M pairs at 1M persons
    instead of 10.6M daily counts). Incremental: a run recomputes the pairs with counts in the re-read
    delivery partitions (web_totals_recompute_prehook). -#}
{%- set pair_key = web_pair_key('anonymous_id', 'user_id') %}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ web_totals_recompute_prehook('pair_key', web_pair_key('anonymous_id', 'user_id')) }}"
) }}

select
    {{ pair_key }} as pair_key,
    anonymous_id,
    user_id,
    {{ web_node_key('user_id', 'anonymous_id') }} as node_key,
    min(first_event_at) as first_event_at,
    max(last_event_at) as last_event_at,
    cast(sum(n_events) as bigint) as n_events,
    cast(sum(n_page_views + n_searches) as bigint) as browse_events,
    cast(sum(n_product_views) as bigint) as product_views,
    cast(sum(n_searches) as bigint) as searches,
    max(delivery_date) as last_delivery_date
from {{ ref('int_web_activity_daily') }}
where {{ recompute_filter(pair_key, 'recompute_key') }}
group by anonymous_id, user_id
