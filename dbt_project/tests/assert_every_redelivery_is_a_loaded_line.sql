{#- Every re-delivered copy names a stored event line (source_file, line_no) of its delivery date, with the
    same event_id. Rows: copies with no such line. -#}
with copies as (
    select source_file, line_no, delivery_date, event_id from {{ ref('base_web__event_redeliveries') }}
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
