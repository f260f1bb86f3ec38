"""Synthetic, contract-valid warehouse content for the quality-gate tests (pure DuckDB SQL, seeded by row number)."""

from __future__ import annotations

from pathlib import Path

import duckdb

PROFILE_SQL = """
create or replace table {schema}.dim_user_profile as
with base as (
    select i, hash(i, 'seed7') as h from range({rows}) t(i)
),
rows as (
    select
        i,
        h,
        (h % 5)::integer + 1 as r_score,
        ((h // 5) % 5)::integer + 1 as f_score,
        ((h // 25) % 5)::integer + 1 as m_score,
        (h // 125) % 100 as d100,
        ((h // 12500) % 200)::integer as days_since
    from base
)
select
    printf('p_%016x', i) as person_id,
    case when d100 < 70 then printf('C%08d', i) end as primary_customer_id,
    case when d100 < 70 then 1 else 0 end::integer as n_customer_ids,
    (1 + h % 3)::integer as n_anonymous_ids,
    d100 < 70 as is_registered,
    false as is_identity_flagged,
    case when d100 < 70 then printf('user%d@example.com', i) end as email,
    case when d100 < 50 then printf('+4930%07d', i % 10000000) end as phone,
    'First' as first_name,
    'Last' as last_name,
    case when d100 < 80 then (18 + h % 70)::integer end as age,
    ['F', 'M', 'X', 'unknown'][1 + (h % 4)::integer] as gender,
    'Berlin' as city,
    'DE' as country,
    'unknown' as income_bracket,
    ['none', 'bronze', 'silver', 'gold', 'platinum'][1 + (h % 5)::integer] as loyalty_tier,
    'unknown' as interests,
    h % 2 = 0 as has_marketing_consent,
    timestamp '2025-01-01' + to_days((h % 300)::integer) as signup_at,
    timestamp '2025-01-01' + to_days((h % 300)::integer) as first_seen_at,
    timestamp '2026-03-01' - to_days(days_since) as last_seen_at,
    (365 + h % 300)::integer as tenure_days,
    days_since as days_since_last_activity,
    case when f_score > 1 then days_since end as recency_days,
    (f_score - 1)::integer as frequency,
    round((m_score - 1) * 40.0 + (h % 1000) / 100.0, 2)::double as monetary,
    case when f_score > 1 then round(((m_score - 1) * 40.0 + (h % 1000) / 100.0) / (f_score - 1), 2) end
        as avg_order_value,
    0::integer as refund_count,
    round((f_score - 1) / 12.0, 3)::double as orders_per_month,
    r_score,
    f_score,
    m_score,
    r_score::varchar || f_score::varchar || m_score::varchar as rfm_cell,
    (1 + h % 40)::integer as sessions_count,
    (h % 8)::integer as sessions_last_30d,
    round((h % 200) / 10.0, 1)::double as page_views_per_week,
    round((h % 300) / 10.0, 1)::double as avg_session_minutes,
    (h % 5)::integer as email_opens_28d,
    (h % 3)::integer as email_clicks_28d,
    round((h % 30) / 10.0, 1)::double as sessions_per_week,
    round((h % 1001) / 10.0, 1)::double as engagement_score,
    (h % 50)::integer as events_last_30d,
    ((h // 7) % 50)::integer as events_prev_30d,
    0.0::double as engagement_trend,
    0::integer as orders_last_30d,
    0::integer as orders_prev_30d,
    'fashion' as top_category,
    0.5::double as top_category_share,
    ['desktop', 'mobile', 'tablet'][1 + (h % 3)::integer] as preferred_device,
    ['direct', 'organic', 'email'][1 + (h % 3)::integer] as preferred_channel,
    h % 10 = 0 as has_abandoned_cart,
    (h % 2)::integer as abandoned_carts_30d,
    h % 3 = 0 as is_repeat_visitor,
    cast(null as varchar) as product_interest_category,
    case
        when days_since <= 30 then 'active'
        when days_since <= 60 then 'at_risk'
        when days_since <= 90 then 'lapsed'
        else 'churned'
    end as lifecycle_stage,
    date '2026-03-01' as as_of_date,
    least(days_since + (h % 30)::integer, 365) as days_since_first_activity,
    1.0 + (h % 15)::double as lifetime_avg_session_minutes,
    2.0 + (h % 9)::double as browse_events_per_session,
    (h % 40) / 100.0 as search_share,
    0.5::double as product_view_share,
    (h % 5) / 10.0 as cart_session_share,
    (h % 11) / 10.0 as logged_in_session_share,
    1 + (h % 6)::integer as session_days,
    days_since as days_since_last_session,
    case when h % 6 > 0 then 1.0 + (h % 20)::double end as mean_days_between_sessions,
    case when h % 6 > 0 then round(days_since / (1.0 + (h % 20)::double), 3) end as session_gap_ratio,
    1.5 + (h % 15)::double as avg_visit_minutes,
    (h % 4)::integer as email_sessions
from rows
order by i
"""

