{% macro sessions_recompute_prehook() -%}
  {#- Incremental sessionization: for every device with events in the re-read delivery partitions, recompute
      its sessions from the start of the first existing session that could touch a new event (or the first
      new event). Earlier sessions are separated from every new event by more than the gap, so the result
      equals a full refresh. Creates temp table session_recompute and deletes the sessions it replaces. -#}
  {%- if is_incremental() -%}
    {%- set since = incremental_since(this, 'last_delivery_date') -%}
    create or replace temp table session_recompute as
    with batch as (
        select {{ device_key() }} as device_key, min(event_at) as first_new_at
        from {{ ref('stg_web__events') }}
        where delivery_date >= '{{ since }}' and event_type <> 'email_open'
        group by 1
    ),
    touching as (
        select batch.device_key, min(s.session_start_at) as first_touched_start
        from batch
        inner join {{ this }} as s
            on s.device_key = batch.device_key
           and s.session_end_at >= batch.first_new_at - interval {{ var('session_gap_minutes') }} minute
        group by 1
    )
    select batch.device_key, least(batch.first_new_at, coalesce(touching.first_touched_start, batch.first_new_at)) as recompute_from
    from batch left join touching on touching.device_key = batch.device_key;
    delete from {{ this }} as s using session_recompute as r
    where s.device_key = r.device_key and s.session_start_at >= r.recompute_from
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}

{% macro device_key() -%}
  coalesce('anonymous_id:' || anonymous_id, 'customer_id:' || user_id)
{%- endmacro %}
