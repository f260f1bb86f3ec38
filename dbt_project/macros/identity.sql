{% macro identity_reach(nodes, edges) -%}
  {#- why: connected components need a recursive CTE, which Spark lacks: for every node of CTE nodes(node_no) the
      smallest node number connected to it over CTE edges(src, dst, both directions) -#}
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
  {#- min-label propagation, one cached table per pass, until no label changes (fails after
      spark_identity_max_passes); reads the refs itself: the loop runs before the model's CTEs exist -#}
  {%- set max_passes = var('spark_identity_max_passes', 200) -%}
  {%- if execute and (ref('int_identity_nodes') | string).startswith('__dbt__cte__') -%}
    {#- dbt unit test: the refs are CTEs of this query, out of reach of separate statements; a few passes are
        unrolled over the model's CTEs instead (each pass doubles the inlined plan: keep it small) -#}
    {%- set passes = var('spark_identity_unit_test_passes', 4) -%}
    with sw_p0 as (select node_no, node_no as label from {{ nodes }})
    {%- for i in range(1, passes + 1) %},
    sw_p{{ i }} as ({{ spark_label_pass('sw_p' ~ (i - 1), edges) }})
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
        {%- do run_query("cache table sw_cc_" ~ i ~ " as " ~ spark_label_pass('sw_cc_' ~ (i - 1), 'sw_cc_edges_cached')) -%}
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

{% macro spark_label_pass(labels, edges) -%}
  {#- why: shared by both Spark paths of identity_reach: one pass, each node takes its neighbours' smallest label -#}
    select l.node_no, least(l.label, coalesce(m.min_label, l.label)) as label
    from {{ labels }} as l
    left join (
        select e.src as node_no, min(p.label) as min_label
        from {{ edges }} as e inner join {{ labels }} as p on p.node_no = e.dst
        group by e.src
    ) as m on m.node_no = l.node_no
{%- endmacro %}

{% macro web_node_key(user_id, anonymous_id) -%}
  {#- why: one definition for every web model: the identity node a web row is attributed by (its logged-in
      user, else its device), so one person-map lookup gives its person -#}
  coalesce('customer_id:' || {{ user_id }}, 'anonymous_id:' || {{ anonymous_id }})
{%- endmacro %}

{% macro device_key() -%}
  {#- why: one definition for every web model: the device of a web row (sessions are per device) -#}
  coalesce('anonymous_id:' || anonymous_id, 'customer_id:' || user_id)
{%- endmacro %}
