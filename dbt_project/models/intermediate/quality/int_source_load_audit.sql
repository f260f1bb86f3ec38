{#- Balance per source: lines in = rejected + duplicate/superseded + good rows in staging. -#}
with crm as (
    select
        'crm_contacts' as source_name,
        count(*) as lines_in,
        count(*) filter (where reject_reason is not null) as rejected,
        (select count(*) from {{ ref('stg_crm__contacts') }}) as good_rows
    from {{ ref('base_crm__contact_lines') }}
),

web as (
    select
        'web_events',
        count(*),
        count(*) filter (where reject_reason is not null),
        (select count(*) from {{ ref('stg_web__events') }})
    from {{ ref('base_web__event_lines') }}
),

orders as (
    select
        'shop_orders',
        count(*),
        count(*) filter (where reject_reason is not null),
        (select count(*) from {{ ref('stg_shop__orders') }})
    from {{ ref('base_shop__order_lines') }}
),

items as (
    select
        'shop_order_items',
        count(*),
        count(*) filter (where reject_reason is not null),
        (select count(*) from {{ ref('stg_shop__order_items') }})
    from {{ ref('base_shop__order_item_lines') }}
),

all_sources as (
    select * from crm union all select * from web union all select * from orders union all select * from items
)

select
    source_name,
    lines_in,
    rejected,
    lines_in - rejected - good_rows as duplicates_or_superseded,
    good_rows,
    cast('{{ as_of_date() }}' as date) as as_of_date
from all_sources
