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


{% macro contacts_recompute_prehook() -%}
  {#- Pre-hook of the incremental stg_crm__contacts (DuckDB): the customers to re-rank go to temp table
      stg_crm__contacts__recompute and their rows are deleted: those with contact lines loaded after the
      table's latest loaded_at, and those whose stored version's file was loaded again since. Every line
      loaded up to that watermark was ranked by an earlier run (a run that loaded lines but stopped before
      this model leaves them above the watermark). -#}
  {%- if is_incremental() -%}
    {%- set recompute = this.identifier ~ '__recompute' -%}
    {%- set lines = ref('base_crm__contact_lines') -%}
    {%- set watermark = run_query("select max(loaded_at) from " ~ this).rows[0][0] -%}
    create or replace temp table {{ recompute }} as
    {%- if watermark is none %}
    select distinct customer_id from {{ lines }} where customer_id is not null;
    {%- else %}
    with loaded as (
        select customer_id, source_file from {{ lines }}
        where loaded_at > cast('{{ watermark }}' as timestamp)
    )

    select customer_id from loaded where customer_id is not null
    union
    select customer_id from {{ this }} where source_file in (select source_file from loaded);
    {%- endif %}
    delete from {{ this }} where customer_id in (select customer_id from {{ recompute }})
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}
