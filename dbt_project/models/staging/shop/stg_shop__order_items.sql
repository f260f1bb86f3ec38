{#- One row per order line (order_id, line_number): valid lines, the latest delivery wins. -#}
with lines as (
    select * from {{ ref('base_shop__order_item_lines') }}
    where reject_reason is null
),

latest as (
    select
        *,
        row_number() over (
            partition by order_id, line_number order by delivery_date desc, source_file desc, line_no desc
        ) as version_rank
    from lines
)

select
    order_id || '-' || line_number as order_item_id,
    order_id,
    line_number,
    product_id,
    category,
    quantity,
    unit_price,
    delivery_date,
    source_file,
    line_no,
    loaded_at
from latest
where version_rank = 1
