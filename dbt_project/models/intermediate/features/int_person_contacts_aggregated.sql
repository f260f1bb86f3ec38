{#- One row per registered person: CRM attributes of the person's primary (smallest) customer_id, with
    merged facts over all the person's contacts (earliest signup, consent only if every contact consents). -#}
{%- set as_of = "cast('" ~ as_of_date() ~ "' as date)" -%}
with contacts as (
    select
        person_map.person_id,
        contacts.*
    from {{ ref('stg_crm__contacts') }} as contacts
    inner join {{ ref('int_person_map') }} as person_map
        on person_map.node_key = 'customer_id:' || contacts.customer_id
),

merged as (
    select
        person_id,
        min(customer_id) as primary_customer_id,
        count(*) as n_customer_ids,
        min(signup_at) as signup_at,
        bool_and(has_marketing_consent) as has_marketing_consent,
        min(email) as any_email,
        min(phone) as any_phone
    from contacts
    group by person_id
)

select
    merged.person_id,
    merged.primary_customer_id,
    merged.n_customer_ids,
    merged.signup_at,
    merged.has_marketing_consent,
    coalesce(primary_contact.email, merged.any_email) as email,
    coalesce(primary_contact.phone, merged.any_phone) as phone,
    primary_contact.first_name,
    primary_contact.last_name,
    case when {{ years_between('primary_contact.birth_date', as_of) }} between 0 and 120
         then {{ years_between('primary_contact.birth_date', as_of) }}::integer end as age,
    primary_contact.gender,
    coalesce(primary_contact.city, 'unknown') as city,
    coalesce(primary_contact.country, 'unknown') as country,
    coalesce(primary_contact.income_bracket, 'unknown') as income_bracket,
    case
        when primary_contact.loyalty_tier in ('none', 'bronze', 'silver', 'gold', 'platinum') then primary_contact.loyalty_tier
        else 'none'
    end as loyalty_tier,
    coalesce(primary_contact.interests, 'unknown') as interests
from merged
inner join contacts as primary_contact
    on primary_contact.person_id = merged.person_id and primary_contact.customer_id = merged.primary_customer_id
