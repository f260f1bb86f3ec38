{#- One row per registered person: CRM attributes of the person's primary (smallest) customer_id, with
    merged facts over all the person's contacts (earliest signup, consent only if every contact consents).
    Nothing here depends on as_of_date (the profile derives age from birth_date).
    Incremental on DuckDB (delete+insert on person_id): a run recomputes the persons whose person-map rows were rewritten, whose customers
    have contact lines loaded since the table was computed (new versions), or one of whose contacts' current
    version came from a file loaded again since then (a re-delivery without that line falls back to an older
    version: contact_files lists the files of the versions a row was computed from). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='person_id',
    on_schema_change='fail',
    post_hook="{{ delete_keys_without('primary_customer_id', live_persons=true) }}"
) }}
{#- also changed: the persons of customers with contact lines loaded since ({watermark}: the table's latest
    computed_at), and the stored persons one of whose contacts' versions came from a file loaded again since -#}
{%- set contacts_changed %}
  select person_map.person_id
  from (
      select distinct customer_id from {{ ref('base_crm__contact_lines') }}
      where loaded_at > {watermark} and customer_id is not null
  ) as loaded
  inner join {{ ref('int_person_map') }} as person_map on person_map.node_key = 'customer_id:' || loaded.customer_id
  union
  select person_id from {{ this }}
  where list_has_any(contact_files, (
      select coalesce(list(distinct source_file), []) from {{ ref('base_crm__contact_lines') }} where loaded_at > {watermark}
  ))
{%- endset %}
{%- set changed_persons = persons_with_new_data(web_events=false, also_changed=contacts_changed) %}
with
{%- if is_incremental() %}
recomputed as (
    {{ changed_persons }}
),
{%- endif %}

person_map as (
    select node_key, person_id from {{ ref('int_person_map') }}
    where id_type = 'customer_id'
    {%- if is_incremental() %}
      and person_id in (select person_id from recomputed)
    {%- endif %}
),

current_contacts as (
    select * from {{ ref('stg_crm__contacts') }}
    {%- if is_incremental() %}
    where customer_id in (select substr(node_key, 13) from person_map)
    {%- endif %}
),

contacts as (
    select
        person_map.person_id,
        current_contacts.*
    from current_contacts
    inner join person_map on person_map.node_key = 'customer_id:' || current_contacts.customer_id
),

merged as (
    select
        person_id,
        min(customer_id) as primary_customer_id,
        count(*) as n_customer_ids,
        min(signup_at) as signup_at,
        bool_and(has_marketing_consent) as has_marketing_consent,
        min(email) as any_email,
        min(phone) as any_phone,
        array_sort(array_agg(distinct source_file) filter (where source_file is not null)) as contact_files
    from contacts
    group by person_id
),

facts as (
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
        primary_contact.birth_date,
        primary_contact.gender,
        coalesce(primary_contact.city, 'unknown') as city,
        coalesce(primary_contact.country, 'unknown') as country,
        coalesce(primary_contact.income_bracket, 'unknown') as income_bracket,
        case
            when primary_contact.loyalty_tier in ('none', 'bronze', 'silver', 'gold', 'platinum') then primary_contact.loyalty_tier
            else 'none'
        end as loyalty_tier,
        coalesce(primary_contact.interests, 'unknown') as interests,
        merged.contact_files,
        {{ person_features_bookkeeping() }}
    from merged
    inner join contacts as primary_contact
        on primary_contact.person_id = merged.person_id and primary_contact.customer_id = merged.primary_customer_id
)

{{ recomputed_persons_facts('facts') }}
