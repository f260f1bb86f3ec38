{#- One row per CRM contact: the latest valid version (by updated_at, then delivery order).
    Incremental on DuckDB (a table, so its eight readers do not each rank every contact line): a run re-ranks the customers with lines loaded after the latest version it holds
    (loaded_at watermark), and those whose current version came from a file loaded again since (a re-delivery
    may no longer hold it, so an older version wins, or none: the contact is gone). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ contacts_recompute_prehook() }}"
) }}
{{ latest_contact_versions(ref('base_crm__contact_lines'),
    "customer_id in (select customer_id from " ~ this.identifier ~ "__recompute)" if is_incremental() else 'true') }}
