"""Profile-shaped test data: `dim_user_profile` rows (docs/profile.md) with five planted personas.

Loyal high-value buyers, bargain hunters, browsers who rarely buy, new users and lapsed users, with
realistic spread, structural nulls (never bought, no session) and random gaps (age, categories, a few
behaviour columns). `persona` is returned separately as the ground truth.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

PERSONAS = ("loyal_high_value", "bargain_hunter", "browser", "new_user", "lapsed")
SHARES = (0.15, 0.20, 0.30, 0.10, 0.25)
AS_OF = date(2026, 3, 1)
TIERS = ("none", "bronze", "silver", "gold", "platinum")


def _lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    return rng.lognormal(np.log(median), sigma, n)


def make_profiles(n: int = 4000, seed: int = 0, as_of: date = AS_OF, missing_rate: float = 0.03,
                  shares: tuple[float, ...] = SHARES) -> tuple[pd.DataFrame, pd.Series]:
    """(profile frame with every contract column, persona name per row)."""
    rng = np.random.default_rng(seed)
    persona = rng.choice(len(PERSONAS), size=n, p=np.asarray(shares) / sum(shares))
    cols: dict[str, np.ndarray] = {k: np.zeros(n) for k in (
        "tenure", "dsla", "opm", "aov", "buy", "pvw", "minutes", "spw", "opens", "clicks", "age")}
    tier = np.empty(n, dtype=object)
    for p, name in enumerate(PERSONAS):
        m = persona == p
        k = int(m.sum())
        if name == "loyal_high_value":
            tenure, dsla = rng.uniform(200, 1000, k), rng.exponential(3, k)
            opm, aov, buy = _lognormal(rng, 1.5, 0.3, k), _lognormal(rng, 200, 0.25, k), np.ones(k)
            pvw, minutes, spw = _lognormal(rng, 14, 0.3, k), _lognormal(rng, 10, 0.2, k), _lognormal(rng, 3, 0.3, k)
            opens, clicks, age = rng.poisson(4, k), rng.poisson(1.5, k), rng.uniform(35, 65, k)
            tier[m] = rng.choice(TIERS, k, p=[0.05, 0.1, 0.25, 0.35, 0.25])
        elif name == "bargain_hunter":
            tenure, dsla = rng.uniform(100, 800, k), rng.exponential(5, k)
            opm, aov, buy = _lognormal(rng, 4.0, 0.3, k), _lognormal(rng, 20, 0.25, k), np.ones(k)
            pvw, minutes, spw = _lognormal(rng, 5, 0.3, k), _lognormal(rng, 3, 0.2, k), _lognormal(rng, 1.2, 0.3, k)
            opens, clicks, age = rng.poisson(1, k), rng.poisson(0.3, k), rng.uniform(20, 45, k)
            tier[m] = rng.choice(TIERS, k, p=[0.2, 0.4, 0.3, 0.08, 0.02])
        elif name == "browser":
            tenure, dsla = rng.uniform(30, 600, k), rng.exponential(4, k)
            buy = (rng.random(k) < 0.02).astype(float)
            opm, aov = buy * 30 / np.maximum(tenure, 30), _lognormal(rng, 60, 0.3, k)
            pvw, minutes, spw = _lognormal(rng, 25, 0.3, k), _lognormal(rng, 14, 0.2, k), _lognormal(rng, 3, 0.3, k)
            opens, clicks, age = rng.poisson(0.5, k), rng.poisson(0.1, k), rng.uniform(18, 40, k)
            tier[m] = rng.choice(TIERS, k, p=[0.8, 0.15, 0.05, 0, 0])
        elif name == "new_user":
            tenure = rng.integers(0, 7, k).astype(float)
            dsla = rng.uniform(0, 1, k) * tenure
            buy = (rng.random(k) < 0.03).astype(float)
            opm, aov = buy * 30 / 30, _lognormal(rng, 70, 0.3, k)
            pvw, minutes, spw = _lognormal(rng, 10, 0.3, k), _lognormal(rng, 7, 0.2, k), _lognormal(rng, 4, 0.3, k)
            opens, clicks, age = rng.poisson(2, k), rng.poisson(0.6, k), rng.uniform(18, 35, k)
            tier[m] = "none"
        else:  # lapsed
            tenure, dsla = rng.uniform(150, 1000, k), rng.uniform(61, 300, k)
            opm, aov, buy = _lognormal(rng, 0.5, 0.4, k), _lognormal(rng, 70, 0.3, k), np.ones(k)
            pvw, minutes, spw = np.zeros(k), np.full(k, np.nan), np.zeros(k)
            opens, clicks, age = rng.poisson(0.2, k), np.zeros(k), rng.uniform(25, 60, k)
            tier[m] = rng.choice(TIERS, k, p=[0.4, 0.35, 0.2, 0.05, 0])
        for key, val in {"tenure": tenure, "dsla": np.minimum(dsla, tenure), "opm": opm, "aov": aov, "buy": buy,
                         "pvw": pvw, "minutes": minutes, "spw": spw, "opens": opens, "clicks": clicks,
                         "age": age}.items():
            cols[key][m] = val

    # how each persona browses over all history (int_person_browsing_behaviour): median lifetime session
    # minutes, browsing events per session, search share of browsing, logged-in share of sessions
    browsing = {"loyal_high_value": (6.5, 5.0, 0.10, 0.75), "bargain_hunter": (2.8, 3.5, 0.30, 0.6),
                "browser": (12.0, 10.0, 0.10, 0.05), "new_user": (5.0, 6.0, 0.10, 0.9),
                "lapsed": (3.8, 5.0, 0.08, 0.9)}
    b = np.array([browsing[name] for name in PERSONAS])[persona]
    lifetime_minutes = np.round(b[:, 0] * rng.lognormal(0, 0.2, n), 2)
    browse_per_session = np.round(b[:, 1] * rng.lognormal(0, 0.2, n), 2)
    search_share = np.round(np.clip(b[:, 2] + rng.normal(0, 0.04, n), 0, 1), 3)
    logged_in_share = np.round(np.clip(b[:, 3] + rng.normal(0, 0.1, n), 0, 1), 3)
    # visit rhythm and mail (int_person_visit_rhythm): median visit minutes (e-mail clicks left out) and
    # sessions that came through an e-mail over all history
    rhythm = {"loyal_high_value": (9.0, 2.0), "bargain_hunter": (4.5, 2.0), "browser": (13.0, 0.3),
              "new_user": (7.0, 0.5), "lapsed": (5.0, 0.05)}
    r = np.array([rhythm[name] for name in PERSONAS])[persona]
    visit_minutes = np.round(r[:, 0] * rng.lognormal(0, 0.2, n), 2)
    email_sessions = rng.poisson(r[:, 1])
    tenure = np.floor(cols["tenure"]).astype(int)
    dsla = np.floor(cols["dsla"]).astype(int)
    bought = cols["buy"] > 0
    frequency = np.where(bought, np.maximum(1, np.round(cols["opm"] * np.maximum(tenure, 30) / 30)), 0).astype(int)
    orders_per_month = frequency * 30 / np.maximum(tenure, 30)
    aov = np.where(bought, np.round(cols["aov"], 2), np.nan)
    monetary = np.where(bought, np.round(frequency * cols["aov"], 2), 0.0)
    recency = np.where(bought, dsla + np.floor(rng.exponential(2, n)), np.nan)
    recency = np.where(bought, np.minimum(recency, tenure), np.nan)
    opens, clicks = cols["opens"].astype(int), cols["clicks"].astype(int)
    pvw, spw = np.round(cols["pvw"], 2), np.round(cols["spw"], 2)
    minutes = np.round(cols["minutes"], 1)
    engagement = np.round(100 * (0.40 * np.minimum(pvw / 15, 1) + 0.25 * np.minimum(np.nan_to_num(minutes) / 10, 1)
                                 + 0.20 * np.minimum(spw / 3, 1) + 0.15 * np.minimum((opens + 2 * clicks) / 8, 1)), 1)
    sessions_last_30d = np.round(spw * 30 / 7).astype(int)
    sessions_count = sessions_last_30d + rng.poisson(np.maximum(tenure, 1) / 30 * 2)
    session_days = np.maximum(1, np.round(sessions_count * 0.8)).astype(int)
    observed = np.minimum(tenure, 90)
    mean_gap = np.where(session_days > 1, np.maximum(observed - dsla, session_days - 1) / np.maximum(session_days - 1, 1),
                        np.nan)
    mean_gap = np.round(np.maximum(mean_gap, 1.0), 2)
    orders_last_30d = np.where(bought & (recency <= 30), np.maximum(1, np.round(orders_per_month)), 0).astype(int)
    as_of_ts = pd.Timestamp(as_of)
    first_seen = [as_of_ts - timedelta(days=int(t), hours=int(h)) for t, h in zip(tenure, rng.integers(0, 23, n), strict=True)]
    last_seen = [as_of_ts - timedelta(days=int(d)) for d in dsla]
    registered = bought | (rng.random(n) < 0.6)
    new = persona == PERSONAS.index("new_user")
    registered[new] = True
    signup = pd.Series([f if r else pd.NaT for f, r in zip(first_seen, registered, strict=True)], dtype="datetime64[us]")
    stage = np.select([tenure < 7, dsla <= 30, dsla <= 60, dsla <= 90], ["new", "active", "at_risk", "lapsed"], "churned")
    person_id = [f"p_{x:016x}" for x in rng.choice(2**62, n, replace=False)]

    def quintile(values: np.ndarray, higher_better: bool = True) -> np.ndarray:
        ranks = pd.Series(values if higher_better else -values).rank(pct=True, method="first")
        return np.ceil(ranks * 5).clip(1, 5).astype(int).to_numpy()

    r_score = np.where(bought, quintile(np.nan_to_num(recency, nan=9999), higher_better=False), 1)
    f_score = np.where(bought, quintile(frequency.astype(float)), 1)
    m_score = np.where(bought, quintile(monetary), 1)
    frame = pd.DataFrame({
        "person_id": person_id,
        "primary_customer_id": [f"C{i:08d}" if r else None for i, r in enumerate(registered)],
        "n_customer_ids": registered.astype(int), "n_anonymous_ids": rng.integers(1, 4, n),
        "is_registered": registered, "is_identity_flagged": False,
        "email": [f"u{i}@example.com" if r else None for i, r in enumerate(registered)],
        "phone": None, "first_name": None, "last_name": None,
        "age": pd.array(np.where(rng.random(n) < 0.1, np.nan, np.floor(cols["age"])), dtype="Int64"),
        "gender": rng.choice(["F", "M", "X", "unknown"], n, p=[0.45, 0.45, 0.05, 0.05]),
        "city": "unknown", "country": rng.choice(["DE", "FR", "NL", "unknown"], n),
        "income_bracket": rng.choice(["<25k", "25-50k", "50-100k", "unknown"], n),
        "loyalty_tier": tier, "interests": "unknown", "has_marketing_consent": rng.random(n) < 0.7,
        "signup_at": signup, "first_seen_at": pd.Series(first_seen, dtype="datetime64[us]"),
        "last_seen_at": pd.Series(last_seen, dtype="datetime64[us]"),
        "tenure_days": tenure, "days_since_last_activity": dsla,
        "recency_days": pd.array(recency, dtype="Int64"), "frequency": frequency,
        "monetary": monetary, "avg_order_value": aov, "refund_count": rng.poisson(0.2, n),
        "orders_per_month": np.round(orders_per_month, 3),
        "r_score": r_score, "f_score": f_score, "m_score": m_score,
        "rfm_cell": [f"{a}{b}{c}" for a, b, c in zip(r_score, f_score, m_score, strict=True)],
        "sessions_count": sessions_count, "sessions_last_30d": sessions_last_30d,
        "page_views_per_week": pvw, "avg_session_minutes": minutes,
        "email_opens_28d": opens, "email_clicks_28d": clicks, "sessions_per_week": spw,
        "engagement_score": engagement,
        "events_last_30d": np.round(pvw * 30 / 7).astype(int), "events_prev_30d": np.round(pvw * 30 / 7 * rng.uniform(0.5, 1.5, n)).astype(int),
        "engagement_trend": 0.0, "orders_last_30d": orders_last_30d, "orders_prev_30d": 0,
        "top_category": rng.choice(["fashion", "home", "outdoor", "unknown"], n),
        "top_category_share": rng.uniform(0.2, 1, n), "preferred_device": rng.choice(["mobile", "desktop"], n),
        "preferred_channel": rng.choice(["direct", "email", "organic"], n),
        "has_abandoned_cart": rng.random(n) < 0.2, "abandoned_carts_30d": rng.poisson(0.3, n),
        "is_repeat_visitor": spw >= 2, "product_interest_category": None, "lifecycle_stage": stage,
        "as_of_date": pd.Timestamp(as_of),
        "days_since_first_activity": np.minimum(tenure, 90), "lifetime_avg_session_minutes": lifetime_minutes,
        "browse_events_per_session": browse_per_session, "search_share": search_share,
        "product_view_share": np.round(rng.uniform(0.4, 0.6, n), 3),
        "cart_session_share": np.round(rng.uniform(0, 0.5, n), 3), "logged_in_session_share": logged_in_share,
        "session_days": session_days, "days_since_last_session": dsla, "mean_days_between_sessions": mean_gap,
        "session_gap_ratio": np.round(dsla / mean_gap, 3), "avg_visit_minutes": visit_minutes,
        "email_sessions": email_sessions,
    })
    # random gaps beyond the structural nulls: the imputer's job
    for col in ("page_views_per_week", "engagement_score", "sessions_count"):
        frame[col] = frame[col].astype("float64").mask(rng.random(n) < missing_rate)
    frame["avg_order_value"] = frame["avg_order_value"].mask(rng.random(n) < missing_rate)
    frame["loyalty_tier"] = frame["loyalty_tier"].mask(rng.random(n) < missing_rate)
    truth = pd.Series(np.asarray(PERSONAS, dtype=object)[persona], name="persona")
    return frame, truth


def write_profiles(path: str, frame: pd.DataFrame, relation: str = "validated.dim_user_profile") -> None:
    """Write the frame as the profiles ML reads (by default the validated snapshot) in a DuckDB file."""
    import duckdb

    with duckdb.connect(path) as con:
        if "." in relation:
            con.execute(f"create schema if not exists {relation.split('.')[0]}")
        con.register("_profiles", frame)
        con.execute(f"create or replace table {relation} as select * from _profiles")
        con.unregister("_profiles")
