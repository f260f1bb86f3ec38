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


{% macro device_key() -%}
  coalesce('anonymous_id:' || anonymous_id, 'customer_id:' || user_id)
{%- endmacro %}
