{#- Connected components of the identity graph (one row per node); a component is numbered by its smallest
    node number. Most identifiers hang off one other node only (a contact's e-mail and phone, a device that
    logged in to one account): such a leaf cannot connect two other nodes, so the label propagation (a
    recursive CTE over integer node numbers, labels pushed to larger numbers only) runs on the core, the
    nodes linked to two or more others, and leaves take their neighbour's label afterwards. At 1M persons
    the propagation then walks the few shared identifiers instead of 3.1M linked nodes. The node's
    attributes are carried along for int_person_map (one 3.4M-row join less).
    A view on DuckDB: its only reader is int_person_map, so the components are computed inside that model's
    query instead of being written as a 3.4M-row table and read back (node_key is tested there, one row per
    graph node). On Spark a table: the label propagation runs as separate cached steps of this model. -#}
{{ config(materialized='table' if target.type == 'spark' else 'view') }}
with nodes as (
    select node_no, node_key, id_type, id_value, is_actor, is_guard_rejected from {{ ref('int_identity_nodes') }}
),

edges as (
    select a.node_no as src, b.node_no as dst
    from {{ ref('int_identity_edges_guarded') }} as e
    inner join nodes as a on a.node_key = e.node_a
    inner join nodes as b on b.node_key = e.node_b
),

both_directions as (
    select src, dst from edges
    union
    select dst, src from edges
),

-- linked nodes with their number of distinct neighbours (a leaf's only neighbour is min(dst))
degrees as (
    select src as node_no, count(*) as degree, min(dst) as first_neighbour
    from both_directions
    group by src
),

core_edges as (
    select both_directions.src, both_directions.dst
    from both_directions
    inner join degrees as s on s.node_no = both_directions.src and s.degree > 1
    inner join degrees as d on d.node_no = both_directions.dst and d.degree > 1
),

core_linked as (
    select distinct src as node_no from core_edges
),

core_reach (node_no, label) as (
    {{ identity_reach('core_linked', 'core_edges') }}
),

-- a provisional label per node: core nodes their propagated label (or their own number), leaves their
-- neighbour's (two leaves linked to each other: the smaller number), unlinked nodes their own number
labelled as (
    select
        nodes.*,
        case
            when degrees.node_no is null then nodes.node_no
            when degrees.degree > 1 then coalesce(own.label, nodes.node_no)
            when neighbour.degree > 1 then coalesce(neighbour_reach.label, neighbour.node_no)
            else least(nodes.node_no, degrees.first_neighbour)
        end as label
    from nodes
    left join degrees on degrees.node_no = nodes.node_no
    left join core_reach as own on own.node_no = nodes.node_no
    left join degrees as neighbour on neighbour.node_no = degrees.first_neighbour and degrees.degree = 1
    left join core_reach as neighbour_reach on neighbour_reach.node_no = neighbour.node_no
)

select
    node_key,
    id_type,
    id_value,
    is_actor,
    is_guard_rejected,
    min(node_no) over (partition by label) as component_no,
    count(*) over (partition by label) as component_size
from labelled
