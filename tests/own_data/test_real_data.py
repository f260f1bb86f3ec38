"""A real public data set, not generated: the CDNOW purchases shipped in the `lifetimes` package (23,570 customers,
69,659 purchases, dates only, USD), from files to published segments with the default config
(docs/own-data.md, "A real data set")."""

from __future__ import annotations

import time
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

from devtools.cdnow import read_purchases, write_landing_zone
from segwarehouse.core.paths import Paths
from tests.own_data.conftest import HOME

pytestmark = pytest.mark.slow

AS_OF = date(1998, 6, 30)


@pytest.fixture(scope="module")
def cdnow(own_env, tmp_path_factory):
    from segwarehouse import pipeline

    mp = pytest.MonkeyPatch()
    mp.setenv("SEGWAREHOUSE_REPORTING_CURRENCY", "USD")  # the data's one currency: amounts pass through
    try:
        paths = Paths(home=HOME, data=tmp_path_factory.mktemp("cdnow") / "data")
        counts = write_landing_zone(paths.raw)
        seconds, results = {}, {}
        for stage, call in [("landing", lambda: pipeline.check_landing(AS_OF, paths)),
                            ("build", lambda: pipeline.build_warehouse(AS_OF, paths)),
                            ("gate", lambda: pipeline.validate_profiles(AS_OF, "gate_cdnow", paths)),
                            ("profiles", lambda: pipeline.publish_profiles(AS_OF, "profiles_cdnow", paths)),
                            ("train", lambda: pipeline.retrain_segments("train_cdnow", paths)),
                            ("score", lambda: pipeline.score_segments("score_cdnow", paths)),
                            ("publish", lambda: pipeline.publish_segments("publish_cdnow", paths))]:
            t0 = time.perf_counter()
            results[stage] = call()
            seconds[stage] = round(time.perf_counter() - t0, 2)
        yield paths, counts, results, seconds
    finally:
        mp.undo()


def test_cdnow_goes_from_files_to_published_segments(cdnow):
    paths, counts, results, _ = cdnow
    assert counts == {"orders": 69659, "days": 546, "first_day": "1997-01-01", "last_day": "1998-06-30"}
    assert results["landing"]["delivered"] == ("orders",)
    assert results["gate"]["success"]
    assert results["train"]["status"] == "champion", results["train"]
    assert results["publish"]["gate_run"] == "gate_cdnow"
    with duckdb.connect(str(paths.serving), read_only=True) as serving:
        n = serving.execute("select count(*), count(distinct segment_id) from segments.segment_assignments"
                            ).fetchall()[0]
    assert n[0] == 23502  # 68 customers bought only for 0.00: quarantined orders, no person
    assert n[1] == results["train"]["k"]


def test_cdnow_figures_match_an_independent_computation(cdnow):
    """Per customer: order count, total (USD passes through unchanged), first and last purchase day."""
    paths = cdnow[0]
    raw = pd.DataFrame(read_purchases(), columns=["line", "customer_id", "day", "dollars"])
    raw["dollars"] = raw["dollars"].astype(float)
    paid = raw[raw["dollars"] > 0]
    expected = paid.groupby("customer_id").agg(frequency=("line", "size"), monetary=("dollars", "sum"),
                                               first=("day", "min"), last=("day", "max"))
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        got = con.execute("""
            select m.node_key[13:] as customer_id, p.frequency, p.monetary,
                   strftime(p.first_seen_at, '%Y-%m-%d') as first, strftime(p.last_seen_at, '%Y-%m-%d') as last
            from dim_user_profile p join int_person_map m on m.person_id = p.person_id
            where m.node_key like 'customer_id:%'""").df().set_index("customer_id").sort_index()
        passthrough = con.execute("select count(*) filter (where amount_reporting <> amount), "
                                  "count(distinct currency) from fct_orders").fetchall()[0]
        zero = con.execute("select count(*) from int_quarantine_rows where source_name = 'shop_orders' "
                           "and reason like 'non-positive amount%'").fetchall()[0][0]
    assert passthrough == (0, 1)
    assert zero == len(raw) - len(paid) == 80
    expected = expected.sort_index()
    assert list(got.index) == list(expected.index)
    assert (got["frequency"].to_numpy() == expected["frequency"].to_numpy()).all()
    np.testing.assert_allclose(got["monetary"].to_numpy(), expected["monetary"].to_numpy(), atol=0.005)
    assert (got["first"] == expected["first"]).all()
    assert (got["last"] == expected["last"]).all()


def test_cdnow_segments_separate_rfm_like_plain_kmeans(cdnow):
    paths = cdnow[0]
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        frame = con.execute("""
            select p.days_since_last_activity, p.frequency, p.monetary, a.segment_id
            from dim_user_profile p join segments.segment_assignments a using (person_id)
            where p.days_since_last_activity is not null  -- nothing dated: no recency to compare""").df()
    X = StandardScaler().fit_transform(np.log1p(frame[["days_since_last_activity", "frequency", "monetary"]]
                                                .to_numpy(float)))
    idx = np.random.default_rng(0).choice(len(X), 8000, replace=False)  # silhouette is quadratic in rows
    k = frame["segment_id"].nunique()
    ours = silhouette_score(X[idx], frame["segment_id"].to_numpy()[idx])
    plain = silhouette_score(X[idx], KMeans(k, n_init=10, random_state=0).fit_predict(X)[idx])
    assert ours >= 0.9 * plain, (ours, plain, k)
