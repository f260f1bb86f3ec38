{% macro persons_with_new_data(web_events=true, also_changed=none) -%}
  {#- why: dbt's incremental filter is per row, these facts change per person: the persons a per-person fact
      model recomputes (those of devices with event lines and of person-map rows written since its own latest
      computed_at, so a run after an interrupted one is right; also_changed: more SQL, {watermark} = that time) -#}
  {%- set watermark = "(select coalesce(max(computed_at), cast('-infinity' as timestamp)) from " ~ this ~ ")" -%}
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
    select person_id from {{ ref('int_person_map') }}
    where mapped_at > {{ watermark }}
       or (select max(computed_as_of_date) from {{ this }}) > cast('{{ as_of_date() }}' as date)
    union
    select previous_person_id from {{ ref('int_person_map') }}
    where mapped_at > {{ watermark }} and previous_person_id is not null
  {%- if also_changed %}
    union
    {{ also_changed | replace('{watermark}', watermark) }}
  {%- endif %}
{%- endmacro %}

{% macro delete_keys_without(marker_column, live_persons=false) -%}
  {#- why: delete+insert cannot remove a key missing from its input: a post-hook deleting the recomputed keys
      output with marker_column null (live_persons: and persons gone from the person map) -#}
  {%- if is_incremental() -%}
    delete from {{ this }} where {{ marker_column }} is null
    {%- if live_persons %} or person_id not in (select person_id from {{ ref('int_person_map') }}){% endif %}
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}

{% macro person_features_bookkeeping() -%}
  {#- why: the watermark columns persons_with_new_data reads back (the run's as_of_date and start) -#}
    cast('{{ as_of_date() }}' as date) as computed_as_of_date,
    {{ load_timestamp() }} as computed_at
{%- endmacro %}

{% macro recomputed_persons_facts(facts) -%}
  {#- why: shared final select: in an incremental run one row per recomputed person (null facts for one who has
      none any more, for delete_keys_without), else every row of the facts CTE -#}
  {%- if is_incremental() %}
select recomputed.person_id, {{ facts }}.* exclude (person_id)
from recomputed
left join {{ facts }} on {{ facts }}.person_id = recomputed.person_id
  {%- else %}
select * from {{ facts }}
  {%- endif %}
{%- endmacro %}
