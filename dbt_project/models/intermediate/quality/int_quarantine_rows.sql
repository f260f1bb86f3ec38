{#- Every landed line that broke a rule, with its source file, line number, raw text and the reason.
    action = 'rejected' (the row is not in the warehouse) or 'field_nulled' (the row is kept with the bad
    value set to null). Nothing is dropped silently: see source_load_audit for the balance per source.
    Incremental on DuckDB: a run replaces the rows of every file with lines loaded after the newest loaded_at
    it holds (the base tables rewrite whole files, so a re-delivered file's old rows go, also when it has no
    bad line any more); the scans skip the older row groups by their stored loaded_at range instead of
    reading every event line's reject_reason. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ quarantine_replace_prehook(['base_crm__contact_lines', 'base_web__event_lines', 'base_shop__order_lines', 'base_shop__order_item_lines']) }}"
) }}
-- the pre-hook reads: {{ ref('base_crm__contact_lines') }} {{ ref('base_web__event_lines') }}
-- {{ ref('base_shop__order_lines') }} {{ ref('base_shop__order_item_lines') }}
{%- set since = quarantine_since() %}
{%- set loaded = "loaded_at > cast('" ~ since ~ "' as timestamp)" if since else "true" %}
with rejected as (
    select 'crm_contacts' as source_name, source_file, delivery_date, line_no, line, reject_reason as reason, 'rejected' as action, loaded_at
    from {{ ref('base_crm__contact_lines') }} where reject_reason is not null and {{ loaded }}
    union all
    select 'crm_contacts', source_file, delivery_date, line_no, line, field_issue, 'field_nulled', loaded_at
    from {{ ref('base_crm__contact_lines') }} where reject_reason is null and field_issue is not null and {{ loaded }}
    union all
    select 'web_events', source_file, delivery_date, line_no, line, reject_reason, 'rejected', loaded_at
    from {{ ref('base_web__event_lines') }} where reject_reason is not null and {{ loaded }}
    union all
    select 'shop_orders', source_file, delivery_date, line_no, line, reject_reason, 'rejected', loaded_at
    from {{ ref('base_shop__order_lines') }} where reject_reason is not null and {{ loaded }}
    union all
    select 'shop_order_items', source_file, delivery_date, line_no, line, reject_reason, 'rejected', loaded_at
    from {{ ref('base_shop__order_item_lines') }} where reject_reason is not null and {{ loaded }}
)

select
    source_file || ':' || line_no || ':' || action as quarantine_id,
    source_name,
    source_file,
    delivery_date,
    line_no,
    line as raw_line,
    reason,
    action,
    loaded_at
from rejected
