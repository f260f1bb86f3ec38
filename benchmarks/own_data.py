"""Seconds per stage for the bring-your-own-data shapes (docs/own-data.md): the three generated shapes of
tests/own_data and the CDNOW purchases, each files -> landing check -> build -> gate -> train -> score ->
publish with the default config, plus the silhouette ratio on standardized log-RFM (ours / plain K-means at
the same k). Writes benchmarks/results/own_data.md.

    .venv/bin/python -m benchmarks.own_data [OUT_DIR]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

RESULTS = Path(__file__).resolve().parent / "results" / "own_data.md"
STAGES = ("landing", "build", "gate", "train", "score", "publish")


def rfm_silhouette_ratio(warehouse: Path, max_rows: int = 8000) -> tuple[float, float, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.execute("""select p.days_since_last_activity, p.frequency, p.monetary, a.segment_id
            from dim_user_profile p join segments.segment_assignments a using (person_id)
            where p.days_since_last_activity is not null  -- nothing dated: no recency to compare""").df()
    X = StandardScaler().fit_transform(np.log1p(frame[["days_since_last_activity", "frequency", "monetary"]]
                                                .clip(lower=0).to_numpy(float)))
    idx = np.random.default_rng(0).choice(len(X), min(max_rows, len(X)), replace=False)
    k = int(frame["segment_id"].nunique())
    ours = silhouette_score(X[idx], frame["segment_id"].to_numpy()[idx])
    plain = silhouette_score(X[idx], KMeans(k, n_init=10, random_state=0).fit_predict(X)[idx])
    return float(ours), float(plain), k


def main(root: Path) -> str:
    from devtools.cdnow import write_landing_zone
    from segwarehouse import pipeline
    from segwarehouse.core.paths import Paths
    from tests.own_data.conftest import HOME, SHAPES, run_shape

    os.environ.setdefault("SEGWAREHOUSE_PII_KEY", "own-data-benchmark-key")
    rows = []
    for name, cfg in SHAPES.items():
        run = run_shape(name, cfg, root / name / "data")
        rows.append((name, run.seconds, run.paths))
    os.environ["SEGWAREHOUSE_REPORTING_CURRENCY"] = "USD"
    paths = Paths(home=HOME, data=root / "cdnow" / "data")
    write_landing_zone(paths.raw)
    seconds = {}
    as_of = "1998-06-30"
    for stage, call in [("landing", lambda: pipeline.check_landing(as_of, paths)),
                        ("build", lambda: pipeline.build_warehouse(as_of, paths)),
                        ("gate", lambda: pipeline.validate_profiles(as_of, "gate_cdnow", paths)),
                        ("profiles", lambda: pipeline.publish_profiles(as_of, "profiles_cdnow", paths)),
                        ("train", lambda: pipeline.retrain_segments("train_cdnow", paths)),
                        ("score", lambda: pipeline.score_segments("score_cdnow", paths)),
                        ("publish", lambda: pipeline.publish_segments("publish_cdnow", paths))]:
        t0 = time.perf_counter()
        call()
        seconds[stage] = round(time.perf_counter() - t0, 2)
    rows.append(("cdnow (real)", seconds, paths))
    lines = ["| shape | profiles | " + " | ".join(STAGES) + " | k | silhouette ours / plain K-means (ratio) |",
             "|---|---|" + "---|" * len(STAGES) + "---|---|"]
    for name, secs, p in rows:
        with duckdb.connect(str(p.warehouse), read_only=True) as con:
            n = con.execute("select count(*) from dim_user_profile").fetchall()[0][0]
        ours, plain, k = rfm_silhouette_ratio(p.warehouse)
        lines.append(f"| {name} | {n:,} | " + " | ".join(f"{secs[s]:.1f}" for s in STAGES)
                     + f" | {k} | {ours:.3f} / {plain:.3f} ({ours / plain:.2f}) |")
    return "\n".join(lines)


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="own_data_"))
    table = main(out)
    load = os.getloadavg()[0]
    RESULTS.write_text(
        "# Bring your own data: seconds per stage (`python -m benchmarks.own_data`)\n\n"
        f"Default config, 2 cores, load average {load:.1f} when the run ended (other jobs shared the machine: "
        "wall-clock seconds). Silhouette on standardized log(1 + recency, frequency, monetary), 8,000 rows.\n\n"
        + table + "\n")
    sys.stdout.write(table + "\n")
