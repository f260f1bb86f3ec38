"""The matching input: CRM contacts as Splink compares them, with the guard that decides who may be matched."""

from __future__ import annotations

import duckdb

# Names: lower case, accents and punctuation stripped, whitespace collapsed (letters of any script stay).
# Address line and postcode arrive normalized from staging (stg_crm__contacts). E-mails and phones that the
# deterministic graph's guards reject (seeded placeholder values, values shared by more than the allowed number
# of contacts) are no evidence either: they are nulled. dob_key = the birth date's digits sorted, equal under
# any transposition of two digits (blocking only). country is no comparison of the model: only the veto reads it
# (settings.VETO_SQL), so that every stored model version honours it.
# eligible: both names of at least two letters and a birth date, address line or postcode besides them; a
# contact that has only a customer_id, or one-letter names, is never matched probabilistically.
_SQL = r"""
create or replace temp table {dst} as
with contacts as (
    select
        customer_id,
        nullif(trim(regexp_replace(regexp_replace(lower(strip_accents(first_name)), '[[:punct:]]', '', 'g'), '\s+', ' ', 'g')), '') as first_name,
        nullif(trim(regexp_replace(regexp_replace(lower(strip_accents(last_name)), '[[:punct:]]', '', 'g'), '\s+', ' ', 'g')), '') as last_name,
        birth_date,
        case when gender in ('F', 'M', 'X') then gender end as gender,
        nullif(lower(trim(strip_accents(city))), '') as city,
        address_line,
        postcode,
        email,
        phone,
        country  -- upper-cased, blank as null by staging
    from main.stg_crm__contacts
),
junk as (
    select 'email' as id_type, email as id_value from contacts where email is not null
    group by email having count(*) > {max_per_email}
    union all
    select 'phone', phone from contacts where phone is not null group by phone having count(*) > {max_per_phone}
    {seeded_junk}
)
select
    customer_id, first_name, last_name, birth_date,
    case when birth_date is not null
         then list_aggregate(list_sort(string_split(strftime(birth_date, '%Y%m%d'), '')), 'string_agg', '') end as dob_key,
    gender, city, address_line, postcode,
    case when email in (select id_value from junk where id_type = 'email') then null else email end as email,
    case when phone in (select id_value from junk where id_type = 'phone') then null else phone end as phone,
    country
from contacts
where length(regexp_replace(first_name, '[^[:alpha:]]', '', 'g')) >= 2
  and length(regexp_replace(last_name, '[^[:alpha:]]', '', 'g')) >= 2
  and (birth_date is not null or address_line is not null or postcode is not null)
"""


def build_match_input(con: duckdb.DuckDBPyConnection, dst: str, *, max_per_email: int, max_per_phone: int) -> int:
    """Create temp table `dst` (MODEL_COLUMNS and country) from main.stg_crm__contacts; return its row count."""
    has_seed = con.execute("select count(*) from information_schema.tables where table_schema = 'main' "
                           "and table_name = 'identity_junk_values'").fetchall()[0][0]
    seeded = ("union all select id_type, id_value from main.identity_junk_values "
              "where id_type in ('email', 'phone')") if has_seed else ""
    con.execute(_SQL.format(dst=dst, max_per_email=int(max_per_email), max_per_phone=int(max_per_phone),
                            seeded_junk=seeded))
    return con.execute(f"select count(*) from {dst}").fetchall()[0][0]
