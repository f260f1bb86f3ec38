{#- One row per valid event line that repeats an event already delivered earlier (same event_id, later
    delivery, file or line): the copies stg_web__events leaves out. Re-deliveries are rare, so only ids seen
    more than once are ranked (a window over every event costs several times more). -#}
{{ config(materialized='table') }}

with lines as (
    select line_key, event_id, delivery_date, source_file, line_no
    from {{ ref('base_web__event_lines') }}
    where reject_reason is null
),

repeated_ids as (
    select event_id from lines group by event_id having count(*) > 1
),

ranked as (
    select
        lines.*,
        row_number() over (partition by event_id order by delivery_date, source_file, line_no) as copy_rank
    from lines
    where event_id in (select event_id from repeated_ids)
)

select line_key, event_id, delivery_date, source_file, line_no, copy_rank
from ranked
where copy_rank > 1
