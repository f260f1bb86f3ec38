{#- Every identifier seen in any source, one row per node_key, with whether it is an "actor" (something
    that does things: a CRM contact, a device, or a guest-checkout e-mail) and whether a guard rejected it. -#}
with actors as (
    select 'customer_id:' || customer_id as node_key from {{ ref('stg_crm__contacts') }}
    union
    select 'anonymous_id:' || anonymous_id from {{ ref('int_web_identity_pairs') }} where anonymous_id is not null
    union
    select 'customer_id:' || user_id from {{ ref('int_web_identity_pairs') }} where user_id is not null
    union
    select 'customer_id:' || customer_id from {{ ref('stg_shop__orders') }} where customer_id is not null
    union
    select 'email:' || email from {{ ref('stg_shop__orders') }} where customer_id is null
),

linked as (
    select node_a as node_key from {{ ref('int_identity_edges_guarded') }}
    union
    select node_b from {{ ref('int_identity_edges_guarded') }}
),

all_nodes as (
    select node_key from actors
    union
    select node_key from linked
)

select
    all_nodes.node_key,
    split_part(all_nodes.node_key, ':', 1) as id_type,
    substr(all_nodes.node_key, length(split_part(all_nodes.node_key, ':', 1)) + 2) as id_value,
    {{ in_subquery('all_nodes.node_key', 'select node_key from actors', 'node_key') }} as is_actor,
    rejected.guard is not null as is_guard_rejected,
    row_number() over (order by all_nodes.node_key) as node_no
from all_nodes
left join {{ ref('int_identity_rejected_identifiers') }} as rejected on rejected.node_key = all_nodes.node_key
