{% macro identity_reach(nodes, edges) -%}
  {#- Body of the CTE reach(node_no, label): for every node the smallest node number connected to it.
      nodes(node_no) and edges(src, dst, both directions) are CTE names of the calling model. -#}
  {{ return(adapter.dispatch('identity_reach', 'segwarehouse')(nodes, edges)) }}
{%- endmacro %}

{% macro default__identity_reach(nodes, edges) -%}
    with recursive walk (node_no, label) as (
        select node_no, node_no from {{ nodes }}
        union
        select {{ edges }}.dst, walk.label
        from walk
        inner join {{ edges }} on {{ edges }}.src = walk.node_no
        where walk.label < {{ edges }}.dst
    )
    select node_no, min(label) from walk group by node_no
{%- endmacro %}

{% macro spark__identity_reach(nodes, edges) -%}
  {#- Spark has no recursive CTE: min-label propagation, one cached table per pass, looped in Jinja until
      no label changes (passes = the largest component's diameter; fails after spark_identity_max_passes).
      Reads the refs itself because the loop runs before the model's CTEs exist. -#}
  {%- set max_passes = var('spark_identity_max_passes', 200) -%}
  {%- if execute and (ref('int_identity_nodes') | string).startswith('__dbt__cte__') -%}
    {#- dbt unit test: the refs are CTEs of this query, out of reach of separate statements; unroll a
        fixed number of passes in SQL over the model's CTEs instead (fixtures are tiny graphs; each
        pass reads the previous one twice, so the inlined plan doubles per pass: keep it small) -#}
    {%- set passes = var('spark_identity_unit_test_passes', 4) -%}
    with sw_p0 as (select node_no, node_no as label from {{ nodes }})
    {%- for i in range(1, passes + 1) %},
    sw_p{{ i }} as (
        select l.node_no, least(l.label, coalesce(m.min_label, l.label)) as label
        from sw_p{{ i - 1 }} as l
        left join (
            select e.src as node_no, min(p.label) as min_label
            from {{ edges }} as e inner join sw_p{{ i - 1 }} as p on p.node_no = e.dst
            group by e.src
        ) as m on m.node_no = l.node_no
    )
    {%- endfor %}
    select node_no, label from sw_p{{ passes }}
  {%- elif execute -%}
    {%- do run_query("create or replace temporary view sw_cc_nodes as select node_no, node_key from " ~ ref('int_identity_nodes')) -%}
    {%- do run_query("create or replace temporary view sw_cc_edges as
        with e as (
            select a.node_no as src, b.node_no as dst
            from " ~ ref('int_identity_edges_guarded') ~ " as g
            inner join sw_cc_nodes as a on a.node_key = g.node_a
            inner join sw_cc_nodes as b on b.node_key = g.node_b
        )
        select src, dst from e union select dst, src from e") -%}
    {%- do run_query("cache table sw_cc_edges_cached as select * from sw_cc_edges") -%}
    {%- do run_query("drop table if exists sw_cc_0") -%}
    {%- do run_query("cache table sw_cc_0 as select node_no, node_no as label from sw_cc_nodes") -%}
    {%- set state = namespace(done=false, last=0) -%}
    {%- for i in range(1, max_passes + 1) -%}
      {%- if not state.done -%}
        {%- do run_query("drop table if exists sw_cc_" ~ i) -%}
        {%- do run_query("cache table sw_cc_" ~ i ~ " as
            select l.node_no, least(l.label, coalesce(m.min_label, l.label)) as label
            from sw_cc_" ~ (i - 1) ~ " as l
            left join (
                select e.src as node_no, min(p.label) as min_label
                from sw_cc_edges_cached as e inner join sw_cc_" ~ (i - 1) ~ " as p on p.node_no = e.dst
                group by e.src
            ) as m on m.node_no = l.node_no") -%}
        {%- set changed = run_query("select count(*) from sw_cc_" ~ i ~ " as n inner join sw_cc_" ~ (i - 1) ~ " as o on o.node_no = n.node_no where n.label <> o.label").columns[0].values()[0] -%}
        {%- set state.last = i -%}
        {%- if changed == 0 -%}{%- set state.done = true -%}{%- endif -%}
      {%- endif -%}
    {%- endfor -%}
    {%- if not state.done -%}
      {{ exceptions.raise_compiler_error("identity components did not converge in " ~ max_passes ~ " passes (raise var spark_identity_max_passes)") }}
    {%- endif -%}
    {{ log("identity components: converged after " ~ state.last ~ " label-propagation passes", info=true) }}
    select node_no, label from sw_cc_{{ state.last }}
  {%- else -%}
    select node_no, node_no as label from {{ nodes }}
  {%- endif -%}
{%- endmacro %}


{% macro web_node_key(user_id, anonymous_id) -%}
  {#- The identity node a web row (event, session, daily count, pair) is attributed by: its logged-in user,
      else its device. Every web identifier is a node of int_person_map, so one lookup on this key gives
      the person (assert_every_web_identifier_has_a_person checks it on every build). -#}
  coalesce('customer_id:' || {{ user_id }}, 'anonymous_id:' || {{ anonymous_id }})
{%- endmacro %}


{% macro person_map_recompute_prehook() -%}
  {#- Incremental int_person_map (DuckDB): only the identity components whose nodes or links changed are
      recomputed. A node changed when it is new or gone, its actor/guard flags differ, its links differ
      (edge_fingerprint: an order-free hash of its links from int_identity_nodes, stored per node) or its
      stored flag disagrees with max_component_size. The nodes to recompute are the changed nodes plus
      every stored node of their components (anchor_person_id); a component is closed under links, so every
      link of a recomputed node joins two recomputed nodes and the result equals a full refresh. They go to
      temp table int_person_map__recompute with the person id each had before (person_id_history reads the
      moves), and their rows are deleted. On Spark (rebuilt in full) the previous mapping is copied aside for the same
      purpose, before the rebuild drops the table. -#}
  {%- set recompute = this.identifier ~ '__recompute' -%}
  {%- if is_incremental() -%}
    {%- set stored = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {%- if 'edge_fingerprint' not in stored -%}
      {{ exceptions.raise_compiler_error(this ~ " was built by an earlier version without change tracking: rebuild it once with --full-refresh --select int_person_map") }}
    {%- endif -%}
    create or replace temp table {{ recompute }} as
    with current_nodes as (
        select node_key, is_actor, is_guard_rejected, edge_fingerprint
        from {{ ref('int_identity_nodes') }}
    ),

    changed as (
        select coalesce(c.node_key, p.node_key) as node_key, p.anchor_person_id
        from current_nodes as c
        full join {{ this }} as p on p.node_key = c.node_key
        where p.node_key is null or c.node_key is null
           or c.edge_fingerprint <> p.edge_fingerprint
           or c.is_actor <> p.is_actor
           or c.is_guard_rejected <> p.is_guard_rejected
           or p.is_identity_flagged <> (p.component_size > {{ var('max_component_size') }})
    ),

    scope as (
        select node_key from changed
        union
        select stored.node_key from {{ this }} as stored
        inner join (select distinct anchor_person_id from changed) as touched
            on touched.anchor_person_id = stored.anchor_person_id
    )

    select scope.node_key, {{ person_map_previous_person_id('p') }} as previous_person_id
    from scope
    left join {{ this }} as p on p.node_key = scope.node_key;
    delete from {{ this }} where node_key in (select node_key from {{ recompute }})
  {%- elif target.type == 'spark' and adapter.get_relation(this.database, this.schema, this.identifier) is not none -%}
    {%- set stored = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {%- do run_query('drop table if exists ' ~ this ~ '__previous') -%}
    create table {{ this }}__previous using parquet as
    select p.node_key, {{ person_map_previous_person_id('p', stored) }} as previous_person_id from {{ this }} as p
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}


{% macro person_map_previous_person_id(rel, stored=none) -%}
  {#- The person id a stored person-map row had before this run: its person_id, or, when the row was already
      rewritten today (a re-run of the same as_of_date), the id it had before that first run. stored: the
      stored table's columns, when it may predate previous_person_id. -#}
  {%- if stored is none or 'mapped_as_of_date' in stored -%}
  case when {{ rel }}.mapped_as_of_date = cast('{{ as_of_date() }}' as date) then {{ rel }}.previous_person_id else {{ rel }}.person_id end
  {%- else -%}
  {{ rel }}.person_id
  {%- endif -%}
{%- endmacro %}


{% macro person_map_previous() -%}
  {#- (node_key, previous_person_id) of the rows this run replaces: the recomputed rows (incremental), the
      whole stored map (full refresh: DuckDB still holds it while the new table is built, Spark copied it
      aside in the pre-hook), nothing on a first build or in a dbt unit test. -#}
  {%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) if execute and this is not none else none -%}
  {%- if is_incremental() -%}
    select node_key, previous_person_id from {{ this.identifier ~ '__recompute' }}
  {%- elif existing is none -%}
    select cast(null as {{ dbt.type_string() }}) as node_key, cast(null as {{ dbt.type_string() }}) as previous_person_id where false
  {%- elif target.type == 'spark' -%}
    select node_key, previous_person_id from {{ this }}__previous
  {%- else -%}
    {%- set stored = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    select p.node_key, {{ person_map_previous_person_id('p', stored) }} as previous_person_id from {{ this }} as p
  {%- endif -%}
{%- endmacro %}


{% macro identity_link_hash(link_type, other_end, direction) -%}
  {#- A 64-bit hash of one end of an identity link (its type, the node at the other end, '>' from node_a or
      '<' from node_b); int_identity_nodes xors them per node into edge_fingerprint, so any added or removed
      link changes a node's fingerprint. -#}
  {{ hash64(link_type, other_end, direction) }}
{%- endmacro %}
