{{ config(tags=['whole_table']) }}
-- Every parsed line comes from a file the ledger accepted, delivered up to as_of_date: nothing read from a
-- link, a rejected or ignored file, or a later delivery.
with lines as (
    select distinct source_file from {{ ref('base_crm__contact_lines') }}
    union select distinct source_file from {{ ref('base_web__event_lines') }}
    union select distinct source_file from {{ ref('base_shop__order_lines') }}
    union select distinct source_file from {{ ref('base_shop__order_item_lines') }}
)

select lines.source_file
from lines
left join {{ ref('stg_landing__files') }} as files
    on files.source_file = lines.source_file
   and files.is_accepted
   and files.delivery_date <= cast('{{ as_of_date() }}' as date)
where files.source_file is null
