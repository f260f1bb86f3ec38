-- A 0-byte delivery (a truncated export) is quarantined as 'empty file', never read as "no rows today":
-- CSV files for their missing header, event files for having no event lines. Rows: empty files not quarantined.
-- depends_on: {{ ref('int_quarantine_rows') }}
{%- set csv_files = landing_files('crm/contacts', '*.csv') + landing_files('shop/orders', '*.csv')
                    + landing_files('shop/order_items', '*.csv') -%}
{%- set event_files = landing_files('web/events', '*.jsonl') %}
with empty_csv as (
    {{ empty_landing_files(csv_files) }}
),

empty_events as (
    {{ empty_landing_files(event_files) }}
),

quarantined as (
    select source_file, reason from {{ ref('int_quarantine_rows') }} where reason like 'empty file:%'
)

select empty_csv.source_file
from empty_csv
left join quarantined
    on quarantined.source_file = empty_csv.source_file and quarantined.reason = 'empty file: no header line'
where quarantined.source_file is null
union all
select empty_events.source_file
from empty_events
left join quarantined
    on quarantined.source_file = empty_events.source_file and quarantined.reason = 'empty file: no event lines'
where quarantined.source_file is null
