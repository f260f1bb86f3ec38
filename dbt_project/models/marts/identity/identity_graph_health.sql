{#- One row per run (as_of_date): size and shape of the identity graph, links by type and identifiers
    rejected by each guard. Later stages can gate on it (e.g. largest_component_size, n_flagged_components). -#}
{{ config(materialized='incremental', unique_key='as_of_date', incremental_strategy='delete+insert', on_schema_change='fail') }}

with persons as (
    select person_id, max(component_size) as component_size, bool_or(is_identity_flagged) as is_flagged
    from {{ ref('int_person_map') }}
    where is_actor
    group by person_id
),

edges as (
    select link_type, count(*) as n from {{ ref('int_identity_edges_guarded') }} group by link_type
),

rejected as (
    select guard, count(*) as n from {{ ref('int_identity_rejected_identifiers') }} group by guard
)

select
    cast('{{ as_of_date() }}' as date) as as_of_date,
    (select count(*) from {{ ref('int_identity_nodes') }}) as n_nodes,
    (select coalesce(sum(n), 0) from edges)::bigint as n_edges,
    count(*) as n_persons,
    max(component_size) as largest_component_size,
    cast(percentile_disc(0.5) within group (order by component_size) as bigint) as median_component_size,
    cast(percentile_disc(0.99) within group (order by component_size) as bigint) as p99_component_size,
    count(*) filter (where component_size = 1) as n_singleton_components,
    count(*) filter (where component_size between 2 and 5) as n_components_2_5,
    count(*) filter (where component_size between 6 and 20) as n_components_6_20,
    count(*) filter (where component_size > 20) as n_components_over_20,
    count(*) filter (where is_flagged) as n_flagged_persons,
    coalesce((select n from edges where link_type = 'crm_email'), 0) as links_crm_email,
    coalesce((select n from edges where link_type = 'crm_phone'), 0) as links_crm_phone,
    coalesce((select n from edges where link_type = 'login'), 0) as links_login,
    coalesce((select n from edges where link_type = 'order_email'), 0) as links_order_email,
    coalesce((select n from edges where link_type = 'probabilistic'), 0) as links_probabilistic,
    coalesce((select n from rejected where guard = 'placeholder value'), 0) as rejected_placeholder,
    coalesce((select n from rejected where guard = 'shared email'), 0) as rejected_shared_email,
    coalesce((select n from rejected where guard = 'shared phone'), 0) as rejected_shared_phone,
    coalesce((select n from rejected where guard = 'shared device'), 0) as rejected_shared_device
from persons
