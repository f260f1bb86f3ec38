{#- One row per identifier node with the person it belongs to. person_id = hash of the component's anchor:
    its smallest customer_id, else smallest guest e-mail, else smallest anonymous_id (so a person keeps its
    id while new devices are stitched to it). A component larger than max_component_size is not merged
    blindly: it is flagged and split back into one person per customer_id (a device with exactly one login
    owner follows that owner; other nodes stand alone). -#}
with graph as (
    select node_key, id_type, id_value, is_actor, is_guard_rejected, component_no, component_size
    from {{ ref('int_identity_graph') }}
),

-- the anchor's person_id is hashed once per component (1.1M), not once per node (3.4M)
anchors as (
    select
        component_no,
        {{ person_id_for("substr(min(case id_type when 'customer_id' then '0' when 'email' then '1' when 'anonymous_id' then '2' else '3' end || node_key), 2)") }} as anchor_person_id
    from graph
    group by component_no
),

login_owner as (
    select node_a as node_key, min(node_b) as owner_key
    from {{ ref('int_identity_edges_guarded') }}
    where link_type = 'login'
    group by node_a
    having count(*) = 1
)

select
    graph.node_key,
    graph.id_type,
    graph.id_value,
    graph.is_actor,
    graph.is_guard_rejected,
    graph.component_size,
    graph.component_size > {{ var('max_component_size') }} as is_identity_flagged,
    case
        when graph.component_size > {{ var('max_component_size') }}
            then {{ person_id_for('coalesce(login_owner.owner_key, graph.node_key)') }}
        else anchors.anchor_person_id
    end as person_id
from graph
inner join anchors on anchors.component_no = graph.component_no
left join login_owner on login_owner.node_key = graph.node_key
