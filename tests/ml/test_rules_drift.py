from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ml.config import DriftConfig
from ml.config_loader import load_config
from ml.drift import bin_counts, psi, psi_categorical, psi_from_samples, psi_status, should_retrain
from ml.features import add_derived_columns
from ml.rules import assign_rule_segments, rule_columns, validate_rules


def _rows() -> pd.DataFrame:
    """Hand-made persons; the expected rule matches are worked out in the test below."""
    return pd.DataFrame({
        "person_id": ["a", "b", "c", "d", "e", "f", "g"],
        "engagement_score": [85.0, 10.0, 50.0, np.nan, 90.0, 30.0, 60.0],
        "recency_days": pd.array([3, 45, None, 10, 8, None, None], dtype="Int64"),
        "orders_per_month": [6.0, 0.5, 0.0, 3.5, 2.0, 0.0, 0.0],
        "frequency": [40, 3, 0, 20, 5, 0, 0],
        "avg_order_value": [200.0, 50.0, np.nan, 180.0, 100.0, np.nan, np.nan],
        "days_since_last_activity": [1, 45, 2, 3, 8, 40, 1],
        "tenure_days": [400, 300, 20, 5, 7, 90, 3],
        "orders_last_30d": [5, 0, 0, 2, 1, 0, 0],
        "page_views_per_week": [20.0, 0.0, 30.0, 4.0, 10.0, 6.0, 5.0],
        "is_registered": [True, True, False, True, True, False, False],
        "signup_at": pd.to_datetime(["2025-01-01", "2024-05-01", None, "2026-02-25", "2026-02-22", None, None],
                                    utc=True),
        "as_of_date": pd.Timestamp("2026-03-01"),
    })


def test_rule_segments_on_hand_made_rows():
    rules = list(load_config().rules)
    validate_rules(rules)
    got = assign_rule_segments(add_derived_columns(_rows()), rules)
    matched = {(r.person_id, r.segment_id) for r in got.itertuples()}
    expected = {
        # a: engagement 85 > 80 & bought 3 days ago; 6 orders/month > 5; > 3/month, AOV 200 > 150, active 1 day ago
        ("a", "highly_engaged_recent_buyers"), ("a", "frequent_buyers"), ("a", "frequent_high_spenders"),
        # b: engagement 10 < 20 & last purchase 45 days ago; 0.5/month with 3 orders; 0 views -> no browser
        ("b", "lapsed_users"), ("b", "rare_buyers"),
        # c: never bought, 30 views/week (120 > 20 in 28 days): a browser; active 2 days ago -> not lapsed
        ("c", "browsers"),
        # d: engagement unknown -> no engagement rule; 3.5/month -> occasional AND frequent high spender
        #    (AOV 180, active 3 days ago); first seen 5 days ago -> new user; bought 10 days ago -> no browser
        ("d", "occasional_buyers"), ("d", "frequent_high_spenders"), ("d", "new_users"),
        # e: bought 8 days ago (not within 7) -> not "recent"; 2/month -> occasional; tenure 7 -> new
        ("e", "occasional_buyers"), ("e", "new_users"),
        # f: never bought and inactive 40 > 30 days -> lapsed by the second branch (engagement 30 is not < 20);
        #    6 views/week = 24 > 20 in 28 days and no purchase -> browser; never bought -> no buyer rule
        ("f", "lapsed_users"), ("f", "browsers"),
        # g: never bought, 5 views/week = exactly 20 (not > 20) -> no browser; first seen 3 days ago -> new
        ("g", "new_users"),
    }
    assert matched == expected
    assert set(got.columns) == {"person_id", "segment_id", "segment_name"}
    assert got.loc[got["segment_id"] == "lapsed_users", "person_id"].tolist() == ["b", "f"]
    assert got.loc[got["segment_id"] == "browsers", "segment_name"].unique().tolist() == ["Browsers"]


def test_nested_rule_groups_validate_and_list_their_columns():
    rule = {"id": "x", "name": "X", "any": [{"all": [{"column": "a", "op": ">", "value": 1}]},
                                            {"column": "b", "op": "is_null"}]}
    validate_rules([rule])
    assert rule_columns([rule]) == ["a", "b"]
    with pytest.raises(ValueError, match="bad condition"):
        validate_rules([{"id": "y", "name": "Y", "any": [{"all": [{"column": "a", "op": "like"}]}]}])


def test_bad_rules_are_rejected():
    with pytest.raises(ValueError, match="bad condition"):
        validate_rules([{"id": "x", "name": "X", "all": [{"column": "a", "op": "~="}]}])
    rule = {"id": "x", "name": "X", "all": [{"column": "a", "op": "is_null"}]}
    with pytest.raises(ValueError, match="duplicate"):
        validate_rules([rule, rule])


def test_psi_hand_computed():
    # 50/50 -> 90/10: (0.9-0.5) ln(0.9/0.5) + (0.1-0.5) ln(0.1/0.5)
    expected = 0.4 * math.log(1.8) + (-0.4) * math.log(0.2)
    assert psi([50, 50], [90, 10]) == pytest.approx(expected)
    assert psi([50, 50], [90, 10]) == pytest.approx(0.8789, abs=1e-4)
    # 25/25/25/25 -> 30/30/20/20: 2*0.05 ln(1.2) + 2*(-0.05) ln(0.8)
    assert psi([1, 1, 1, 1], [0.3, 0.3, 0.2, 0.2]) == pytest.approx(0.1 * math.log(1.2) - 0.1 * math.log(0.8))
    assert psi([10, 20, 30], [10, 20, 30]) == 0.0


def test_psi_on_known_distributions():
    rng = np.random.default_rng(0)
    ref = rng.uniform(0, 1, 100_000)
    # same distribution: ~0; uniform(0,1) -> uniform(0.1,1.1): deciles shift one bin, top bin gets 20 %
    assert psi_from_samples(ref, rng.uniform(0, 1, 100_000)) < 0.01
    shifted = psi_from_samples(ref, rng.uniform(0.1, 1.1, 100_000))
    # hand: first decile empty (floored at 1e-4), nine at 10 %, the open top bin 20 %
    hand = (1e-4 - 0.1) * math.log(1e-4 / 0.1) + (0.2 - 0.1) * math.log(0.2 / 0.1)
    assert shifted == pytest.approx(hand, rel=0.05)
    assert psi_status(shifted, DriftConfig()) == "alert"


def test_missing_values_have_their_own_bin():
    counts = bin_counts(pd.Series([1.0, 2.0, None, 3.0]), np.array([2.0]))
    assert counts.tolist() == [1, 2, 1]


def test_psi_status_and_retrain_trigger():
    cfg = DriftConfig()
    assert [psi_status(v, cfg) for v in (0.05, 0.1, 0.2, 0.26)] == ["ok", "warn", "warn", "alert"]
    drift = pd.DataFrame({"name": ["a", "b"], "status": ["warn", "ok"]})
    assert not should_retrain(drift, cfg)
    assert should_retrain(drift.assign(status=["alert", "ok"]), cfg)
    assert psi_categorical({"x": 50, "y": 50}, {"x": 90, "y": 10}) == pytest.approx(psi([50, 50], [90, 10]))
