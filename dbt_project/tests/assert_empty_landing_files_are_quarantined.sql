-- A 0-byte delivery (a truncated export) is quarantined as 'empty file', never read as "no rows today":
-- CSV files for their missing header, event files for having no event lines. Rows: empty files not quarantined.
with empty_files as (
    select source_file, source_name
    from {{ ref('stg_landing__files') }}
    where is_accepted and size_bytes = 0 and delivery_date <= cast('{{ as_of_date() }}' as date)
),

quarantined as (
    select source_file, reason from {{ ref('int_quarantine_rows') }} where reason like 'empty file:%'
)

select empty_files.source_file
from empty_files
left join quarantined
    on quarantined.source_file = empty_files.source_file
   and quarantined.reason = case when empty_files.source_name = 'web_events' then 'empty file: no event lines'
                                 else 'empty file: no header line' end
where quarantined.source_file is null
