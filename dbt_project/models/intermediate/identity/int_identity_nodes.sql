{#- Every identifier seen in any source, one row per node_key, with whether it is an "actor" (something
    that does things: a CRM contact, a device, or a guest-checkout e-mail) and whether a guard rejected it.
    node_no is an integer per node for the component search (int_person_map): unique, but assigned
    without ordering the 3.4M keys, so not stable between runs (nothing downstream keeps it). The type and
    value parts of the key are split off by int_person_map for the rows it writes, not stored for every node
    of every run. edge_fingerprint is an order-free hash of the
    node's guarded links (hash64 of each link's type, other end and direction ('>' from node_a, '<' from node_b), xor-ed; 0 without
    links), grouped with the nodes in the same pass: int_person_map compares it with the one it stored to find
    the nodes whose links changed. -#}
-- link_hash: one row per end of every guarded link (null on the rows that only list an actor)
with identifiers as (
    select 'customer_id:' || customer_id as node_key, true as is_actor, null as link_hash from {{ ref('stg_crm__contacts') }}
    union all
    select 'anonymous_id:' || anonymous_id, true, null from {{ ref('int_web_identity_pairs') }} where anonymous_id is not null
    union all
    select 'customer_id:' || user_id, true, null from {{ ref('int_web_identity_pairs') }} where user_id is not null
    union all
    select 'customer_id:' || customer_id, true, null from {{ ref('stg_shop__orders') }} where customer_id is not null
    union all
    select 'email:' || email, true, null from {{ ref('stg_shop__orders') }} where customer_id is null
    union all
    -- both ends of every link: the e-mails and phones that link contacts and orders are node_b of every link
    -- but a login and listed only here; every other link end is a customer_id or device also listed above
    select node_a, false, {{ hash64('link_type', 'node_b', "'>'") }} from {{ ref('int_identity_edges_guarded') }}
    union all
    select node_b, false, {{ hash64('link_type', 'node_a', "'<'") }} from {{ ref('int_identity_edges_guarded') }}
),

all_nodes as (
    select node_key, bool_or(is_actor) as is_actor, coalesce(bit_xor(link_hash), 0) as edge_fingerprint
    from identifiers
    group by node_key
)

select
    all_nodes.node_key,
    all_nodes.is_actor,
    rejected.guard is not null as is_guard_rejected,
    all_nodes.edge_fingerprint,
    {{ unique_row_number("all_nodes.node_key") }} as node_no
from all_nodes
left join {{ ref('int_identity_rejected_identifiers') }} as rejected on rejected.node_key = all_nodes.node_key
