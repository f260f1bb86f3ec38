{#- One row per CRM contact: the latest valid version (by updated_at, then delivery order). -#}
{{ latest_contact_versions(ref('base_crm__contact_lines')) }}
