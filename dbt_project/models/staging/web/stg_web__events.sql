{#- One row per web event (event_id): valid lines only, re-delivered copies dropped (the earliest delivery
    wins), event_at in UTC. A view: the base table is already incremental, and a second full copy of the
    event history cost more than the anti-join against the (small) re-delivery list costs its readers. -#}
{{ config(materialized='view') }}

with lines as (
    select * from {{ ref('base_web__event_lines') }}
    where reject_reason is null
),

redeliveries as (
    select source_file, line_no from {{ ref('base_web__event_redeliveries') }}
),

first_copies as (
    select lines.*
    from lines
    where not exists (
        select 1 from redeliveries
        where redeliveries.source_file = lines.source_file and redeliveries.line_no = lines.line_no
    )
)

select
    event_id,
    anonymous_id,
    user_id,
    session_hint,
    event_type,
    page_url,
    product_id,
    category,
    search_query,
    order_id,
    campaign_id,
    device,
    channel,
    event_at,
    cast(event_at as date) as event_date,
    delivery_date,
    source_file,
    line_no,
    loaded_at
from first_copies
