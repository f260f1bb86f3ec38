{#- Every line of the shop order files delivered up to as_of_date, split into fields and checked. -#}
{%- set landing_source = source('shop', 'orders') -%}{#- lineage: the files; landing_files lists them from the ledger -#}
{%- set ledger = source('landing', 'file_ledger') -%}
{%- set header = 'order_id,customer_id,email,ordered_at,currency,amount,status,store_channel,updated_at' -%}

{#- Incremental like the event lines: a run reads the files the ledger lists as new or changed and replaces
    every line of each file it read. -#}
{{ config(materialized='incremental', unique_key='source_file', incremental_strategy='delete+insert', on_schema_change='sync_all_columns') }}

{{ csv_landing_ctes('shop_orders') }},

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
        try_cast(case when {{ is_plain_number('f[6]') }} then trim(f[6]) end as decimal(18, 2)) as amount,
        -- status is optional: an export without one lists sales (docs/sources.md)
        coalesce(nullif(lower(trim(f[7])), ''), 'completed') as status,
        coalesce(nullif(lower(trim(f[8])), ''), 'unknown') as store_channel,
        -- a missing or unreadable version time falls back to the order time
        coalesce({{ parse_utc("nullif(f[9], '')") }}, {{ parse_utc("nullif(f[4], '')") }}) as updated_at,
        {{ lacks_utc_offset("nullif(f[4], '')") }} or {{ lacks_utc_offset("nullif(f[9], '')") }} as is_time_without_offset,
        f
    from fields
)

select
    source_file || ':' || line_no as line_key,
    * except (f, header_line, n_fields),
    case
        {{ csv_shape_rejects(header) }}
        when order_id is null then 'missing order_id'
        when customer_id is null and email is null then 'no customer_id or email'
        when ordered_at is null then 'unparseable ordered_at'
        {{ implausible_time_rejects('ordered_at', 'ordered_at', 'delivery_date') }}
        {{ implausible_time_rejects('updated_at', 'updated_at', 'delivery_date') }}
        when not {{ in_subquery('currency', 'select currency from ' ~ ref('fx_rates'), 'currency') }} then 'unknown currency ' || coalesce(currency, '')
        when {{ is_not_finite_text('f[6]') }} then 'amount is not a finite number (NaN or infinity)'
        when not {{ is_plain_number('f[6]') }} then 'unparseable amount'
        when amount is null then 'amount out of range (|amount| >= 1e16)'
        when status not in ('completed', 'refunded', 'cancelled') then 'unknown status ' || coalesce(status, '')
        when status = 'completed' and amount <= 0 then 'non-positive amount on a completed order'
    end as reject_reason,
    {{ load_timestamp() }} as loaded_at
from typed
