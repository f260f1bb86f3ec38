"""Benchmark (not collected by pytest): train on planted profiles, then score N synthetic persons from a DuckDB file.

    .venv/bin/python -m tests.ml.bench_scoring [N]      # default 1_000_000
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def main(n: int = 1_000_000) -> None:
    from ml.config_loader import load_config
    from ml.score import score
    from ml.train import train

    from .profiles import make_profiles, write_profiles

    tmp = Path(tempfile.mkdtemp(prefix="ml_bench_"))
    db = tmp / "warehouse.duckdb"
    os.environ["SEGWAREHOUSE_MODELS"] = str(tmp / "models")
    t = time.perf_counter()
    base, _ = make_profiles(100_000, seed=3)
    reps = -(-n // len(base))
    frame = pd.concat([base] * reps, ignore_index=True).iloc[:n].copy()
    frame["person_id"] = [f"p_{i:016x}" for i in range(n)]
    write_profiles(str(db), frame)
    del frame, base
    sys.stdout.write(f"wrote {n} profiles in {time.perf_counter() - t:.1f}s\n")
    cfg = load_config()
    trained = train(db, cfg, run_id="bench_train", models_dir=tmp / "models")
    sys.stdout.write(f"train: k={trained.k} promoted={trained.promoted} {trained.seconds:.1f}s "
                     f"silhouette={trained.metrics['silhouette']:.3f}\n")
    for run in ("bench_score_1", "bench_score_2"):
        result = score(db, cfg, run_id=run)
        sys.stdout.write(f"score {run}: {result.rows} rows in {result.seconds:.1f}s "
                         f"({result.rows / result.seconds:,.0f} rows/s), drift alert={result.drift_alert}\n")
    np.testing.assert_equal(result.rows, n)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
