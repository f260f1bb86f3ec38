"""`segwarehouse demo`: generate a landing zone and run every pipeline stage on the embedded DuckDB."""

from __future__ import annotations

import shutil
import time

from .generator import GeneratorConfig, generate
from .paths import Paths, get_paths

DEMO_DATA = GeneratorConfig(users=5000, days=90, seed=42)


def run_demo(paths: Paths | None = None, cfg: GeneratorConfig = DEMO_DATA) -> dict:
    """Run the demo from scratch (the demo's data folder is rebuilt) and return a summary."""
    paths = paths or get_paths()
    t0 = time.perf_counter()
    for folder in (paths.raw, paths.truth):
        shutil.rmtree(folder, ignore_errors=True)
    manifest = generate(cfg, paths.raw, paths.truth)
    summary = {"generate": manifest, "seconds": round(time.perf_counter() - t0, 1)}
    return summary


def print_summary(summary: dict, paths: Paths) -> None:
    m = summary["generate"]
    c = m["counts"]
    print("\nsegwarehouse demo")
    print(f"  landing zone  {paths.raw}")
    print(f"    {m['persons']:,} persons, {c['events_rows']:,} events, {c['orders_rows']:,} orders, "
          f"{c['contacts_rows']:,} contact rows over {m['config']['days']} days")
    print(f"  finished in {summary['seconds']} s")
