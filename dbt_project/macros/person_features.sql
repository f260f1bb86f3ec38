{% macro persons_with_new_data(web_events=true, also_changed=none) -%}
  {#- SQL of the person ids an incremental per-person fact model (delete+insert on person_id; computed_at is
      the start of the dbt invocation that computed a row) recomputes: the persons of every identifier pair of
      a device with event lines loaded since its latest computed_at (web_events: new or re-delivered events and
      the sessions they re-split), those of person-map rows rewritten since and the ids those rows had before
      (merges, splits), and also_changed (SQL; {watermark} stands for that computed_at). Everyone when the table
      is empty or was computed for a later as_of_date. A watermark rather than "this run's loads" keeps a run
      after an interrupted one right. -#}
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
  {#- Post-hook of a delete+insert model whose incremental run outputs every key it recomputed, with
      marker_column null for a key without data any more: delete+insert cannot remove a key missing from its
      input, so those rows are deleted here (live_persons: persons gone from the person map too). Nothing to do
      on Spark (full rebuilds). -#}
  {%- if is_incremental() -%}
    delete from {{ this }} where {{ marker_column }} is null
    {%- if live_persons %} or person_id not in (select person_id from {{ ref('int_person_map') }}){% endif %}
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}


{% macro person_features_bookkeeping() -%}
  {#- The columns persons_with_new_data reads back: the run's as_of_date and when its dbt invocation
      started (the loaded_at / mapped_at of what it read). -#}
    cast('{{ as_of_date() }}' as date) as computed_as_of_date,
    {{ load_timestamp() }} as computed_at
{%- endmacro %}


{% macro recomputed_persons_facts(facts) -%}
  {#- The final select of those models: in an incremental run one row per recomputed person (CTE recomputed),
      with null facts for a person who has none any more (delete_keys_without deletes it after the
      delete+insert), else every row of the facts CTE. -#}
  {%- if is_incremental() %}
select recomputed.person_id, {{ facts }}.* exclude (person_id)
from recomputed
left join {{ facts }} on {{ facts }}.person_id = recomputed.person_id
  {%- else %}
select * from {{ facts }}
  {%- endif %}
{%- endmacro %}
