{#- One row per CRM contact: the latest valid version (by updated_at, then delivery order).
    Incremental on DuckDB (a table, so its eight readers do not each rank every contact line; delete+insert on
    customer_id): a run re-ranks the customers with lines loaded after the latest version it holds (loaded_at
    watermark), and those whose current version came from a file loaded again since (a re-delivery may no
    longer hold it, so an older version wins, or none: the contact is gone, output with a null source_file and
    deleted by the post-hook). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='customer_id',
    on_schema_change='fail',
    post_hook="{{ delete_keys_without('source_file') }}"
) }}
{%- set lines = ref('base_crm__contact_lines') %}
with
{%- if is_incremental() %}
loaded as (
    select customer_id, source_file from {{ lines }}
    where loaded_at > (select coalesce(max(loaded_at), cast('-infinity' as timestamp)) from {{ this }})
),

recomputed as (
    select customer_id from loaded where customer_id is not null
    union
    select customer_id from {{ this }} where source_file in (select source_file from loaded)
),
{%- endif %}

-- the current version of each contact: the latest valid line by updated_at (a version without one ranks
-- below dated ones), then delivery order
latest as (
    select
        *,
        row_number() over (
            partition by customer_id order by updated_at desc nulls last, delivery_date desc, source_file desc, line_no desc
        ) as version_rank
    from {{ lines }}
    where reject_reason is null
    {%- if is_incremental() %}
      and customer_id in (select customer_id from recomputed)
    {%- endif %}
),

current_versions as (
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
)

{% if is_incremental() -%}
select recomputed.customer_id, current_versions.* exclude (customer_id)
from recomputed
left join current_versions on current_versions.customer_id = recomputed.customer_id
{%- else -%}
select * from current_versions
{%- endif %}
