{#- Lifetime web activity per identifier pair (anonymous_id, user_id): first and last event, events, browse
    events, product views, searches, and the node the pair is attributed by (web_node_key). The identity
    graph reads the pairs; the lifetime web features add the totals up per person (a fraction of the rows of
    the daily counts). Incremental: a run recomputes the pairs with counts in the partitions from
    the latest cutoff on (and the stored pairs last counted there: a rewritten file may have dropped them),
    from their stored settled part (settled_*: the totals before settled_before, which no run re-reads) and
    those partitions' counts only; delete+insert on pair_key, a pair without counts any more is output without
    figures and deleted by the post-hook. -#}
{#- one string per pair (either id may be null, not both): the anonymous id's length first, so no two pairs
    share a key whatever characters the ids hold -#}
{%- set pair_key = "concat(coalesce(cast(length(anonymous_id) as " ~ dbt.type_string() ~ "), '-'), ':', coalesce(anonymous_id, ''), coalesce(user_id, ''))" %}
{%- set cutoffs = web_totals_cutoffs() %}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='pair_key',
    on_schema_change='fail',
    post_hook="{{ delete_keys_without('n_events') }}"
) }}

with
{%- if is_incremental() %}
recompute as materialized (
    select {{ pair_key }} as pair_key from {{ ref('int_web_activity_daily') }} where delivery_date >= '{{ cutoffs.old }}'
    union
    select pair_key from {{ this }} where last_delivery_date >= '{{ cutoffs.old }}'
),
{%- endif %}

counts as (
    {%- if is_incremental() %}
    -- the recomputed pairs' settled parts (partitions before the old cutoff)
    select
        anonymous_id, user_id, settled_first_event_at as first_event_at, settled_last_event_at as last_event_at,
        settled_n_events as n_events, settled_browse_events as browse_events,
        settled_product_views as product_views, settled_searches as searches,
        settled_last_delivery_date as delivery_date
    from {{ this }}
    where settled_n_events > 0 and pair_key in (select pair_key from recompute)
    union all
    {%- endif %}
    select
        anonymous_id, user_id, first_event_at, last_event_at, n_events, n_page_views + n_searches as browse_events,
        n_product_views as product_views, n_searches as searches, delivery_date
    from {{ ref('int_web_activity_daily') }}
    {%- if is_incremental() %}
    -- every pair with counts from the old cutoff on is recomputed, so no key filter
    where delivery_date >= '{{ cutoffs.old }}'
    {%- endif %}
),

flagged as (
    select *, delivery_date < '{{ cutoffs.new }}' as is_settled from counts
),

totals as (
    select
        {{ pair_key }} as pair_key,
        anonymous_id,
        user_id,
        {{ web_node_key('user_id', 'anonymous_id') }} as node_key,
        min(first_event_at) as first_event_at,
        max(last_event_at) as last_event_at,
        cast(sum(n_events) as bigint) as n_events,
        cast(sum(browse_events) as bigint) as browse_events,
        cast(sum(product_views) as bigint) as product_views,
        cast(sum(searches) as bigint) as searches,
        max(delivery_date) as last_delivery_date,
        min(first_event_at) filter (where is_settled) as settled_first_event_at,
        max(last_event_at) filter (where is_settled) as settled_last_event_at,
        cast(coalesce(sum(n_events) filter (where is_settled), 0) as bigint) as settled_n_events,
        cast(coalesce(sum(browse_events) filter (where is_settled), 0) as bigint) as settled_browse_events,
        cast(coalesce(sum(product_views) filter (where is_settled), 0) as bigint) as settled_product_views,
        cast(coalesce(sum(searches) filter (where is_settled), 0) as bigint) as settled_searches,
        max(delivery_date) filter (where is_settled) as settled_last_delivery_date,
        cast('{{ cutoffs.new }}' as date) as settled_before
    from flagged
    group by anonymous_id, user_id
)

select * from totals
{%- if is_incremental() %}
-- every recomputed pair once more without figures: deleted by the post-hook, so one without counts any more goes
union all by name
select pair_key from recompute
{%- endif %}
