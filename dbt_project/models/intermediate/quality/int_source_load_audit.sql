{#- Balance per source: lines in = rejected + duplicate/superseded + good rows in staging; and files: the
    accepted files delivered up to as_of_date (file ledger), those of them holding lines, the rejected ones
    and those delivered after as_of_date (not read by this warehouse); and the valid lines whose timestamps
    carry no UTC offset (read as UTC). -#}
with files as (
    select
        source_name,
        count(*) filter (where is_accepted and delivery_date <= cast('{{ as_of_date() }}' as date)) as files_accepted,
        count(*) filter (where is_accepted and delivery_date > cast('{{ as_of_date() }}' as date)) as files_after_as_of,
        count(*) filter (where status = 'rejected') as files_rejected
    from {{ ref('stg_landing__files') }}
    where source_name is not null
    group by source_name
),

crm as (
    select
        'crm_contacts' as source_name,
        count(*) as lines_in,
        count(*) filter (where reject_reason is not null) as rejected,
        (select count(*) from {{ ref('stg_crm__contacts') }}) as good_rows,
        count(distinct source_file) as files_with_lines,
        count(*) filter (where reject_reason is null and is_time_without_offset) as times_without_offset
    from {{ ref('base_crm__contact_lines') }}
),

web as (
    select
        'web_events',
        count(*),
        count(*) filter (where reject_reason is not null),
        (select count(*) from {{ ref('stg_web__events') }}),
        count(distinct source_file),
        count(*) filter (where reject_reason is null and is_time_without_offset)
    from {{ ref('base_web__event_lines') }}
),

orders as (
    select
        'shop_orders',
        count(*),
        count(*) filter (where reject_reason is not null),
        (select count(*) from {{ ref('stg_shop__orders') }}),
        count(distinct source_file),
        count(*) filter (where reject_reason is null and is_time_without_offset)
    from {{ ref('base_shop__order_lines') }}
),

items as (
    select
        'shop_order_items',
        count(*),
        count(*) filter (where reject_reason is not null),
        (select count(*) from {{ ref('stg_shop__order_items') }}),
        count(distinct source_file),
        0
    from {{ ref('base_shop__order_item_lines') }}
),

all_sources as (
    select * from crm union all select * from web union all select * from orders union all select * from items
)

select
    all_sources.source_name,
    all_sources.lines_in,
    all_sources.rejected,
    all_sources.lines_in - all_sources.rejected - all_sources.good_rows as duplicates_or_superseded,
    all_sources.good_rows,
    coalesce(files.files_accepted, 0) as files_accepted,
    all_sources.files_with_lines,
    coalesce(files.files_rejected, 0) as files_rejected,
    coalesce(files.files_after_as_of, 0) as files_after_as_of,
    -- valid lines with a timestamp written without a UTC offset (read as UTC, docs/sources.md)
    all_sources.times_without_offset,
    cast('{{ as_of_date() }}' as date) as as_of_date
from all_sources
left join files on files.source_name = all_sources.source_name
