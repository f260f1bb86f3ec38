{#- Every re-delivered copy names a stored event line (source_file, line_no) of its delivery date, with the
    same event_id. Checked in the delivery partitions the latest load wrote lines to (all of them after a full
    build): a copy can only go stale when its partition's lines are rewritten, and base_web__event_redeliveries
    re-checks exactly those partitions; older partitions were checked when they were written. Rows: copies
    with no such line. -#}
{%- set latest = latest_load(ref('base_web__event_lines')) %}
with latest_partitions as (
    select distinct delivery_date from {{ ref('base_web__event_lines') }}
    where loaded_at = {{ latest.value }}
),

copies as (
    select source_file, line_no, delivery_date, event_id from {{ ref('base_web__event_redeliveries') }}
    where delivery_date in (select delivery_date from latest_partitions)
),

lines as (
    select source_file, line_no, event_id from {{ ref('base_web__event_lines') }}
    -- the copies' delivery dates only: the line table is stored in delivery order, so older row groups are skipped
    where delivery_date >= (select coalesce(min(delivery_date), cast('9999-12-31' as date)) from copies)
)

select copies.*
from copies
left join lines
    on lines.source_file = copies.source_file and lines.line_no = copies.line_no and lines.event_id = copies.event_id
where lines.source_file is null
