{% macro events_reattribute_prehook() -%}
  {#- Before an incremental fct_events run: re-attribute the loaded events of every identifier whose person
      changed since the previous run (late logins, merges, splits). The previous mapping is
      person_map_snapshot, which is built after fct_events; without it every loaded event is re-checked.
      New rows are inserted with the current mapping by the model itself. -#}
  {%- if is_incremental() -%}
    {%- set previous = adapter.get_relation(database=this.database, schema=this.schema, identifier='person_map_snapshot') -%}
    update {{ this }} as f set person_id = r.person_id
    from (
        with person_map as (
            select id_type, id_value, node_key, person_id from {{ ref('int_person_map') }}
        ),
        {%- if previous is not none %}
        changed as (
            select person_map.id_type, person_map.id_value
            from person_map
            left join {{ previous }} as previous_map on previous_map.node_key = person_map.node_key
            where previous_map.person_id is distinct from person_map.person_id
        ),
        candidates as (
            select event_id, user_id, anonymous_id from {{ this }}
            where user_id in (select id_value from changed where id_type = 'customer_id')
               or anonymous_id in (select id_value from changed where id_type = 'anonymous_id')
        )
        {%- else %}
        candidates as (
            select event_id, user_id, anonymous_id from {{ this }}
        )
        {%- endif %}
        select candidates.event_id, coalesce(by_user.person_id, by_device.person_id) as person_id
        from candidates
        left join person_map as by_user
            on by_user.id_type = 'customer_id' and by_user.id_value = candidates.user_id
        left join person_map as by_device
            on by_device.id_type = 'anonymous_id' and by_device.id_value = candidates.anonymous_id
    ) as r
    where f.event_id = r.event_id and f.person_id is distinct from r.person_id
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}
