{#- Every line of every CRM contacts file delivered up to as_of_date, split into fields and checked. -#}
{%- set landing_source = source('crm', 'contacts') -%}{#- lineage: the files; landing_files lists them from the ledger -#}
{%- set ledger = source('landing', 'file_ledger') -%}
{%- set header = 'customer_id,email,phone,first_name,last_name,birth_date,gender,city,country,signup_at,marketing_consent,loyalty_tier,income_bracket,interests,updated_at,address_line,postcode' -%}
{#- the optional postal columns may be absent: a file with the header without them is read with them empty -#}
{%- set header_without_address = 'customer_id,email,phone,first_name,last_name,birth_date,gender,city,country,signup_at,marketing_consent,loyalty_tier,income_bracket,interests,updated_at' -%}

{#- Incremental like the event lines: a run reads the files the ledger lists as new or changed and replaces
    every line of each file it read. -#}
{{ config(materialized='incremental', unique_key='source_file', incremental_strategy='delete+insert', on_schema_change='sync_all_columns') }}

{{ csv_landing_ctes('crm_contacts') }},

typed as (
    select
        source_file,
        delivery_date,
        line_no,
        line,
        case when header_line = '{{ header_without_address }}' then '{{ header }}' else header_line end as header_line,
        header_line = '{{ header_without_address }}' as is_without_address,
        {{ list_length('f') }} as n_fields_in_line,
        case when header_line = '{{ header_without_address }}' and {{ list_length('f') }} = 15 then 17
             else {{ list_length('f') }} end as n_fields,
        nullif(trim(f[1]), '') as customer_id,
        nullif(f[2], '') as email_raw,
        nullif(f[3], '') as phone_raw,
        nullif(trim(f[4]), '') as first_name,
        nullif(trim(f[5]), '') as last_name,
        try_cast(nullif(f[6], '') as date) as birth_date_raw,
        nullif(upper(trim(f[7])), '') as gender_raw,
        nullif(trim(f[8]), '') as city,
        nullif(upper(trim(f[9])), '') as country,
        {{ parse_utc("nullif(f[10], '')") }} as signup_at,
        lower(trim(f[11])) in ('true', 'yes', '1', 'y') as has_marketing_consent,
        coalesce(nullif(lower(trim(f[12])), ''), 'none') as loyalty_tier,
        nullif(trim(f[13]), '') as income_bracket,
        nullif(trim(f[14]), '') as interests,
        {{ parse_utc("nullif(f[15], '')") }} as updated_at,
        {{ normalize_address_line("case when " ~ list_length('f') ~ " >= 17 then f[16] end") }} as address_line,
        {{ normalize_postcode("case when " ~ list_length('f') ~ " >= 17 then f[17] end") }} as postcode,
        {{ lacks_utc_offset("nullif(f[10], '')") }} or {{ lacks_utc_offset("nullif(f[15], '')") }} as is_time_without_offset,
        f
    from fields
),

checked as (
    select
        *,
        case
            -- a file without the postal columns: its lines have the 15 fields of its header
            when is_without_address and line_no > 1 and (length(line) - length(replace(line, '"', ''))) % 2 = 0
                and n_fields_in_line <> 15 then 'malformed line: ' || n_fields_in_line || ' fields, expected 15'
            {{ csv_shape_rejects(header) }}
            when customer_id is null then 'missing customer_id'
            -- updated_at is optional: without it the delivery order decides the version (docs/sources.md)
            when updated_at is null and nullif(f[15], '') is not null then 'unparseable updated_at'
            {{ implausible_time_rejects('updated_at', 'updated_at', 'delivery_date') }}
            when signup_at is null and nullif(f[10], '') is not null then 'unparseable signup_at'
        end as reject_reason,
        -- field issues: the line is kept with the value nulled (or, for consent, read as no consent)
        case
            when birth_date_raw is null and nullif(f[6], '') is not null then 'unparseable birth_date (nulled)'
            when {{ years_between('birth_date_raw', "cast('" ~ as_of_date() ~ "' as date)") }} not between 0 and 120
                or birth_date_raw > cast('{{ as_of_date() }}' as date)
                then 'impossible age (birth_date nulled)'
        end as birth_issue,
        case
            when signup_at < cast('{{ var("timestamp_floor") }}' as timestamp)
                or signup_at >= delivery_date + interval {{ var('future_tolerance_days') + 1 }} day
                then 'implausible signup_at (nulled)'
        end as signup_issue,
        case
            when nullif(lower(trim(f[11])), '') not in ('true', 'false', 'yes', 'no', '1', '0', 'y', 'n')
                then 'unrecognised marketing_consent (treated as no consent)'
        end as consent_issue
    from typed
)

select
    source_file,
    delivery_date,
    line_no,
    line,
    reject_reason,
    nullif(concat_ws('; ', birth_issue, signup_issue, consent_issue), '') as field_issue,
    customer_id,
    {{ normalize_email('email_raw') }} as email,
    {{ normalize_phone('phone_raw') }} as phone,
    first_name,
    last_name,
    case when birth_issue is null then birth_date_raw end as birth_date,
    case when gender_raw in ('F', 'M', 'X') then gender_raw else 'unknown' end as gender,
    city,
    country,
    address_line,
    postcode,
    case when signup_issue is null then signup_at end as signup_at,
    has_marketing_consent,
    loyalty_tier,
    income_bracket,
    interests,
    updated_at,
    is_time_without_offset,
    {{ load_timestamp() }} as loaded_at
from checked
