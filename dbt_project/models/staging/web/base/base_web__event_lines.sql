{#- Every line of the web-analytics event files, parsed and checked (reject_reason). Incremental: a run
    reads the files the file ledger lists as new or changed (by content hash) and replaces all lines of every
    file it read (so a re-delivered, shorter file leaves no stale lines). -#}
{%- set landing_source = source('web', 'events') -%}{#- lineage: the files; landing_files lists them from the ledger -#}
{%- set ledger = source('landing', 'file_ledger') -%}
{{ config(materialized='incremental', unique_key='source_file', incremental_strategy='delete+insert', on_schema_change='sync_all_columns') }}

{%- set files = landing_files('web_events', is_incremental()) -%}
{%- set event_keys = ['event_id', 'anonymous_id', 'user_id', 'session_hint', 'event_type', 'page_url', 'product_id',
                      'category', 'search_query', 'order_id', 'campaign_id', 'device', 'channel', 'event_at'] -%}

with lines as (
    {{ read_lines(files) }}
),

parsed as (
    select
        source_file,
        delivery_date,
        line_no,
        line,
        {{ parse_event_json('line') }} as j
    from lines
    where line <> ''
       -- an empty delivery (no visible character) keeps its line 1, quarantined, so it does not vanish
       or (line_no = 1 and is_blank_file)
),

typed as (
    select
        source_file,
        delivery_date,
        line_no,
        line,
        j is not null as is_json,
        case when j is not null then {{ repeats_a_json_key('line', event_keys) }} else false end as has_repeated_key,
        nullif(trim(j.event_id), '') as event_id,
        nullif(trim(j.anonymous_id), '') as anonymous_id,
        nullif(trim(j.user_id), '') as user_id,
        nullif(trim(j.session_hint), '') as session_hint,
        lower(trim(j.event_type)) as event_type,
        j.page_url,
        nullif(trim(j.product_id), '') as product_id,
        nullif(lower(trim(j.category)), '') as category,
        j.search_query,
        nullif(trim(j.order_id), '') as order_id,
        nullif(trim(j.campaign_id), '') as campaign_id,
        coalesce(nullif(lower(trim(j.device)), ''), 'unknown') as device,
        coalesce(nullif(lower(trim(j.channel)), ''), 'unknown') as channel,
        j.event_at as event_at_raw,
        {{ parse_utc('j.event_at') }} as event_at,
        {{ lacks_utc_offset('j.event_at') }} as is_time_without_offset
    from parsed
),

checked as (
    select
        *,
        case
            when line = '' then 'empty file: no event lines'
            when not is_json then 'malformed JSON line'
            when has_repeated_key then 'duplicate JSON key (a key appears twice in the object)'
            when event_id is null then 'missing event_id'
            when event_type is null or event_type not in ('page_view', 'product_view', 'add_to_cart', 'checkout',
                'purchase', 'search', 'login', 'email_open', 'email_click') then 'unknown event_type'
            when event_at is null then 'unparseable event_at'
            {{ implausible_time_rejects('event_at', 'event_at', 'delivery_date') }}
            when anonymous_id is null and user_id is null then 'no anonymous_id or user_id'
        end as reject_reason
    from typed
)

-- the raw text is kept only for rejected lines (the quarantine needs it; good lines live on parsed). A line
-- is keyed by (source_file, line_no): no stored 'file:line' string key, a large share of writing the lines.
select
    * except (line, is_json, event_at_raw, has_repeated_key),
    case when reject_reason is not null then line end as line,
    {{ load_timestamp() }} as loaded_at
from checked
