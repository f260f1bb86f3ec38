{#- One row per path the file ledger lists (segwarehouse.landing.ledger): what every file under the landing
    zone is and what became of it. Spark reads the ledger's Parquet export (docs/scale-out.md). -#}
{%- set ledger = source('landing', 'file_ledger') %}
select
    source_file,
    source_name,
    delivery_date,
    size_bytes,
    content_hash,
    status,
    reason,
    status in ('new', 'changed', 'loaded', 'reloaded') as is_accepted,
    first_seen_at,
    changed_at,
    loaded_at
from {{ landing_ledger() if target.type == 'spark' else ledger }}
