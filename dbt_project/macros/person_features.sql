{% macro person_features_recompute_prehook(also_changed=none, web_events=true) -%}
  {#- Pre-hook of an incremental per-person fact model (DuckDB; one row per person_id, bookkeeping columns
      computed_as_of_date and computed_at, see person_features_bookkeeping): the facts do not depend on
      as_of_date, so only the persons with new or changed data are recomputed, into temp table
      <model>__recompute, and their rows deleted:
      * web_events: persons of every identifier pair of a device with event lines loaded after the table was
        last computed (loaded_at > computed_at: both are dbt invocation start times): new or re-delivered
        events, and the sessions the sessionization re-split, whichever pair each is attributed by;
      * persons of the person-map rows rewritten since then (mapped_at > computed_at), and the ids those rows
        had before (merges, splits);
      * also_changed: SQL of further person ids (the rows an input model rewrote since then).
      A run for an earlier date than the table's recomputes everyone. Watermarks instead of "this run" keep a
      run after an interrupted one right. Rows of persons no longer in the person map are deleted too. The
      rest keeps its figures, which equals a full refresh. -#}
  {%- if is_incremental() -%}
    {%- set recompute = this.identifier ~ '__recompute' -%}
    {%- if 'computed_as_of_date' not in (adapter.get_columns_in_relation(this) | map(attribute='name') | list) -%}
      {{ exceptions.raise_compiler_error(this ~ " was built by an earlier version without change tracking: rebuild it once with --full-refresh --select " ~ this.identifier) }}
    {%- endif -%}
    {%- set state = run_query("select max(computed_as_of_date), max(computed_at) from " ~ this).rows[0] -%}
    {%- set computed, computed_at = state[0], state[1] -%}
    {%- if computed is none or computed_at is none or (computed | string) > as_of_date() -%}
    create or replace temp table {{ recompute }} as
    select distinct person_id from {{ ref('int_person_map') }};
    {%- else -%}
    {%- set watermark = "cast('" ~ computed_at ~ "' as timestamp)" -%}
    create or replace temp table {{ recompute }} as
    {%- if web_events %}
    select person_map.person_id
    from {{ ref('int_web_pair_totals') }} as pairs
    inner join (
        select distinct {{ device_key() }} as device_key
        from {{ ref('base_web__event_lines') }}
        where loaded_at > {{ watermark }} and reject_reason is null
    ) as loaded_devices
        on loaded_devices.device_key = coalesce('anonymous_id:' || pairs.anonymous_id, 'customer_id:' || pairs.user_id)
    inner join {{ ref('int_person_map') }} as person_map
        on person_map.node_key = {{ web_node_key('pairs.user_id', 'pairs.anonymous_id') }}
    union
    {%- endif %}
    select person_id from {{ ref('int_person_map') }} where mapped_at > {{ watermark }}
    union
    select previous_person_id from {{ ref('int_person_map') }}
    where mapped_at > {{ watermark }} and previous_person_id is not null
    {%- if also_changed %}
    union
    {{ also_changed | replace('{watermark}', watermark) }}
    {%- endif %};
    {%- endif %}
    delete from {{ this }}
    where person_id in (select person_id from {{ recompute }})
       or person_id not in (select person_id from {{ ref('int_person_map') }})
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}


{% macro person_features_bookkeeping() -%}
  {#- The columns person_features_recompute_prehook reads back: the run's as_of_date and when its dbt
      invocation started (the loaded_at / mapped_at of what it read). -#}
    cast('{{ as_of_date() }}' as date) as computed_as_of_date,
    {{ load_timestamp() }} as computed_at
{%- endmacro %}


{% macro contact_persons_changed_since() -%}
  {#- also_changed of int_person_contacts_aggregated (DuckDB, incremental only; {watermark} is filled in by the
      pre-hook): the persons of customers with contact lines loaded since, and the stored persons one of whose
      contacts' versions came from a file loaded again since (a re-delivered file may no longer hold it). -#}
    select person_map.person_id
    from (
        select distinct customer_id from {{ ref('base_crm__contact_lines') }}
        where loaded_at > {watermark} and customer_id is not null
    ) as loaded
    inner join {{ ref('int_person_map') }} as person_map on person_map.node_key = 'customer_id:' || loaded.customer_id
    union
    select person_id from {{ this }}
    where list_has_any(contact_files, (
        select coalesce(list(distinct source_file), []) from {{ ref('base_crm__contact_lines') }} where loaded_at > {watermark}
    ))
{%- endmacro %}
