"""Child process for test_bi_access: republish the serving file in a loop until a stop file appears.

usage: python publish_loop.py HOME DATA WAREHOUSE_A WAREHOUSE_B STOP_FILE RESULT_JSON
Alternates the source warehouse between A and B (different person counts), so a reader can tell the
snapshots apart. Writes {"publishes": n, "seconds": [...], "error": str | None} to RESULT_JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main(home: str, data: str, warehouse_a: str, warehouse_b: str, stop_file: str, result: str) -> None:
    from segwarehouse.core.paths import Paths
    from segwarehouse.pipeline import publish_serving

    paths = Paths(home=Path(home), data=Path(data))
    seconds: list[float] = []
    error = None
    try:
        while not Path(stop_file).exists() and len(seconds) < 500:
            os.environ["SEGWAREHOUSE_DUCKDB"] = warehouse_a if len(seconds) % 2 else warehouse_b
            started = time.perf_counter()
            publish_serving(paths)
            seconds.append(time.perf_counter() - started)
    except Exception as exc:  # reported to the test, which fails on it
        error = f"{type(exc).__name__}: {exc}"
    Path(result).write_text(json.dumps({"publishes": len(seconds), "seconds": seconds, "error": error}))


if __name__ == "__main__":
    main(*sys.argv[1:7])
