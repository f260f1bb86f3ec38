{% macro latest_contact_versions(lines, customer_filter='true') -%}
  {#- The current version of each CRM contact among the valid lines of base_crm__contact_lines (`lines`): the
      latest by updated_at (a version without one ranks below dated ones), then delivery order. customer_filter (SQL on customer_id) limits the customers
      before the ranking, so a model that needs a few contacts does not rank all of them. -#}
with valid as (
    select * from {{ lines }}
    where reject_reason is null and {{ customer_filter }}
),

latest as (
    select
        *,
        row_number() over (
            partition by customer_id order by updated_at desc nulls last, delivery_date desc, source_file desc, line_no desc
        ) as version_rank
    from valid
)

select
    customer_id,
    email,
    phone,
    first_name,
    last_name,
    birth_date,
    gender,
    city,
    country,
    address_line,
    postcode,
    signup_at,
    has_marketing_consent,
    loyalty_tier,
    income_bracket,
    interests,
    updated_at,
    delivery_date,
    source_file,
    line_no,
    loaded_at
from latest
where version_rank = 1
{%- endmacro %}
