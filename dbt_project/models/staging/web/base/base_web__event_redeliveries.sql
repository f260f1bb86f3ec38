{#- One row per valid event line that repeats an event already delivered earlier (same event_id, later
    delivery, file or line): the copies stg_web__events leaves out. Re-deliveries are rare, so only ids seen
    more than once are ranked (a window over every event costs several times more).
    Incremental: whether a line is a copy depends only on earlier lines, and base_web__event_lines rewrites
    whole delivery partitions, so a run re-checks the partitions holding lines loaded after what the table
    last saw (checked_through: the lines' latest loaded_at when a row was written; a run that found no copy
    leaves the watermark older, which only widens the next re-check). An id of a re-checked line is looked
    up in the whole history (one semi-join instead of grouping 20M ids). delete+insert on delivery_date: every
    re-checked partition the table holds is also output without a line (line_key null), so a partition whose
    copies are gone is emptied too (by the post-hook). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='delivery_date',
    on_schema_change='sync_all_columns',
    post_hook="{{ delete_keys_without('line_key') }}"
) }}

{#- the first partition to re-check: the earliest holding a line loaded after the watermark (max
    checked_through); none = everything (no watermark yet), '9999-12-31' = nothing (no line loaded since) -#}
{%- set recheck_from = none %}
{%- if execute and is_incremental() and 'checked_through' in (adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list) %}
  {%- set row = run_query("select (select max(checked_through) from " ~ this ~ ") is null, (select min(delivery_date) from "
        ~ ref('base_web__event_lines') ~ " where loaded_at > (select max(checked_through) from " ~ this ~ "))").rows[0] %}
  {%- set recheck_from = none if row[0] else (row[1].strftime('%Y-%m-%d') if row[1] else '9999-12-31') %}
{%- endif %}

-- every CTE below reads the base table itself rather than one shared `lines` CTE: DuckDB materializes a CTE
-- referenced twice, which here meant writing out 20M lines before the look-up
with valid_lines as (
    select event_id, delivery_date, source_file, line_no
    from {{ ref('base_web__event_lines') }}
    where reject_reason is null
),

{% if recheck_from -%}
rechecked_ids as (
    select distinct event_id from {{ ref('base_web__event_lines') }}
    where reject_reason is null and delivery_date >= '{{ recheck_from }}'
),

-- a join from the re-checked ids rather than `in (subquery)`: DuckDB probes the history against them early
candidates as (
    select valid_lines.* from rechecked_ids inner join valid_lines on valid_lines.event_id = rechecked_ids.event_id
),

repeated_ids as (
    select event_id from candidates group by event_id having count(*) > 1
),

ranked as (
    select
        candidates.*,
        row_number() over (partition by event_id order by delivery_date, source_file, line_no) as copy_rank
    from candidates
    where event_id in (select event_id from repeated_ids)
)
{%- else -%}
repeated_ids as (
    select event_id from {{ ref('base_web__event_lines') }}
    where reject_reason is null
    group by event_id having count(*) > 1
),

ranked as (
    select
        valid_lines.*,
        row_number() over (partition by valid_lines.event_id order by delivery_date, source_file, line_no) as copy_rank
    from repeated_ids inner join valid_lines on valid_lines.event_id = repeated_ids.event_id
)
{%- endif %}

select
    source_file || ':' || line_no as line_key,
    event_id,
    delivery_date,
    source_file,
    line_no,
    copy_rank,
    (select max(loaded_at) from {{ ref('base_web__event_lines') }}) as checked_through
from ranked
where copy_rank > 1
{%- if recheck_from %}
  and delivery_date >= '{{ recheck_from }}'
{%- endif %}
{%- if is_incremental() %}
union all by name
select distinct delivery_date from {{ this }}{% if recheck_from %} where delivery_date >= '{{ recheck_from }}'{% endif %}
{%- endif %}
