{#- Every line of the shop order-item files delivered up to as_of_date, split into fields and checked. -#}
{%- set landing_source = source('shop', 'order_items') -%}{#- lineage: the files; landing_files lists them from the ledger -#}
{%- set ledger = source('landing', 'file_ledger') -%}
{%- set header = 'order_id,line_number,product_id,category,quantity,unit_price' -%}

{#- Incremental like the event lines: a run reads the files the ledger lists as new or changed and replaces
    every line of each file it read. -#}
{{ config(materialized='incremental', unique_key='source_file', incremental_strategy='delete+insert', on_schema_change='sync_all_columns') }}

{{ csv_landing_ctes('shop_order_items') }},

typed as (
    select
        source_file,
        delivery_date,
        line_no,
        line,
        header_line,
        {{ list_length('f') }} as n_fields,
        nullif(trim(f[1]), '') as order_id,
        try_cast(case when {{ is_plain_integer('f[2]') }} then trim(f[2]) end as integer) as line_number,
        nullif(trim(f[3]), '') as product_id,
        nullif(lower(trim(f[4])), '') as category,
        try_cast(case when {{ is_plain_integer('f[5]') }} then trim(f[5]) end as integer) as quantity,
        try_cast(case when {{ is_plain_number('f[6]') }} then trim(f[6]) end as decimal(18, 2)) as unit_price
    from fields
)

select
    source_file || ':' || line_no as line_key,
    * except (header_line, n_fields),
    case
        {{ csv_shape_rejects(header) }}
        when order_id is null then 'missing order_id'
        when line_number is null then 'unparseable line_number'
        when quantity is null or quantity <= 0 then 'quantity missing or not positive'
        when unit_price is null or unit_price < 0 then 'unit_price missing or negative'
    end as reject_reason,
    {{ load_timestamp() }} as loaded_at
from typed
