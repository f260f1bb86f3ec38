{#- Lifetime category events (page and product views, carts, purchases, searches) per attribution node
    (web_node_key: the logged-in user, else the device) and known category, positive counts only: what a person's
    top category and its share add up from. Incremental like int_web_pair_totals, by node (settled_*: the
    counts before settled_before; delete+insert on node_key). -#}
{%- set node_key = web_node_key('user_id', 'anonymous_id') %}
{%- set cutoffs = web_totals_cutoffs() %}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='node_key',
    on_schema_change='fail',
    post_hook="{{ delete_keys_without('n_category_events') }}"
) }}

with
{%- if is_incremental() %}
recompute as materialized (
    select {{ node_key }} as node_key from {{ ref('int_web_activity_daily') }} where delivery_date >= '{{ cutoffs.old }}'
    union
    select node_key from {{ this }} where last_delivery_date >= '{{ cutoffs.old }}'
),
{%- endif %}

counts as (
    {%- if is_incremental() %}
    -- the recomputed nodes' settled parts (partitions before the old cutoff)
    select node_key, category, settled_n_category_events as n_category_events,
           settled_last_delivery_date as delivery_date
    from {{ this }}
    where settled_n_category_events > 0 and node_key in (select node_key from recompute)
    union all
    {%- endif %}
    select {{ node_key }} as node_key, category, n_category_events, delivery_date
    from {{ ref('int_web_activity_daily') }}
    where n_category_events > 0 and category is not null
    {%- if is_incremental() %}
      -- every node with counts from the old cutoff on is recomputed, so no key filter
      and delivery_date >= '{{ cutoffs.old }}'
    {%- endif %}
),

flagged as (
    select *, delivery_date < '{{ cutoffs.new }}' as is_settled from counts
),

totals as (
    select
        node_key,
        category,
        cast(sum(n_category_events) as bigint) as n_category_events,
        max(delivery_date) as last_delivery_date,
        cast(coalesce(sum(n_category_events) filter (where is_settled), 0) as bigint) as settled_n_category_events,
        max(delivery_date) filter (where is_settled) as settled_last_delivery_date,
        cast('{{ cutoffs.new }}' as date) as settled_before
    from flagged
    group by node_key, category
)

select * from totals
{%- if is_incremental() %}
-- every recomputed node once more without figures: deleted by the post-hook, so one without counts any more goes
union all by name
select node_key from recompute
{%- endif %}
