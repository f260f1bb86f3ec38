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
{%- if is_incremental() %}
with loaded as (
    select customer_id, source_file from {{ lines }}
    where loaded_at > (select coalesce(max(loaded_at), cast('-infinity' as timestamp)) from {{ this }})
),

recomputed as (
    select customer_id from loaded where customer_id is not null
    union
    select customer_id from {{ this }} where source_file in (select source_file from loaded)
)

select recomputed.customer_id, latest.* exclude (customer_id)
from recomputed
left join (
    {{ latest_contact_versions(lines, 'customer_id in (select customer_id from recomputed)') }}
) as latest on latest.customer_id = recomputed.customer_id
{%- else %}
{{ latest_contact_versions(lines) }}
{%- endif %}
