{#- Identifier values that must not link people (one row per node_key, first matching guard wins):
    placeholder values from the junk seed, e-mails/phones shared by too many CRM contacts, and devices seen
    logged in as too many users. Limits are dbt vars (max_customers_per_email, ...). The counts are row counts:
    a contact is one row per customer_id, the e-mail union is distinct and a web pair is one row per
    (anonymous_id, user_id). -#}
with contacts as (
    select customer_id, email, phone from {{ ref('stg_crm__contacts') }}
),

order_emails as (
    select distinct customer_id, email from {{ ref('stg_shop__orders') }}
    where customer_id is not null and email is not null
),

email_use as (
    select email, count(*) as n_linked
    from (select customer_id, email from contacts where email is not null union select * from order_emails)
    group by email
),

phone_use as (
    select phone, count(*) as n_linked
    from contacts where phone is not null
    group by phone
),

device_use as (
    select anonymous_id, count(*) as n_linked
    from {{ ref('int_web_identity_pairs') }}
    where anonymous_id is not null and user_id is not null
    group by anonymous_id
),

junk as (
    select id_type || ':' || id_value as node_key, id_type, id_value, 'placeholder value' as guard, null::bigint as n_linked
    from {{ ref('identity_junk_values') }}
),

shared as (
    select 'email:' || email, 'email', email, 'shared email', n_linked
    from email_use where n_linked > {{ var('max_customers_per_email') }}
    union all
    select 'phone:' || phone, 'phone', phone, 'shared phone', n_linked
    from phone_use where n_linked > {{ var('max_customers_per_phone') }}
    union all
    select 'anonymous_id:' || anonymous_id, 'anonymous_id', anonymous_id, 'shared device', n_linked
    from device_use where n_linked > {{ var('max_users_per_anonymous_id') }}
),

all_rejections as (
    select *, 1 as priority from junk
    union all
    select *, 2 from shared
)

select node_key, id_type, id_value, guard, n_linked
from all_rejections
qualify row_number() over (partition by node_key order by priority) = 1
