{#- Valid web events counted per delivery partition, identifier pair (anonymous_id, user_id: what attributes
    an event to a person), event day and category. Every web feature that is a count, a first/last time or a
    windowed count reads this (about half the rows of the event history) instead of the events.
    Incremental by delivery partition: a run recounts the partitions it re-read (the earliest copy of a
    re-delivered event wins, so older partitions never change). -#}
{{ config(materialized='incremental', unique_key='delivery_date', incremental_strategy='delete+insert', on_schema_change='sync_all_columns') }}

{%- set since = incremental_since(this) if is_incremental() else none %}

select
    delivery_date,
    anonymous_id,
    user_id,
    event_date,
    category,
    min(event_at) as first_event_at,
    max(event_at) as last_event_at,
    count(*) as n_events,
    count(*) filter (where event_type in ('page_view', 'product_view')) as n_page_views,
    count(*) filter (where event_type = 'product_view') as n_product_views,
    count(*) filter (where event_type = 'search') as n_searches,
    count(*) filter (where event_type = 'email_open') as n_email_opens,
    count(*) filter (where event_type = 'email_click') as n_email_clicks,
    count(*) filter (where event_type in ('page_view', 'product_view', 'add_to_cart', 'purchase', 'search')) as n_category_events
from {{ ref('stg_web__events') }}
{%- if since %}
where delivery_date >= '{{ since }}'
{%- endif %}
group by delivery_date, anonymous_id, user_id, event_date, category
