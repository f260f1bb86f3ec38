"""Issue 4 acceptance on REAL data: generator (2000 persons x 60 days, seed 7) -> dbt warehouse ->
`dim_user_profile` -> default segmentation, scored against the planted personas.

How persons are matched to personas and which are judged ("coverage"): tests/ml/real_data.py.
Measured figures and what limits them: docs/ml.md, "Recovery of the planted personas".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.config_loader import load_config
from ml.train import map_labels, train_segmentation

from .real_data import persona_recovery, persona_truth

ACCEPTANCE_ARI = 0.8  # issue 4
# Regression floors: what the default config measures today minus a small margin (docs/ml.md). The 5-persona
# ARI on this data was 0.32 (k=4) with the first defaults, 0.56 (k=4) before the lifetime browsing columns
# (int_person_browsing_behaviour) and 0.78 (k=6) before the visit rhythm columns (int_person_visit_rhythm).
FLOOR_ARI_DEFAULT = 0.81  # default config, k by silhouette (measured 0.821, k=5)
FLOOR_ARI_K5 = 0.81  # default config with k fixed at the number of planted personas (measured 0.821)


def _fit(frame: pd.DataFrame, cfg):
    fit = train_segmentation(frame, cfg)
    segments = map_labels(np.asarray(fit.model.predict(frame[list(cfg.features.all)])), fit.segment_map)
    return fit, segments


@pytest.fixture(scope="module")
def real(warehouse):
    import duckdb

    con = duckdb.connect(str(warehouse.warehouse), read_only=True)
    try:
        con.execute(f"SET file_search_path = '{warehouse.truth}'")
        truth = persona_truth(con)
        frame = con.execute("select * from dim_user_profile order by person_id").df()
    finally:
        con.close()
    return truth, frame


@pytest.fixture(scope="module")
def default_run(real):
    truth, frame = real
    cfg = load_config()
    fit, segments = _fit(frame, cfg)
    rec = persona_recovery(truth, frame["person_id"], segments)
    print(f"\ndefault model k={fit.k}: ARI {rec.ari:.3f} on {rec.n_covered}/{rec.n_persons} persons "
          f"(coverage {rec.coverage:.1%}; {rec.kinds})\n{rec.crosstab}\n"
          f"{fit.profiles[['segment_id', 'share', 'persona_name', 'top_traits']].to_string(index=False)}")
    data = frame.assign(segment_id=segments).merge(truth[["person_id", "persona", "covered"]], on="person_id")
    return fit, rec, data


@pytest.fixture(scope="module")
def default_fit(default_run):
    fit, rec, _ = default_run
    return fit, rec


@pytest.fixture(scope="module")
def default_data(default_run):
    fit, _, data = default_run
    return fit, data


@pytest.fixture(scope="module")
def k5_fit(real):
    truth, frame = real
    cfg = load_config().replace(selection={"k_min": 5, "k_max": 5})
    fit, segments = _fit(frame, cfg)
    rec = persona_recovery(truth, frame["person_id"], segments)
    print(f"\ndefault model, k fixed at 5: ARI {rec.ari:.3f}\n{rec.crosstab}\n"
          f"{fit.profiles[['segment_id', 'share', 'persona_name', 'top_traits']].to_string(index=False)}")
    data = frame.assign(segment_id=segments).merge(truth[["person_id", "persona", "covered"]], on="person_id")
    return fit, rec, data


def test_coverage_is_most_of_the_warehouse(default_fit):
    _, rec = default_fit
    assert rec.coverage >= 0.6, rec.kinds
    assert rec.kinds.get("merged", 0) + rec.kinds.get("unmapped", 0) <= 0.02 * rec.n_persons


def test_default_model_recovers_personas_regression_floor(default_fit):
    fit, rec = default_fit
    # silhouette picks k=5 here and on 5000 x 90 days (seeds 11, 3, 42): one segment per persona; the CRM
    # contacts without any event or order (not judged, tests/ml/real_data.py) no longer get their own
    assert fit.k in (5, 6), fit.candidates
    assert rec.ari >= FLOOR_ARI_DEFAULT


def test_k5_recovers_personas_regression_floor(k5_fit):
    _, rec, _ = k5_fit
    assert rec.ari >= FLOOR_ARI_K5


def test_default_model_reaches_acceptance_ari(default_fit):
    """Issue 4: ARI >= 0.8 against the generator's personas (0.821 here; 0.800 / 0.805 on 5000 x 90 seed 11
    / 3000 x 90 seed 3, docs/ml.md)."""
    _, rec = default_fit
    assert rec.ari >= ACCEPTANCE_ARI


def test_segments_match_their_dominant_persona(default_data):
    """Each planted persona dominates its own segment, and that segment's profile says what it is."""
    fit, data = default_data
    covered = data[data["covered"]]
    dominant = pd.crosstab(covered["persona"], covered["segment_id"]).idxmax(axis=1)  # persona -> segment
    assert dominant.nunique() == 5, dominant
    covered = covered[covered["segment_id"].isin(dominant.values)]
    means = covered.groupby("segment_id")[["monetary", "avg_order_value", "tenure_days", "days_since_last_activity",
                                           "avg_visit_minutes", "session_gap_ratio", "email_sessions", "search_share"]].mean()
    assert means["monetary"].idxmax() == dominant["loyal_high_value"]
    assert means["avg_order_value"].idxmax() == dominant["loyal_high_value"]
    buyers = [dominant["loyal_high_value"], dominant["bargain_hunter"]]
    assert means.loc[buyers, "avg_order_value"].idxmin() == dominant["bargain_hunter"]
    assert means["tenure_days"].idxmin() == dominant["new_user"]
    assert means["days_since_last_activity"].idxmax() == dominant["lapsed"]
    assert means["session_gap_ratio"].idxmax() == dominant["lapsed"]
    # loyal and bargain customers read (and click) the newsletter; lapsed customers, browsers, new users hardly
    assert means.loc[buyers, "email_sessions"].min() > means["email_sessions"].drop(buyers).max()
    assert means["avg_visit_minutes"].idxmax() == dominant["browser"]
    assert means["search_share"].idxmax() == dominant["bargain_hunter"]
    names = fit.segment_names
    assert "new" in names[dominant["new_user"]].lower()
    assert "lapsed" in names[dominant["lapsed"]].lower()
    assert "big-basket" in names[dominant["loyal_high_value"]].lower()
    assert "searching" in names[dominant["bargain_hunter"]].lower()  # search share is its strongest trait
    assert "long-visit" in names[dominant["browser"]].lower()
    assert "visitors" in names[dominant["browser"]].lower()
