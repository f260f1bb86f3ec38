"""Time the quality gate and publish on N synthetic profiles (not a test: numbers, no assertions on time).

    .venv/bin/python tests/quality/measure_validation.py --rows 1000000

Builds a contract-valid `dim_user_profile` with `profiles.build_warehouse` in a temp folder, runs the
profile suites twice (the second run has a baseline, so the drift checks run too) and publishes once.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import profiles

from segwarehouse.quality.gate import validate_warehouse
from segwarehouse.serving.publish import publish


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        warehouse = profiles.build_warehouse(folder / "wh.duckdb", profile_rows=args.rows)
        print(f"built {args.rows:,} profiles in {time.perf_counter() - t0:.2f}s")
        for run in ("run-1", "run-2"):
            result = validate_warehouse(warehouse, run, folder / "runs", tables=["dim_user_profile"])
            n_exp = sum(len(s.expectations) for s in result.suites)
            print(f"{run}: success={result.success}, {n_exp} expectations, total {result.duration_s:.2f}s")
            for s in result.suites:
                print(f"  {s.suite:<32} {s.n_rows:>9,} rows {s.duration_s:6.2f}s")
        t0 = time.perf_counter()
        published = publish(warehouse, folder / "serving" / "serving.duckdb", ["dim_user_profile"])
        print(
            f"publish: {published.tables} {published.bytes / 1e6:.0f} MB in {time.perf_counter() - t0:.2f}s"
        )


if __name__ == "__main__":
    main()