STAGING_SQL = [
    """
    create or replace table {schema}.stg_crm__contacts as
    select printf('C%08d', i) as customer_id, printf('user%d@example.com', i) as email,
           '+49301234567' as phone, 'First' as first_name, 'Last' as last_name,
           date '1990-01-01' as birth_date, ['F', 'M', 'X'][1 + i % 3] as gender, 'Berlin' as city,
           'DE' as country, timestamptz '2025-06-01 10:00:00+00' as signup_at, true as has_marketing_consent,
           'bronze' as loyalty_tier, '25-50k' as income_bracket, 'fashion|outdoor' as interests,
           timestamptz '2025-06-01 10:00:00+00' as updated_at
    from range({rows}) t(i)
    """,
    """
    create or replace table {schema}.stg_web__events as
    select printf('e%08d', i) as event_id, printf('a%06d', i % 500) as anonymous_id,
           case when i % 4 = 0 then printf('C%08d', i % 200) end as user_id, null::varchar as session_hint,
           ['page_view', 'product_view', 'add_to_cart', 'search', 'login'][1 + i % 5] as event_type,
           '/p' as page_url, null::varchar as product_id, 'fashion' as category, null::varchar as search_query,
           null::varchar as order_id, null::varchar as campaign_id,
           ['desktop', 'mobile', 'tablet'][1 + i % 3] as device,
           ['direct', 'organic', 'paid_search', 'social', 'email', 'referral'][1 + i % 6] as channel,
           timestamptz '2026-02-01 10:00:00+00' + to_minutes(i) as event_at,
           'web/events/date=2026-02-01/events.jsonl' as source_file, (i + 1)::integer as line_no
    from range({rows} * 5) t(i)
    """,
    """
    create or replace table {schema}.stg_shop__orders as
    select printf('O%08d', i) as order_id, printf('C%08d', i % 200) as customer_id,
           printf('user%d@example.com', i % 200) as email,
           timestamptz '2026-02-01 10:00:00+00' + to_hours(i) as ordered_at,
           ['EUR', 'USD', 'GBP', 'SEK', 'JPY'][1 + i % 5] as currency, 10.0 + i % 90 as amount,
           ['completed', 'completed', 'refunded', 'cancelled'][1 + i % 4] as status,
           ['web', 'app', 'store'][1 + i % 3] as store_channel,
           timestamptz '2026-02-01 10:00:00+00' + to_hours(i) as updated_at
    from range({rows}) t(i)
    """,
    """
    create or replace table {schema}.stg_shop__order_items as
    select printf('O%08d', i // 2) as order_id, (1 + i % 2)::integer as line_number,
           printf('SKU%04d', i % 100) as product_id, 'fashion' as category, 1 + i % 3 as quantity,
           5.0 + i % 20 as unit_price
    from range({rows} * 2) t(i)
    """,
]


def build_warehouse(
    path: Path,
    *,
    profile_rows: int = 20_000,
    staging_rows: int = 200,
    schema: str = "main",
) -> Path:
    """Create (or replace) a warehouse file with a valid dim_user_profile and the four staging tables."""
    with duckdb.connect(str(path)) as con:
        con.execute(f"create schema if not exists {schema}")
        con.execute(PROFILE_SQL.format(schema=schema, rows=profile_rows))
        for sql in STAGING_SQL:
            con.execute(sql.format(schema=schema, rows=staging_rows))
    return path


def execute(path: Path, *statements: str) -> None:
    """Run statements against the warehouse file (used to inject defects)."""
    with duckdb.connect(str(path)) as con:
        for statement in statements:
            con.execute(statement)
