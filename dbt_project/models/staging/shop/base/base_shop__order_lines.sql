{#- Every line of the shop order files delivered up to as_of_date, split into fields and checked. -#}
{%- set landing_source = source('shop', 'orders') -%}{#- lineage only: files are listed by landing_files -#}
{%- set header = 'order_id,customer_id,email,ordered_at,currency,amount,status,store_channel,updated_at' -%}

{#- Incremental like the event lines: a run reads the files of the partitions from (latest loaded -
    lookback_days) on that are new or were rewritten since loaded, and replaces every line of each file it read. -#}
{{ config(materialized='incremental', unique_key='source_file', incremental_strategy='delete+insert', on_schema_change='sync_all_columns') }}
{%- set since = incremental_since(this) if is_incremental() else none %}

{{ csv_landing_ctes('shop/orders', since, this if is_incremental() else none) }},

typed as (
    select
        source_file,
        delivery_date,
        line_no,
        line,
        header_line,
        {{ list_length('f') }} as n_fields,
        nullif(trim(f[1]), '') as order_id,
        nullif(trim(f[2]), '') as customer_id,
        {{ normalize_email('f[3]') }} as email,
        {{ parse_utc("nullif(f[4], '')") }} as ordered_at,
        upper(trim(f[5])) as currency,
        try_cast(nullif(trim(f[6]), '') as decimal(18, 2)) as amount,
        lower(trim(f[7])) as status,
        coalesce(nullif(lower(trim(f[8])), ''), 'unknown') as store_channel,
        coalesce({{ parse_utc("nullif(f[9], '')") }}, {{ parse_utc("nullif(f[4], '')") }}) as updated_at,
        f
    from fields
)

select
    source_file || ':' || line_no as line_key,
    {{ star_exclude(['f', 'header_line', 'n_fields']) }},
    case
        {{ csv_shape_rejects(header) }}
        when order_id is null then 'missing order_id'
        when customer_id is null and email is null then 'no customer_id or email'
        when ordered_at is null then 'unparseable ordered_at'
        when ordered_at >= delivery_date + interval {{ var('future_tolerance_days') + 1 }} day then 'future ordered_at'
        when not {{ in_subquery('currency', 'select currency from ' ~ ref('fx_rates'), 'currency') }} then 'unknown currency ' || coalesce(currency, '')
        when amount is null and try_cast(trim(f[6]) as double) is not null then 'amount out of range (|amount| >= 1e16)'
        when amount is null then 'unparseable amount'
        when status not in ('completed', 'refunded', 'cancelled') then 'unknown status ' || coalesce(status, '')
        when status = 'completed' and amount <= 0 then 'non-positive amount on a completed order'
    end as reject_reason,
    {{ load_timestamp() }} as loaded_at
from typed
