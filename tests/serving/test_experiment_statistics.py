"""Statistics on the real test warehouse: A/A experiments show significant lifts at the expected rate only,
and a sample-ratio mismatch is flagged (the statistics themselves come from statsmodels / scipy)."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest

from segwarehouse.experiments.config import ExperimentsConfig
from segwarehouse.experiments.refresh import measure, refresh
from segwarehouse.experiments.statistics import compare_rates, sample_ratio_p

from .conftest import Served, private_paths

N_AA = 40


@pytest.fixture(scope="module")
def aa(served: Served, tmp_path_factory):
    """40 retrospective A/A experiments (different salts) over every scored person, two binary metrics."""
    paths = private_paths(served.paths, tmp_path_factory.mktemp("aa"))
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        as_of = con.execute("select max(as_of_date) from main.dim_user_profile").fetchone()[0]
    start = as_of - timedelta(days=21)
    cfg = ExperimentsConfig.model_validate({"experiments": [{
        "name": f"aa_{i:02d}", "start_date": start, "end_date": start, "retrospective": True,
        "targets": {"model_segments": "all"},
        "variants": [{"name": "a", "share": 0.5, "control": True}, {"name": "b", "share": 0.5}],
        "primary_metric": {"name": "purchase_14d", "kind": "purchase", "window_days": 14},
        "guardrail_metrics": [{"name": "visit_7d", "kind": "visit", "window_days": 7}],
    } for i in range(N_AA)]})
    summary = refresh(paths.warehouse, cfg, "aa-run")
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        results = con.execute("select * from experiments.results where variant = 'b'").df()
    return paths, cfg, summary, results


def test_aa_experiments_show_significant_lifts_at_the_expected_rate_only(aa):
    _, _, summary, results = aa
    assert len(summary["experiments"]) == N_AA
    readable = results[results["conversions"] > 0]
    assert len(readable) >= N_AA * 4  # per experiment: the segments and the pooled row, two metrics
    excludes_zero = ((readable["abs_lift_ci_low"] > 0) | (readable["abs_lift_ci_high"] < 0)).mean()
    raw_significant = (readable["p_value"] < 0.05).mean()
    print(f"A/A: {len(readable)} comparisons, 95 % interval excludes 0 in {excludes_zero:.1%}, "
          f"p < 0.05 in {raw_significant:.1%}")
    assert excludes_zero <= 0.09  # 5 % expected; binomial sd over ~300 correlated comparisons is ~1.3 %
    assert raw_significant <= 0.09
    # after Holm within each experiment and metric, an A/A experiment is rarely "significant" anywhere
    any_significant = results.groupby(["experiment", "metric"])["is_significant"].any().mean()
    assert any_significant <= 0.1
    assert not results["is_srm"].any()


def test_a_sample_ratio_mismatch_is_flagged(aa):
    paths, cfg, _, _ = aa
    experiment = cfg.get("aa_00")
    with duckdb.connect(str(paths.warehouse)) as con:
        # a broken hand-off: a fifth of arm b never made it into the assignment table
        con.execute("delete from experiments.assignments where experiment = 'aa_00' and variant = 'b' "
                    "and bucket > 0.9")
        today = con.execute("select max(as_of_date) from main.dim_user_profile").fetchone()[0]
        results = measure(con, experiment, cfg, today)
    pooled = results[(results["segment_type"] == "all")]
    assert pooled["is_srm"].all()
    assert pooled["srm_p_value"].max() < 0.001
    assert all("sample ratio mismatch" in w for w in pooled["warnings"])


def test_srm_and_lift_numbers():
    assert sample_ratio_p([5000, 5000], [0.5, 0.5]) == pytest.approx(1.0)
    assert sample_ratio_p([5000, 4700], [0.5, 0.5]) < 0.01
    assert sample_ratio_p([1000, 4500, 4500], [0.1, 0.45, 0.45]) > 0.5
    assert sample_ratio_p([1300, 4350, 4350], [0.1, 0.45, 0.45]) < 1e-10
    c = compare_rates(300, 2000, 200, 2000, alpha=0.05)
    assert c.abs_lift == pytest.approx(0.05)
    assert c.abs_ci[0] < 0.05 < c.abs_ci[1]
    assert c.abs_ci[0] > 0
    assert c.p_value < 0.001
    assert c.rel_lift == pytest.approx(0.5)
    assert c.rel_ci[0] < 0.5 < c.rel_ci[1]
    none = compare_rates(0, 500, 0, 500, alpha=0.05)  # no conversions anywhere: an interval around 0, no evidence
    assert none.abs_ci[0] < 0 < none.abs_ci[1]
    assert none.p_value == 1.0
    assert none.rel_lift is None
