{#- Lifetime category events (page and product views, carts, purchases, searches) per attribution node
    (web_node_key: the logged-in user, else the device) and known category, positive counts only: what a person's
    top category and its share add up from. Incremental like int_web_pair_totals, by node. -#}
{%- set node_key = web_node_key('user_id', 'anonymous_id') %}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ web_totals_recompute_prehook('node_key', web_node_key('user_id', 'anonymous_id')) }}"
) }}

select
    {{ node_key }} as node_key,
    category,
    cast(sum(n_category_events) as bigint) as n_category_events,
    max(delivery_date) as last_delivery_date
from {{ ref('int_web_activity_daily') }}
where n_category_events > 0 and category is not null and {{ recompute_filter(node_key, 'recompute_key') }}
group by 1, 2
