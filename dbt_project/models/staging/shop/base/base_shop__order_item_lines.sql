{#- Every line of the shop order-item files delivered up to as_of_date, split into fields and checked. -#}
{%- set landing_source = source('shop', 'order_items') -%}{#- lineage only: files are listed by landing_files -#}
{%- set header = 'order_id,line_number,product_id,category,quantity,unit_price' -%}

{#- Incremental like the event lines: a run reads the files of the partitions from (latest loaded -
    lookback_days) on that are new or were rewritten since loaded, and replaces every line of each file it read. -#}
{{ config(materialized='incremental', unique_key='source_file', incremental_strategy='delete+insert', on_schema_change='sync_all_columns') }}
{%- set since = incremental_since(this) if is_incremental() else none %}

{{ csv_landing_ctes('shop/order_items', since, this if is_incremental() else none) }},

typed as (
    select
        source_file,
        delivery_date,
        line_no,
        line,
        header_line,
        {{ list_length('f') }} as n_fields,
        nullif(trim(f[1]), '') as order_id,
        try_cast(f[2] as integer) as line_number,
        nullif(trim(f[3]), '') as product_id,
        nullif(lower(trim(f[4])), '') as category,
        try_cast(f[5] as integer) as quantity,
        try_cast(nullif(trim(f[6]), '') as decimal(18, 2)) as unit_price
    from fields
)

select
    source_file || ':' || line_no as line_key,
    {{ star_exclude(['header_line', 'n_fields']) }},
    case
        {{ csv_shape_rejects(header) }}
        when order_id is null then 'missing order_id'
        when line_number is null then 'unparseable line_number'
        when quantity is null or quantity <= 0 then 'quantity missing or not positive'
        when unit_price is null or unit_price < 0 then 'unit_price missing or negative'
    end as reject_reason,
    {{ load_timestamp() }} as loaded_at
from typed
