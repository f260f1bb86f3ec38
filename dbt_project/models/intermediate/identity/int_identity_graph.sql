{#- Connected components of the identity graph (one row per node): label propagation as a recursive CTE
    over integer node numbers; a node's component is the smallest node number that reaches it. Labels are
    only pushed to larger node numbers, which keeps the work near half of the reachable pairs. -#}
with nodes as (
    select node_no, node_key from {{ ref('int_identity_nodes') }}
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

-- most identifiers (anonymous devices never logged in) have no link: they are their own component and stay
-- out of the label propagation
linked_nodes as (
    select distinct src as node_no from both_directions
),

linked_reach (node_no, label) as (
    {{ identity_reach('linked_nodes', 'both_directions') }}
),

reach as (
    select nodes.node_no, nodes.node_key, coalesce(linked_reach.label, nodes.node_no) as label
    from nodes
    left join linked_reach on linked_reach.node_no = nodes.node_no
)

select
    node_key,
    label as component_no,
    count(*) over (partition by label) as component_size
from reach
