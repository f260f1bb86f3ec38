{#- Every landed line that broke a rule, with its source file, line number, raw text and the reason.
    action = 'rejected' (the row is not in the warehouse) or 'field_nulled' (the row is kept with the bad
    value set to null). Nothing is dropped silently: see source_load_audit for the balance per source. -#}
with rejected as (
    select 'crm_contacts' as source_name, source_file, delivery_date, line_no, line, reject_reason as reason, 'rejected' as action
    from {{ ref('base_crm__contact_lines') }} where reject_reason is not null
    union all
    select 'crm_contacts', source_file, delivery_date, line_no, line, field_issue, 'field_nulled'
    from {{ ref('base_crm__contact_lines') }} where reject_reason is null and field_issue is not null
    union all
    select 'web_events', source_file, delivery_date, line_no, line, reject_reason, 'rejected'
    from {{ ref('base_web__event_lines') }} where reject_reason is not null
    union all
    select 'shop_orders', source_file, delivery_date, line_no, line, reject_reason, 'rejected'
    from {{ ref('base_shop__order_lines') }} where reject_reason is not null
    union all
    select 'shop_order_items', source_file, delivery_date, line_no, line, reject_reason, 'rejected'
    from {{ ref('base_shop__order_item_lines') }} where reject_reason is not null
)

select
    source_file || ':' || line_no || ':' || action as quarantine_id,
    source_name,
    source_file,
    delivery_date,
    line_no,
    line as raw_line,
    reason,
    action
from rejected
