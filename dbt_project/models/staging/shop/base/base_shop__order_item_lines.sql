{#- Every line of the shop order-item files delivered up to as_of_date, split into fields and checked. -#}
{%- set landing_source = source('shop', 'order_items') -%}{#- lineage only: files are listed by landing_files -#}
{%- set header = 'order_id,line_number,product_id,category,quantity,unit_price' -%}
{%- set files = landing_files('shop/order_items', '*.csv') -%}

-- materialized: read once for both the header check and the fields (CSV files are small next to events)
with lines as materialized (
    {{ read_lines(files) }}
),

headers as (
    select source_file, line as header_line from lines where line_no = 1
),

fields as (
    select lines.*, headers.header_line, {{ csv_fields('lines.line') }} as f
    from lines
    left join headers on headers.source_file = lines.source_file
    where lines.line_no > 1 and lines.line <> ''
),

typed as (
    select
        source_file,
        delivery_date,
        line_no,
        line,
        header_line,
        len(f) as n_fields,
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
    * exclude (header_line, n_fields),
    case
        when header_line <> '{{ header }}' then 'header mismatch: expected ' || '{{ header }}'
        when n_fields <> 6 then 'malformed line: ' || n_fields || ' fields, expected 6'
        when order_id is null then 'missing order_id'
        when line_number is null then 'unparseable line_number'
        when quantity is null or quantity <= 0 then 'quantity missing or not positive'
        when unit_price is null or unit_price < 0 then 'unit_price missing or negative'
    end as reject_reason
from typed
