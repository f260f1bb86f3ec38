"""ML Spark path: the sklearn champion scored with mapInPandas on a local Spark equals score_frame."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.config_loader import load_config
from ml.frame_scoring import score_frame
from ml.train import train_segmentation

from .profiles import make_profiles

pytestmark = [pytest.mark.spark]


@pytest.fixture(scope="module")
def spark():
    try:
        from ml.spark_score import get_spark
    except ImportError as exc:  # pragma: no cover - depends on the install
        pytest.skip(f"spark extra missing: {exc}")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        if os.environ.get("SEGWAREHOUSE_REQUIRE_SPARK") == "1":
            pytest.fail("no Java runtime for Spark")
        pytest.skip("no Java runtime for Spark")
    session = get_spark("local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def fitted():
    cfg = load_config().replace(stability={"n_bootstrap": 2, "sample_rows": 800},
                                selection={"k_min": 4, "k_max": 5})
    frame, _ = make_profiles(1500, seed=3)
    return cfg, frame, train_segmentation(frame, cfg)


@pytest.mark.parametrize("model", ["kmeans", "gmm"])
def test_spark_scoring_equals_sklearn(spark, fitted, model):
    from ml.spark_score import score_pandas_on_spark, score_spark

    cfg, frame, fit = fitted
    if model == "gmm":
        cfg = cfg.with_model("gmm", {"covariance_type": "diag"})
        fit = train_segmentation(frame, cfg)
    args = (fit.model, fit.segment_map, fit.centroids, fit.segment_names, cfg)
    expected = score_frame(frame, *args)

    # a Spark DataFrame of profiles (the scale-out case) ...
    sdf = spark.createDataFrame(frame[[cfg.input.id_column, *cfg.features.all]].astype(
        {cfg.input.id_column: str}).replace({np.nan: None}))
    on_spark = score_spark(sdf.repartition(3), *args).toPandas()
    got = on_spark.set_index(cfg.input.id_column).loc[expected[cfg.input.id_column].astype(str)].reset_index()
    # ... and the pipeline's `scoring.engine: spark` over a pandas chunk
    via_chunk = score_pandas_on_spark(frame, *args, spark=spark)

    for result in (got, via_chunk):
        assert len(result) == len(expected) == 1500
        assert (result["segment_id"].to_numpy() == expected["segment_id"].to_numpy()).all()
        assert (result["segment_name"].to_numpy() == expected["segment_name"].to_numpy()).all()
        for col in ("probability", "distance", "confidence", "feature_completeness"):
            np.testing.assert_allclose(result[col].astype(float), expected[col].astype(float),
                                       rtol=1e-9, atol=1e-12, equal_nan=True)
    assert pd.Series(expected["segment_id"]).nunique() >= 4


def test_scoring_engine_spark_by_config_writes_the_same_assignments(spark, tmp_path, monkeypatch):
    """`scoring.engine: spark` through the whole scoring run (DuckDB in, DuckDB out) = the pandas engine."""
    import duckdb

    from ml.score import score_from_warehouse
    from ml.train import train_from_warehouse
    from segwarehouse.core.paths import Paths

    from .profiles import write_profiles

    monkeypatch.setenv("SEGWAREHOUSE_DUCKDB", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("SEGWAREHOUSE_MODELS", str(tmp_path / "models"))
    paths = Paths(home=Path(__file__).resolve().parents[2], data=tmp_path)
    cfg = load_config().replace(stability={"n_bootstrap": 2, "sample_rows": 800}, selection={"k_min": 5, "k_max": 5})
    frame, _ = make_profiles(1200, seed=5)
    write_profiles(str(paths.warehouse), frame)
    assert train_from_warehouse("run_1", config=cfg, paths=paths)["promoted"]

    query = "select person_id, segment_id, segment_name, distance, confidence from segments.segment_assignments order by 1"
    on_pandas = score_from_warehouse("run_pandas", config=cfg, paths=paths)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        expected = con.execute(query).df()
    on_spark = score_from_warehouse("run_spark", config=cfg.replace(scoring={"engine": "spark"}), paths=paths)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        got = con.execute(query).df()
    assert on_spark["rows"] == on_pandas["rows"] == 1200
    assert got["person_id"].tolist() == expected["person_id"].tolist()
    assert got["segment_id"].tolist() == expected["segment_id"].tolist()
    assert got["segment_name"].tolist() == expected["segment_name"].tolist()
    np.testing.assert_allclose(got["distance"], expected["distance"], rtol=1e-9)
    np.testing.assert_allclose(got["confidence"], expected["confidence"], rtol=1e-9, equal_nan=True)


def test_unknown_scoring_engine_is_rejected():
    with pytest.raises(ValueError, match=r"scoring\.engine"):
        load_config().replace(scoring={"engine": "flink"})
