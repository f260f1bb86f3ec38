{#- One row per person with web activity: the lifetime web facts (first and last event, browsing counts, top
    category and its share), adding up the totals of the person's identifier pairs and attribution nodes
    (int_web_pair_totals, int_web_node_category_totals; incremental). They change only when events or
    identifiers change; the windowed figures are int_person_recent_activity's, computed each run.
    Incremental on DuckDB: a run recomputes the persons whose events or identifiers changed
    (persons_with_new_data). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='person_id',
    on_schema_change='fail',
    post_hook="{{ delete_keys_without('first_event_at', live_persons=true) }}"
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
),

facts as (
    select
        lifetime.*,
        categories.top_category,
        categories.top_category_share,
        {{ person_features_bookkeeping() }}
    from lifetime
    left join categories on categories.person_id = lifetime.person_id
)

{{ recomputed_persons_facts('facts') }}
