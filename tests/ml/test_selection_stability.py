from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from ml.selection import knee_point, select_k
from ml.stability import bootstrap_stability, classify_stability


def test_k_selection_records_every_candidate_and_picks_planted_k(trained, cfg):
    table = trained.candidates
    assert table["k"].tolist() == list(range(cfg.selection.k_min, cfg.selection.k_max + 1))
    assert table[["silhouette", "inertia"]].notna().all().all()
    assert table["selected"].sum() == 1
    assert table.loc[table["selected"], "k"].item() == 5


def test_bic_selection_for_mixtures():
    from sklearn.mixture import GaussianMixture

    X, _ = make_blobs(600, centers=4, cluster_std=0.6, random_state=0)
    k, table = select_k(X, GaussianMixture(random_state=0), 2, 6, criterion="bic", seed=0)
    assert k == 4
    assert table["bic"].notna().all()
    assert table["inertia"].isna().all()


def test_knee_point():
    ks = [1, 2, 3, 4, 5, 6, 7]
    inertia = [1000, 500, 200, 170, 150, 135, 125]
    assert knee_point(ks, inertia) == 3
    assert knee_point([1, 2, 3], [3, 2, 1]) is None  # a straight line has no knee


def test_classify_stability_thresholds():
    assert classify_stability(0.8) == "stable"
    assert classify_stability(0.75) == "stable"
    assert classify_stability(0.7) == "doubtful"
    assert classify_stability(0.59) == "unstable"


def test_stability_separates_real_clusters_from_noise():
    blobs, _ = make_blobs(1500, centers=4, n_features=5, cluster_std=0.5, random_state=0)
    noise = np.random.default_rng(0).uniform(size=(1500, 5))
    km = KMeans(4, n_init=1, random_state=0)
    stable = bootstrap_stability(blobs, km, n_bootstrap=8, sample_rows=1500, seed=0)
    noisy = bootstrap_stability(noise, KMeans(8, n_init=1, random_state=0), n_bootstrap=8, sample_rows=1500, seed=0)
    assert (stable.segments["status"] == "stable").all()
    assert stable.ari_median > 0.95
    print("noise segments:", noisy.segments[["mean_jaccard", "status"]].round(2).to_dict("records"))
    assert (noisy.segments["status"] != "stable").any()
    assert noisy.ari_median < 0.7


def test_trained_model_reports_stability_per_segment(trained):
    st = trained.stability
    assert sorted(st["segment_id"]) == sorted(trained.segment_names)
    assert (st["status"] == "stable").all()


def test_an_unstable_preferred_k_falls_back_to_the_best_stable_one():
    """Three Gaussian blobs in 4-D, k=6 preferred: splitting a round blob has no right answer, so those
    segments dissolve under bootstrap refits (Jaccard < 0.6); the choice moves down the silhouette order
    (6, 5, 3, 4) past the unstable k=5 to k=3, whose segments all hold."""
    import pandas as pd

    from ml.config_loader import load_config
    from ml.models import build_segmenter
    from ml.stability import bootstrap_stability
    from ml.train import _choose_stable_k

    Z = np.vstack([np.random.default_rng(i).normal(c, 0.5, size=(500, 4)) for i, c in enumerate((0, 5, 10))])
    cfg = load_config()
    base = build_segmenter(cfg.model, cfg)
    candidates = pd.DataFrame({"k": [3, 4, 5, 6], "silhouette": [0.8, 0.4, 0.85, 0.9]})
    st = cfg.stability

    for unstable_k in (6, 5):
        m = base.set_params(n_clusters=unstable_k).fit(Z)
        assert bootstrap_stability(Z, m, n_bootstrap=st.n_bootstrap, sample_rows=st.sample_rows, seed=cfg.seed,
                                   reference_labels=m.predict(Z)).min_jaccard < st.unstable_jaccard
    k, segmenter, labels, stab = _choose_stable_k(Z, build_segmenter(cfg.model, cfg), 6, candidates, cfg)
    assert k == 3
    assert stab.min_jaccard >= st.unstable_jaccard
    assert len(np.unique(labels)) == 3
    assert segmenter.n_clusters == 3


def test_when_no_k_is_stable_the_preferred_one_is_kept_for_the_gate_to_reject():
    import pandas as pd

    from ml.config_loader import load_config
    from ml.models import build_segmenter
    from ml.train import _choose_stable_k

    Z = np.random.default_rng(5).uniform(size=(1200, 2))  # no structure: several k, none trustworthy
    cfg = load_config()
    cfg = cfg.replace(stability={"unstable_jaccard": 0.99, "stable_jaccard": 0.995})
    candidates = pd.DataFrame({"k": [5, 6], "silhouette": [0.3, 0.35]})
    k, _, _, stab = _choose_stable_k(Z, build_segmenter(cfg.model, cfg), 6, candidates, cfg)
    assert k == 6
    assert stab.min_jaccard < 0.99
