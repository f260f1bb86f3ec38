"""Density clusterers as written in the config (`sklearn.cluster.HDBSCAN`, DBSCAN, OPTICS): wrapped by the
product, k is what they find, noise persons get no segment; and the mixture family chooses k by BIC."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import DBSCAN, HDBSCAN, OPTICS, KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import BayesianGaussianMixture, GaussianMixture

from ml.frame_scoring import score_frame
from ml.models import InductiveClusterer, build_segmenter, find_k_param
from ml.score import score
from ml.selection import mixture_bic, select_k
from ml.train import map_labels, train, train_segmentation
from segwarehouse.experiments import schema as experiments_schema
from segwarehouse.quality import schema as quality_schema
from segwarehouse.serving.contract import PII_COLUMNS, PUBLIC_PROFILE, VIEWS_SQL

from .profiles import make_profiles, write_profiles

N_OUTLIERS = 20  # fewer than the smallest cluster HDBSCAN may form here (2% of 1520 rows)


def with_outliers(frame: pd.DataFrame, n: int = N_OUTLIERS, seed: int = 0) -> pd.DataFrame:
    """Persons far from every planted persona, each odd in its own random way."""
    rng = np.random.default_rng(seed)
    odd = frame.sample(n, random_state=seed).copy()
    odd["person_id"] = [f"outlier_{i:02d}" for i in range(n)]
    for col in ("avg_order_value", "avg_visit_minutes", "browse_events_per_session", "email_sessions",
                "session_gap_ratio", "frequency", "days_since_last_activity"):
        odd[col] = rng.uniform(0, 30, n) * frame[col].max()
    for col in ("search_share", "logged_in_session_share"):
        odd[col] = rng.uniform(0, 1, n)
    return pd.concat([frame, odd], ignore_index=True)


@pytest.fixture(scope="module")
def noisy():
    frame, truth = make_profiles(1500, seed=5)
    return with_outliers(frame), truth


@pytest.fixture(scope="module")
def hdbscan_fit(noisy, fast_cfg):
    data, _ = noisy
    return train_segmentation(data, fast_cfg.with_model("sklearn.cluster.HDBSCAN"))


@pytest.mark.parametrize("cls", [HDBSCAN, DBSCAN, OPTICS])
def test_density_clusterers_work_as_written(cfg, cls):
    segmenter = build_segmenter(cfg.with_model(f"sklearn.cluster.{cls.__name__}").model, cfg)
    assert isinstance(segmenter, InductiveClusterer)
    assert isinstance(segmenter.clusterer, cls)
    assert find_k_param(segmenter) is None


def test_hdbscan_finds_the_personas_and_leaves_outliers_unassigned(hdbscan_fit, noisy, fast_cfg):
    data, truth = noisy
    fit = hdbscan_fit
    clusterer = fit.model[-1].clusterer_
    assert clusterer.min_cluster_size == int(np.ceil(0.02 * len(data)))  # from gates.min_segment_share
    assert fit.k == 5
    assert sorted(fit.segment_names) == [1, 2, 3, 4, 5]
    assert fit.candidates["criterion_used"].tolist() == ["found by the model"]
    assert fit.metrics["noise_share"] == pytest.approx(N_OUTLIERS / len(data))
    assert fit.metrics["silhouette"] == pytest.approx(fit.metrics["silhouette_assigned"]
                                                      * (1 - fit.metrics["noise_share"]))
    assert fit.metrics["min_segment_jaccard"] >= 0.9
    ids = map_labels(fit.model.predict(data[list(fast_cfg.features.all)]), fit.segment_map)
    assert adjusted_rand_score(truth, ids[: len(truth)]) >= 0.95
    assert (ids[len(truth):] == -1).all()

    scored = score_frame(data, fit.model, fit.segment_map, fit.centroids, fit.segment_names, fast_cfg)
    odd = scored["person_id"].str.startswith("outlier_")
    assert scored.loc[odd, "segment_id"].isna().all()
    assert scored.loc[odd, ["segment_name", "segment_key"]].isna().all().all()
    assert scored.loc[odd, ["distance", "confidence", "probability"]].isna().all().all()
    assert scored.loc[~odd, "segment_id"].notna().all()
    assert int(fit.profiles["size"].sum()) == len(truth)  # noise is in no segment's size
    assert fit.profiles["share"].sum() == pytest.approx(len(truth) / len(data))


def test_hdbscan_champion_scores_noise_as_unassigned_in_the_warehouse_and_bi(noisy, fast_cfg, tmp_path):
    data, truth = noisy
    db = tmp_path / "wh.duckdb"
    write_profiles(str(db), data)
    cfg = fast_cfg.with_model("sklearn.cluster.HDBSCAN")
    trained = train(db, cfg, "h1", models_dir=tmp_path / "models")
    assert (trained.status, trained.k) == ("champion", 5)
    result = score(db, cfg, "s1")
    assert (result.rows, result.segments, result.unassigned) == (len(data), 5, N_OUTLIERS)
    with duckdb.connect(str(db)) as con:
        k, noise = con.execute("select k, noise_share from segments.model_registry").fetchone()
        assert (k, noise) == (5, pytest.approx(N_OUTLIERS / len(data)))
        unassigned = con.execute("select count(*) from segments.segment_assignments where segment_id is null "
                                 "and segment_name is null and segment_key is null").fetchone()[0]
        assert unassigned == N_OUTLIERS
        assert con.execute("select sum(size) from segments.segment_profiles").fetchone()[0] == len(truth)
        # the BI views over the same tables (segwarehouse.serving.contract): noise is its own count, not a segment
        con.execute(f"create schema if not exists {PUBLIC_PROFILE.split('.')[0]}")
        hmac = ", ".join(f"null::varchar as {c}_hmac" for c in PII_COLUMNS)
        con.execute(f"create table {PUBLIC_PROFILE} as select * exclude ({', '.join(PII_COLUMNS)}), {hmac} "
                    "from validated.dim_user_profile")
        quality_schema.ensure_tables(con)  # the other sources of the views, empty
        experiments_schema.ensure_tables(con)
        for sql in VIEWS_SQL:
            if "view main.dim_user_profile" not in sql:  # the mart here is the table itself
                con.execute(sql)
        rows = con.execute("select count(*), sum(size), min(unassigned_persons), max(unassigned_persons), "
                           "count(*) filter (where segment_key is null) from main.segment_summary").fetchone()
    assert rows == (5, len(truth), N_OUTLIERS, N_OUTLIERS, 0)


def test_gate_rejects_a_model_that_leaves_too_many_persons_unassigned(hdbscan_fit, fast_cfg):
    from ml.registry import evaluate_gates

    metrics = {**hdbscan_fit.metrics, "noise_share": 0.476}
    decision = evaluate_gates(metrics, None, fast_cfg.gates)
    assert not decision.promote
    assert decision.reasons == ["47.6% of persons left unassigned (noise) > 25%"]


def test_mixtures_choose_k_by_bic_others_by_silhouette():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0, 0], [6, 0, 0], [0, 6, 0], [0, 0, 6]], dtype=float)
    Z = np.vstack([rng.normal(c, 1.0, size=(300, 3)) for c in centres])
    k, table = select_k(Z, GaussianMixture(random_state=0), 2, 6, criterion="auto", seed=0)
    assert table["criterion_used"].unique().tolist() == ["bic"]
    assert k == int(table.loc[table["bic"].idxmin(), "k"]) == 4
    _, table = select_k(Z, BayesianGaussianMixture(random_state=0, max_iter=200), 3, 4, criterion="auto", seed=0)
    assert table["criterion_used"].unique().tolist() == ["bic"]
    assert table["bic"].notna().all()
    _, table = select_k(Z, KMeans(n_init=3, random_state=0), 3, 5, criterion="auto", seed=0)
    assert table["criterion_used"].unique().tolist() == ["silhouette"]


def test_bic_of_a_mixture_without_bic_follows_scikit_learns_formula():
    """`mixture_bic` for BayesianGaussianMixture counts parameters as GaussianMixture.bic does."""
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(400, 3))
    for cov in ("full", "diag", "tied", "spherical"):
        gm = GaussianMixture(3, covariance_type=cov, random_state=0).fit(Z)

        class NoBic:  # the same fitted mixture, seen as a model without its own bic()
            covariance_type, means_ = gm.covariance_type, gm.means_
            score, score_samples = gm.score, gm.score_samples

        assert mixture_bic(NoBic(), Z) == pytest.approx(gm.bic(Z))
