{#- One row per web event (event_id): valid lines only, re-delivered copies dropped (earliest delivery wins).
    Incremental with the same lookback as its base model; equal to a full refresh by construction. -#}
{{ config(materialized='incremental', unique_key='event_id', incremental_strategy='delete+insert', on_schema_change='sync_all_columns') }}

{%- set since = incremental_since(this) if is_incremental() else none -%}

with lines as (
    select * from {{ ref('base_web__event_lines') }}
    where reject_reason is null
    {%- if since %} and delivery_date >= '{{ since }}'{% endif %}
),

ranked as (
    select
        *,
        row_number() over (partition by event_id order by delivery_date, source_file, line_no) as copy_rank
    from lines
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
    line_no
from ranked
where copy_rank = 1
{%- if is_incremental() %}
    and not exists (
        select 1 from {{ this }} as loaded
        where loaded.event_id = ranked.event_id and loaded.delivery_date < ranked.delivery_date
    )
{%- endif %}
