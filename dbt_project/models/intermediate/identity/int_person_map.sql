{#- One row per identifier node with the person it belongs to.
    Components: connected components of the identity graph, found by label propagation over integer node
    numbers (identity_reach: a recursive CTE on DuckDB, labels pushed to larger numbers only). Most
    identifiers hang off one other node only (a contact's e-mail and phone, a device that logged in to one
    account): such a leaf cannot connect two other nodes, so the propagation runs on the core, the nodes
    linked to two or more others, and leaves take their neighbour's label afterwards.
    person_id = hash of the component's anchor: its smallest customer_id, else smallest guest e-mail, else
    smallest anonymous_id (so a person keeps its id while new devices are stitched to it). A component larger
    than max_component_size is not merged blindly: it is flagged and split back into one person per
    customer_id (a device with exactly one login owner follows that owner; other nodes stand alone).
    Incremental on DuckDB (delete+insert on node_key): a daily run recomputes only the identity components
    whose nodes or links changed. A node changed when it is new or gone, its actor/guard flags differ, its
    links differ (edge_fingerprint: an order-free hash of its links, from int_identity_nodes) or its stored
    flag disagrees with max_component_size; every stored node of a changed node's component
    (anchor_person_id) is recomputed with it. A component is closed under links, so every link of a recomputed
    node joins two recomputed nodes and the result equals a full refresh. Every recomputed node is also output
    without a component (component_size null), a row the post-hook deletes: so a gone node goes too. previous_person_id, mapped_as_of_date and mapped_at (when its dbt
    invocation started) record the run that last rewrote the row; person_id_history reads the moves. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='node_key',
    on_schema_change='fail',
    post_hook="{{ delete_keys_without('component_size') }}"
) }}
{%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) if execute and this is not none else none %}
{%- if is_incremental() and 'edge_fingerprint' not in (adapter.get_columns_in_relation(this) | map(attribute='name') | list) %}
  {{ exceptions.raise_compiler_error(this ~ " was built by an earlier version without change tracking: rebuild it once with --full-refresh --select int_person_map") }}
{%- endif %}

with
{%- if is_incremental() %}
changed as (
    select coalesce(c.node_key, p.node_key) as node_key, p.anchor_person_id
    from {{ ref('int_identity_nodes') }} as c
    full join {{ this }} as p on p.node_key = c.node_key
    where p.node_key is null or c.node_key is null
       or c.edge_fingerprint <> p.edge_fingerprint
       or c.is_actor <> p.is_actor
       or c.is_guard_rejected <> p.is_guard_rejected
       or p.is_identity_flagged <> (p.component_size > {{ var('max_component_size') }})
),

recompute as materialized (
    select node_key from changed
    union
    select stored.node_key from {{ this }} as stored
    inner join (select distinct anchor_person_id from changed) as touched
        on touched.anchor_person_id = stored.anchor_person_id
),
{%- endif %}

-- (node_key, previous_person_id) of the stored rows this run replaces (none on a first build or in a unit test)
previous as (
    {%- if existing is none %}
    select cast(null as {{ dbt.type_string() }}) as node_key, cast(null as {{ dbt.type_string() }}) as previous_person_id
    where false
    {%- else %}
    -- a row already rewritten today (a re-run of the same as_of_date) keeps the id it had before that first run
    {%- if 'mapped_as_of_date' in (adapter.get_columns_in_relation(this) | map(attribute='name') | list) %}
    select node_key, case when mapped_as_of_date = cast('{{ as_of_date() }}' as date) then previous_person_id else person_id end as previous_person_id
    {%- else %}
    select node_key, person_id as previous_person_id
    {%- endif %}
    from {{ this }} as p
    {%- if is_incremental() %}
    where node_key in (select node_key from recompute)
    {%- endif %}
    {%- endif %}
),

nodes as (
    select
        node_no,
        node_key,
        split_part(node_key, ':', 1) as id_type,
        substr(node_key, length(split_part(node_key, ':', 1)) + 2) as id_value,
        is_actor,
        is_guard_rejected,
        edge_fingerprint
    from {{ ref('int_identity_nodes') }}
    {%- if is_incremental() %}
    where node_key in (select node_key from recompute)
    {%- endif %}
),

-- every link of a recomputed node joins two recomputed nodes (components are closed under links)
guarded_edges as (
    select node_a, node_b, link_type
    from {{ ref('int_identity_edges_guarded') }}
    {%- if is_incremental() %}
    where node_a in (select node_key from recompute)
    {%- endif %}
),

edges as (
    select a.node_no as src, b.node_no as dst
    from guarded_edges as e
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

-- a label per node, the same for every node of a component: core nodes their propagated label (or their
-- own number), leaves their neighbour's (two leaves linked to each other: the smaller number), unlinked
-- nodes their own number
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
),

components as (
    select labelled.*, count(*) over (partition by label) as component_size
    from labelled
),

-- the anchor's person_id is hashed once per component (1.1M), not once per node (3.4M)
anchors as (
    select
        label,
        {{ person_id_for("substr(min(case id_type when 'customer_id' then '0' when 'email' then '1' when 'anonymous_id' then '2' else '3' end || node_key), 2)") }} as anchor_person_id
    from components
    group by label
),

login_owner as (
    select node_a as node_key, min(node_b) as owner_key
    from guarded_edges
    where link_type = 'login'
    group by node_a
    having count(*) = 1
),

mapped as (
    select
        components.node_key,
        components.id_type,
        components.id_value,
        components.is_actor,
        components.is_guard_rejected,
        components.component_size,
        components.component_size > {{ var('max_component_size') }} as is_identity_flagged,
        case
            when components.component_size > {{ var('max_component_size') }}
                then {{ person_id_for('coalesce(login_owner.owner_key, components.node_key)') }}
            else anchors.anchor_person_id
        end as person_id,
        anchors.anchor_person_id,
        coalesce(components.edge_fingerprint, 0) as edge_fingerprint,
        previous.previous_person_id,
        cast('{{ as_of_date() }}' as date) as mapped_as_of_date,
        {{ load_timestamp() }} as mapped_at
    from components
    inner join anchors on anchors.label = components.label
    left join login_owner on login_owner.node_key = components.node_key
    left join previous on previous.node_key = components.node_key
)

select * from mapped
{%- if is_incremental() %}
-- every recomputed node once more without a component: deleted by the post-hook, so a gone node goes
union all by name
select node_key from recompute
{%- endif %}
