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


{% macro session_stats_recompute_prehook() -%}
  {#- Incremental int_person_session_stats (DuckDB): only the persons whose figures can have changed are
      recomputed, into temp table int_person_session_stats__recompute, and their rows deleted:
      * persons of every identifier pair of a device with event lines loaded after the table's watermark
        (checked_through: the lines' latest loaded_at when it was computed), whose sessions the
        sessionization may have re-split, whichever pair each session is attributed by;
      * persons of the person-map rows rewritten since the table was last computed (stats_as_of_date), and
        the ids those rows had before (merges, splits);
      * persons with a session on a day that left the 30- or 28-day windows since then (a run for an earlier
        date recomputes everyone).
      Watermarks instead of "this run" keep a run after an interrupted one right. Rows of persons no longer
      in the person map are deleted too. The rest keeps its figures, which equals a full refresh. -#}
  {%- if is_incremental() -%}
    {%- set recompute = this.identifier ~ '__recompute' -%}
    {%- set as_of = "cast('" ~ as_of_date() ~ "' as date)" -%}
    {%- if 'checked_through' not in (adapter.get_columns_in_relation(this) | map(attribute='name') | list) -%}
      {{ exceptions.raise_compiler_error(this ~ " was built by an earlier version without change tracking: rebuild it once with --full-refresh --select int_person_session_stats") }}
    {%- endif -%}
    {%- set state = run_query("select max(stats_as_of_date), max(checked_through) from " ~ this).rows[0] -%}
    {%- set computed, checked_through = state[0], state[1] -%}
    {%- if computed is none or checked_through is none or (computed | string) > as_of_date() -%}
    create or replace temp table {{ recompute }} as
    select distinct person_id from {{ ref('int_person_map') }};
    {%- else -%}
    create or replace temp table {{ recompute }} as
    with person_map as (
        select node_key, person_id from {{ ref('int_person_map') }}
        where id_type in ('customer_id', 'anonymous_id')
    ),

    loaded_devices as (
        select distinct {{ device_key() }} as device_key
        from {{ ref('base_web__event_lines') }}
        where loaded_at > cast('{{ checked_through }}' as timestamp) and reject_reason is null
    ),

    touched_nodes as (
        select {{ web_node_key('pairs.user_id', 'pairs.anonymous_id') }} as node_key
        from {{ ref('int_web_pair_totals') }} as pairs
        inner join loaded_devices
            on loaded_devices.device_key = coalesce('anonymous_id:' || pairs.anonymous_id, 'customer_id:' || pairs.user_id)
        union
        -- sessions of the days that left a window: (last computed - 30, as_of - 28]
        select {{ web_node_key('user_id', 'anonymous_id') }}
        from {{ ref('int_sessions_sessionized') }}
        where session_start_at >= cast('{{ computed }}' as date) - 29 and session_start_at < {{ as_of }} - 27
    )

    select person_map.person_id
    from touched_nodes inner join person_map on person_map.node_key = touched_nodes.node_key
    union
    select person_id from {{ ref('int_person_map') }} where mapped_as_of_date >= cast('{{ computed }}' as date)
    union
    select previous_person_id from {{ ref('int_person_map') }}
    where mapped_as_of_date >= cast('{{ computed }}' as date) and previous_person_id is not null;
    {%- endif %}
    delete from {{ this }}
    where person_id in (select person_id from {{ recompute }})
       or person_id not in (select person_id from {{ ref('int_person_map') }})
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}

