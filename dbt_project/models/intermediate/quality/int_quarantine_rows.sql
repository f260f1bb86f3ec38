{#- Every landed line that broke a rule, with its source file, line number, raw text and the reason.
    action = 'rejected' (the row is not in the warehouse) or 'field_nulled' (the row is kept with the bad
    value set to null). Nothing is dropped silently: see source_load_audit for the balance per source.
    Incremental on DuckDB (delete+insert on source_file): a run replaces the rows of every file with lines
    loaded after the newest loaded_at it holds (the base tables rewrite whole files); a re-delivered file
    without a bad line any more is output as one row with a null quarantine_id, which the post-hook deletes.
    The scans skip the older row groups by their stored loaded_at range instead of reading every event
    line's reject_reason. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='source_file',
    on_schema_change='fail',
    post_hook="{{ delete_keys_without('quarantine_id') }}"
) }}
{#- the newest loaded_at the table holds: every line loaded up to then was read by an earlier run (a run
    that stopped before this model leaves its lines above it) -#}
{%- set since = run_query("select max(loaded_at) from " ~ this).rows[0][0] if execute and is_incremental() else none %}
{%- set loaded = "loaded_at > cast('" ~ since ~ "' as timestamp)" if since else "true" %}
{%- set bases = ['base_crm__contact_lines', 'base_web__event_lines', 'base_shop__order_lines', 'base_shop__order_item_lines'] %}
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
),

quarantined as (
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
)
{%- if since %}

-- every file loaded since, those without a bad line any more too
select
    quarantined.quarantine_id,
    quarantined.source_name,
    files.source_file,
    quarantined.delivery_date,
    quarantined.line_no,
    quarantined.raw_line,
    quarantined.reason,
    quarantined.action,
    quarantined.loaded_at
from (
    {%- for base in bases %}
    {{ 'union ' if not loop.first }}select source_file from {{ ref(base) }} where {{ loaded }}
    {%- endfor %}
) as files
left join quarantined on quarantined.source_file = files.source_file
{%- else %}

select * from quarantined
{%- endif %}
