{#- Identity links between identifier nodes ('<type>:<value>'), minus the links that touch an identifier
    rejected by a guard (see int_identity_rejected_identifiers). One row per distinct edge. Deterministic links
    (shared e-mail, phone, login, order e-mail) have no match_probability; probabilistic ones (the matching step's
    identity.probabilistic_links, between two customer_id nodes) carry theirs. Each source gives a link once
    (one contact per customer_id, one pair per (anonymous_id, user_id), distinct order e-mails, distinct
    probabilistic rows) and the link types differ between sources, so no pass over all links removes repeats. -#}
{%- set probabilistic = source('identity', 'probabilistic_links') %}
with contacts as (
    select customer_id, email, phone from {{ ref('stg_crm__contacts') }}
),

logins as (
    select anonymous_id, user_id
    from {{ ref('int_web_identity_pairs') }}
    where anonymous_id is not null and user_id is not null
),

order_emails as (
    select distinct customer_id, email
    from {{ ref('stg_shop__orders') }}
    where customer_id is not null and email is not null
),

-- none while the matching step has not written its table (before its first run, dbt run by hand, Spark)
probabilistic as (
    {%- if execute and target.type == 'duckdb' and adapter.get_relation(probabilistic.database, probabilistic.schema, probabilistic.identifier) is not none %}
    select distinct customer_id_l, customer_id_r, match_probability from {{ probabilistic }}
    {%- else %}
    select cast(null as {{ dbt.type_string() }}) as customer_id_l, cast(null as {{ dbt.type_string() }}) as customer_id_r,
           cast(null as double) as match_probability
    where 1 = 0
    {%- endif %}
),

candidate_edges as (
    select 'customer_id:' || customer_id as node_a, 'email:' || email as node_b, 'crm_email' as link_type,
        cast(null as double) as match_probability
    from contacts where email is not null
    union all
    select 'customer_id:' || customer_id, 'phone:' || phone, 'crm_phone', null
    from contacts where phone is not null
    union all
    select 'anonymous_id:' || anonymous_id, 'customer_id:' || user_id, 'login', null
    from logins
    union all
    select 'customer_id:' || customer_id, 'email:' || email, 'order_email', null
    from order_emails
    union all
    select 'customer_id:' || customer_id_l, 'customer_id:' || customer_id_r, 'probabilistic', match_probability
    from probabilistic
),

rejected as (
    select node_key from {{ ref('int_identity_rejected_identifiers') }}
)

select candidate_edges.node_a, candidate_edges.node_b, candidate_edges.link_type, candidate_edges.match_probability
from candidate_edges
where not exists (select 1 from rejected where rejected.node_key = candidate_edges.node_a)
  and not exists (select 1 from rejected where rejected.node_key = candidate_edges.node_b)
