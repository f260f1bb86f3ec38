"""Spark scoring path (`scoring.engine: spark` in config/ml.yml): the sklearn champion scores a Spark
DataFrame of profiles with `mapInPandas`, one pandas batch per Arrow batch on the executors, through the
same `score_frame` as the pandas path, so both engines assign identical segments. Needs the `spark` extra."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from .config import MLConfig
from .features import feature_completeness
from .frame_scoring import score_frame
from .models import input_columns

SCORE_SCHEMA = ("{id} string, segment_id int, segment_name string, probability double, distance double, "
                "confidence double, feature_completeness double, segment_key string")


def score_spark(profiles: Any, model: Pipeline, segment_map: dict[int, int], centroids: dict[int, list[float]],
                segment_names: dict[int, str], cfg: MLConfig, segment_keys: dict[int, str] | None = None) -> Any:
    """A Spark DataFrame with score_frame's columns for every row of `profiles` (a Spark DataFrame with the
    id column and the model's features). The model travels to the executors inside the closure."""
    id_col = cfg.input.id_column
    columns = list(dict.fromkeys([id_col, *cfg.features.all, *input_columns(model, cfg.features.all)]))

    def _score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            if batch.empty:
                continue
            batch = batch.copy()
            batch[id_col] = batch[id_col].astype(str)
            batch["feature_completeness"] = feature_completeness(batch, cfg)
            yield score_frame(batch, model, segment_map, centroids, segment_names, cfg, segment_keys)

    return profiles.select(*columns).mapInPandas(_score, schema=SCORE_SCHEMA.format(id=id_col))


def score_pandas_on_spark(frame: pd.DataFrame, model: Pipeline, segment_map: dict[int, int],
                          centroids: dict[int, list[float]], segment_names: dict[int, str], cfg: MLConfig,
                          segment_keys: dict[int, str] | None = None, spark: Any | None = None) -> pd.DataFrame:
    """score_frame's result for a pandas chunk, computed by Spark (the pipeline's `scoring.engine: spark`
    when the profiles come from the DuckDB warehouse); rows come back in the chunk's order."""
    spark = spark or get_spark()
    id_col = cfg.input.id_column
    columns = list(dict.fromkeys([id_col, *cfg.features.all, *input_columns(model, cfg.features.all)]))
    chunk = frame[columns].copy()
    chunk[id_col] = chunk[id_col].astype(str)
    scored = score_spark(spark.createDataFrame(chunk), model, segment_map, centroids, segment_names, cfg,
                         segment_keys).toPandas()
    out = chunk[[id_col]].merge(scored, on=id_col, how="left", validate="one_to_one")
    out[id_col] = frame[id_col].to_numpy()
    out["segment_id"] = out["segment_id"].astype("Int32")
    return out


def get_spark(master: str | None = None) -> Any:
    """The active SparkSession, or a small local one (SEGWAREHOUSE_SPARK_MASTER, default local[2])."""
    import os
    import sys

    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    # python workers run this interpreter (the one with sklearn and the model's packages); a local
    # SparkContext reads PYSPARK_PYTHON, spark-submit the spark.pyspark.python setting
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return (SparkSession.builder
            .master(master or os.environ.get("SEGWAREHOUSE_SPARK_MASTER", "local[2]"))
            .appName("segwarehouse-scoring")
            .config("spark.driver.memory", os.environ.get("SEGWAREHOUSE_SPARK_DRIVER_MEMORY", "2g"))
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.ui.enabled", "false")
            .config("spark.pyspark.python", os.environ["PYSPARK_PYTHON"])
            .getOrCreate())
