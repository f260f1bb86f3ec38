"""DuckDB macros that turn the simulator's numeric codes into the strings the source systems export."""

from __future__ import annotations

from devtools.generator.names import (
    CALLING_CODES,
    CATEGORIES,
    CITIES,
    DOMAINS,
    PLACEHOLDER_EMAILS,
)
from devtools.generator.personas import CHANNELS, INCOME, TIERS
from devtools.generator.population import COUNTRIES
from devtools.generator.simulate import CURRENCIES, EVENT_TYPES, STATUSES, STORE_CHANNELS
from segwarehouse.core.sql import literal


def _list(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(literal(v) for v in values) + "]"


def macro_sql(seed: int) -> list[str]:
    """CREATE MACRO statements used by the writers (deterministic for a seed)."""
    cities = [c for country in COUNTRIES for c in CITIES[country]]
    return [
        f"CREATE OR REPLACE MACRO anon_id(code) AS CASE WHEN code < 0 THEN NULL "
        f"ELSE 'a-' || substr(md5('{seed}-a-' || code), 1, 16) END",
        "CREATE OR REPLACE MACRO customer_id(no) AS CASE WHEN no < 0 THEN NULL ELSE 'C' || lpad(no::VARCHAR, 8, '0') END",
        "CREATE OR REPLACE MACRO order_id(no) AS CASE WHEN no < 0 THEN NULL ELSE 'O' || lpad(no::VARCHAR, 9, '0') END",
        # f, l: the names as e-mail addresses spell them (names.ascii_name)
        f"CREATE OR REPLACE MACRO base_email(p, f, l, ph) AS CASE WHEN ph >= 0 THEN {_list(PLACEHOLDER_EMAILS)}[ph + 1] "
        f"ELSE f || '.' || l || p::VARCHAR || '@' || {_list(DOMAINS)}[p % {len(DOMAINS)} + 1] END",
        # how a person may type the same address: upper case, capitalised with spaces around, leading space
        "CREATE OR REPLACE MACRO email_variant(e, v) AS CASE v WHEN 1 THEN upper(e) "
        "WHEN 2 THEN '  ' || upper(e[1]) || e[2:] || ' ' WHEN 3 THEN ' ' || e ELSE e END",
        f"CREATE OR REPLACE MACRO calling_code(c, sp) AS CASE WHEN sp >= 0 THEN '1' ELSE {_list([CALLING_CODES[c] for c in COUNTRIES])}[c + 1] END",
        "CREATE OR REPLACE MACRO national_no(p, sp) AS CASE WHEN sp >= 0 THEN '5550' || lpad(sp::VARCHAR, 5, '0') "
        "ELSE ((p * 7919 + 100000000) % 900000000 + 100000000)::VARCHAR END",
        "CREATE OR REPLACE MACRO phone_fmt(cc, nat, f) AS CASE f WHEN 0 THEN '+' || cc || ' ' || nat[1:3] || ' ' || nat[4:] "
        "WHEN 1 THEN '00' || cc || '-' || nat[1:3] || '-' || nat[4:6] || '-' || nat[7:] "
        "WHEN 2 THEN '(+' || cc || ') ' || nat ELSE '+' || cc || nat END",
        "CREATE OR REPLACE MACRO tz_suffix(m) AS CASE WHEN m = 0 THEN 'Z' ELSE (CASE WHEN m < 0 THEN '-' ELSE '+' END) "
        "|| lpad((abs(m) // 60)::VARCHAR, 2, '0') || ':' || lpad((abs(m) % 60)::VARCHAR, 2, '0') END",
        # local wall-clock time with its UTC offset; dirt 1 = years in the future, 2 = unparseable
        "CREATE OR REPLACE MACRO iso_ts(ts, m, dirt) AS CASE dirt "
        "WHEN 2 THEN ['31/02/2026 25:61', 'yesterday evening', '2026-13-45T99:00:00Z'][(ts % 3)::INT + 1] "
        "ELSE strftime(make_timestamp(((ts + m * 60 + CASE WHEN dirt = 1 THEN 5 * 365 * 86400 ELSE 0 END) * 1000000)::BIGINT), "
        "'%Y-%m-%dT%H:%M:%S') || tz_suffix(m) END",
        f"CREATE OR REPLACE MACRO event_type(i) AS {_list(EVENT_TYPES)}[i + 1]",
        f"CREATE OR REPLACE MACRO category(i) AS {_list(CATEGORIES)}[i + 1]",
        f"CREATE OR REPLACE MACRO channel(i) AS {_list(CHANNELS)}[i + 1]",
        "CREATE OR REPLACE MACRO device(i) AS ['desktop', 'mobile', 'tablet'][i + 1]",
        f"CREATE OR REPLACE MACRO currency(i) AS CASE WHEN i < 0 THEN ['XXX', 'BTC', 'EURO'][(-i - 1) % 3 + 1] ELSE {_list(CURRENCIES)}[i + 1] END",
        f"CREATE OR REPLACE MACRO status(i) AS {_list(STATUSES)}[i + 1]",
        f"CREATE OR REPLACE MACRO store_channel(i) AS {_list(STORE_CHANNELS)}[i + 1]",
        f"CREATE OR REPLACE MACRO country(i) AS {_list(COUNTRIES)}[i + 1]",
        f"CREATE OR REPLACE MACRO city(c, i) AS {_list(cities)}[c * 4 + i + 1]",
        f"CREATE OR REPLACE MACRO tier(i) AS {_list(TIERS)}[i + 1]",
        f"CREATE OR REPLACE MACRO income(i) AS CASE WHEN i < 0 THEN NULL ELSE {_list(INCOME)}[i + 1] END",
        f"CREATE OR REPLACE MACRO interests(mask) AS CASE WHEN mask = 0 THEN NULL ELSE array_to_string("
        f"list_filter({_list(CATEGORIES)}, lambda x, i: (mask >> (i - 1)) & 1 = 1), '|') END",
    ]


EVENTS_SELECT = """
SELECT
  CASE WHEN no_id THEN NULL ELSE 'e-' || substr(md5('{seed}-e-' || ev_key), 1, 20) END AS event_id,
  anon_id(anon_code) AS anonymous_id,
  customer_id(user_no) AS user_id,
  CASE WHEN session_no < 0 THEN NULL ELSE 's-' || substr(md5('{seed}-s-' || session_no), 1, 12) END AS session_hint,
  event_type(etype) AS event_type,
  CASE etype WHEN 0 THEN '/c/' || category(category) WHEN 1 THEN '/p/P' || lpad(product::VARCHAR, 5, '0')
    WHEN 2 THEN '/cart' WHEN 3 THEN '/checkout' WHEN 4 THEN '/checkout/complete' WHEN 5 THEN '/search'
    WHEN 6 THEN '/login' WHEN 8 THEN '/c/' || category(category) ELSE NULL END AS page_url,
  CASE WHEN product < 0 OR etype IN (6, 7, 8) THEN NULL ELSE 'P' || lpad(product::VARCHAR, 5, '0') END AS product_id,
  category(category) AS category,
  CASE WHEN etype = 5 THEN category(category) || CASE WHEN ev_key % 3 = 0 THEN ' sale' ELSE '' END END AS search_query,
  order_id(order_no) AS order_id,
  CASE WHEN campaign_day < 0 THEN NULL ELSE 'cmp-' || strftime(DATE '{start}' + campaign_day::INT, '%Y%m%d') END AS campaign_id,
  device(device) AS device,
  channel(channel) AS channel,
  iso_ts(ts, tz_min, ts_dirt) AS event_at
FROM {table}
"""

ORDERS_SELECT = """
SELECT
  order_id(order_no) AS order_id,
  customer_id(customer_no) AS customer_id,
  CASE WHEN guest OR email_too THEN email_variant(base_email(person, first_ascii, last_ascii, placeholder), email_v) END AS email,
  iso_ts(ts, tz_min, ts_dirt) AS ordered_at,
  currency(currency) AS currency,
  CASE WHEN currency = 4 THEN printf('%.0f', amount) ELSE printf('%.2f', amount) END AS amount,
  status(status) AS status,
  store_channel(store_channel) AS store_channel,
  iso_ts(ts, tz_min, CASE WHEN ts_dirt = 2 THEN 0 ELSE ts_dirt END) AS updated_at
FROM {table}
"""

ITEMS_SELECT = """
SELECT
  order_id(order_no) AS order_id,
  line AS line_number,
  'P' || lpad(product::VARCHAR, 5, '0') AS product_id,
  category(category) AS category,
  qty AS quantity,
  CASE WHEN currency = 4 THEN printf('%.0f', unit) ELSE printf('%.2f', unit) END AS unit_price
FROM {table}
"""

CONTACTS_SELECT = """
SELECT
  customer_id(customer_no) AS customer_id,
  CASE WHEN email_new THEN email_s WHEN email_missing THEN NULL
       ELSE email_variant(base_email(person, first_ascii, last_ascii, placeholder), email_v) END AS email,
  CASE WHEN phone_new THEN phone_s WHEN phone_missing THEN NULL
       ELSE phone_fmt(calling_code(country, shared_phone), national_no(person, shared_phone), phone_f) END AS phone,
  first_s AS first_name,
  last_s AS last_name,
  CASE WHEN birth_missing THEN NULL ELSE strftime(DATE '1970-01-01' + birth_day::INT, '%Y-%m-%d') END AS birth_date,
  CASE WHEN gender < 0 THEN NULL ELSE ['F', 'M', 'X'][gender + 1] END AS gender,
  CASE WHEN city_missing THEN NULL ELSE city(country, city) END AS city,
  country(country) AS country,
  iso_ts(signup_ts, tz_min, 0) AS signup_at,
  CASE WHEN consent THEN 'true' ELSE 'false' END AS marketing_consent,
  tier(tier) AS loyalty_tier,
  income(income) AS income_bracket,
  interests(interests) AS interests,
  iso_ts(updated_ts, tz_min, 0) AS updated_at,
  address_line,
  postcode
FROM {table}
"""
