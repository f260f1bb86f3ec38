{#- One row per person with web activity: the lifetime web facts (first and last event, browsing counts, top
    category and its share), adding up the totals of the person's identifier pairs and attribution nodes
    (int_web_pair_totals, int_web_node_category_totals; incremental). They change only when events or
    identifiers change; the windowed figures are int_person_recent_activity's, computed each run.
    Incremental on DuckDB: a run recomputes the persons whose events or identifiers changed
    (person_features_recompute_prehook). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ person_features_recompute_prehook() }}"
) }}
-- the pre-hook reads: {{ ref('base_web__event_lines') }}
with person_map as (
    select node_key, person_id from {{ ref('int_person_map') }}
    where id_type in ('customer_id', 'anonymous_id') and {{ recompute_filter('person_id', 'person_id') }}
),

pairs as (
    select person_map.person_id, totals.*
    from {{ ref('int_web_pair_totals') }} as totals
    inner join person_map on person_map.node_key = totals.node_key
),

lifetime as (
    select
        person_id,
        min(first_event_at) as first_event_at,
        max(last_event_at) as last_event_at,
        cast(sum(browse_events) as bigint) as browse_events,
        cast(sum(product_views) as bigint) as product_views,
        cast(sum(searches) as bigint) as searches
    from pairs
    group by person_id
),

categories as (
    select
        person_id,
        {{ first_by('category', ['n desc', 'category']) }} as top_category,
        max(n) / sum(n) as top_category_share
    from (
        select person_map.person_id, totals.category, sum(totals.n_category_events) as n
        from {{ ref('int_web_node_category_totals') }} as totals
        inner join person_map on person_map.node_key = totals.node_key
        group by 1, 2
    )
    group by person_id
)

select
    lifetime.*,
    categories.top_category,
    categories.top_category_share,
    {{ person_features_bookkeeping() }}
from lifetime
left join categories on categories.person_id = lifetime.person_id
