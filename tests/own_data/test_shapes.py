"""Bring your own data, end to end (docs/own-data.md): three generated shapes go from files to published segments
with the default config and no hand edits."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

from tests.own_data.conftest import SHAPES

pytestmark = pytest.mark.slow

DELIVERED = {"transactions_only": ["orders"], "crm_and_orders": ["contacts", "orders"],
             "all_three": ["contacts", "events", "orders"]}
BROWSING = {"avg_visit_minutes", "browse_events_per_session", "search_share", "logged_in_session_share",
            "session_gap_ratio", "email_sessions"}


def _con(run):
    return duckdb.connect(str(run.paths.warehouse), read_only=True)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_shape_goes_from_files_to_published_segments(shape_runs, shape):
    run = shape_runs[shape]
    assert sorted(run.results["landing"]["delivered"]) == DELIVERED[shape]
    assert run.results["gate"]["success"], run.results["gate"]
    train = run.results["train"]
    assert train["status"] == "champion", train
    publish = run.results["publish"]
    assert publish["gate_passed"]
    assert publish["gate_run"] == f"gate_{shape}"
    assert not publish["gate_overridden"]
    with _con(run) as con:
        recorded = con.execute("select source from landing.declared_sources where delivered order by 1").fetchall()
        assert [r[0] for r in recorded] == DELIVERED[shape]
        n_profiles = con.execute("select count(*) from dim_user_profile").fetchall()[0][0]
        scored = con.execute("select count(*), count(distinct segment_id) from segments.segment_assignments "
                             "where segment_id >= 0").fetchall()[0]
        card = json.loads(con.execute("select features from segments.model_registry where model_version = ?",
                                      [train["model_version"]]).fetchall()[0][0])
    assert n_profiles > 1000
    assert scored[0] == n_profiles
    assert scored[1] == train["k"]
    with duckdb.connect(str(run.paths.serving), read_only=True) as serving:
        published = serving.execute("select count(*) from segments.segment_assignments").fetchall()[0][0]
    assert published == n_profiles
    used = set(card["log1p"]) | set(card["numeric"])
    chosen = card["chosen_from_data"]
    if shape == "all_three":  # web data: the configured set is populated, browsing features included
        assert BROWSING & used
        assert "fallback" not in chosen
    else:  # no web data: no browsing feature is trained on, and the card says why each was left out
        assert not BROWSING & used
        assert BROWSING <= set(chosen["left_out"])
    if shape == "transactions_only":
        assert card["log1p"] == ["days_since_last_activity", "frequency", "monetary"]
        assert "fallback" in chosen
        assert card["categorical"] == []


def test_gate_skips_what_a_deployment_does_not_have(shape_runs):
    """Suites of undelivered sources and checks of columns empty in every row are listed, not run."""
    with _con(shape_runs["crm_and_orders"]) as con:
        rows = dict(con.execute("select suite, coalesce(skipped_summary, '') from quality.data_quality_runs "
                                "where run_id = 'gate_crm_and_orders'").fetchall())
        kept = con.execute("select count(*) from stg_crm__contacts").fetchall()[0][0]
        reasons = [r[0] for r in con.execute(
            "select distinct reason from int_quarantine_rows where source_name = 'crm_contacts'").fetchall()]
    assert "source events not delivered" in rows["stg_web__events_suite"]
    assert "stg_crm__contacts.signup_at: expect_column_values_to_not_be_null (column empty in every row)" in \
        rows["stg_crm__contacts_suite"]
    assert rows["stg_shop__orders_suite"] == ""
    # contacts without updated_at are kept (the delivery order decides the version), not quarantined
    assert kept > 1000
    assert not any("updated_at" in r for r in reasons if r)


def test_transactions_only_segments_separate_rfm_like_plain_kmeans(shape_runs):
    """Silhouette on standardized log-RFM of the default model's segments >= 0.9 x plain KMeans' at the same k."""
    run = shape_runs["transactions_only"]
    with _con(run) as con:
        frame = con.execute("""
            select p.days_since_last_activity, p.frequency, p.monetary, a.segment_id
            from dim_user_profile p join segments.segment_assignments a using (person_id)
            where p.days_since_last_activity is not null  -- nothing dated: no recency to compare""").df()
    X = StandardScaler().fit_transform(np.log1p(frame[["days_since_last_activity", "frequency", "monetary"]]
                                                .clip(lower=0).to_numpy(float)))
    k = frame["segment_id"].nunique()
    ours = silhouette_score(X, frame["segment_id"])
    plain = silhouette_score(X, KMeans(k, n_init=10, random_state=0).fit_predict(X))
    run.results["silhouette_ratio"] = {"ours": ours, "plain_kmeans": plain, "k": k}
    assert ours >= 0.9 * plain, (ours, plain, k)
