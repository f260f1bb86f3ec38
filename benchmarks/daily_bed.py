"""A test bed for the daily run at scale: A/B a change on the same warehouse, one incremental day at a time.

`prepare` hard-links a finished landing zone (e.g. a bench run's `u1000000_d180/raw`; it is only read) without
its last day, builds it in full as of the day before and keeps that warehouse as the base; then it links the
last day in. `run` copies the base afresh and times the last day's `segwarehouse build` (CPU of the whole
process tree, wall, peak RSS, load, the build's dbt and matching seconds and its slowest nodes), so every
variant starts from the same state. `--home` points at the checkout whose dbt project is built.

    python -m benchmarks.daily_bed prepare --landing /tmp/bench/u1000000_d180/raw --work /tmp/bed
    python -m benchmarks.daily_bed run --work /tmp/bed --label main --home /path/to/main-checkout
    python -m benchmarks.daily_bed run --work /tmp/bed --label change

The base and the run's copy are each the size of the warehouse (2.7 GB at 1M persons x 180 days).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from .measure import run_measured
from .run import slowest_dbt_nodes

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "segwarehouse.cli.main"]


def _partitions(raw: Path) -> dict[date, list[Path]]:
    """Every `date=YYYY-MM-DD` partition folder of the landing zone, by day."""
    days: dict[date, list[Path]] = {}
    for folder in raw.glob("*/*/date=*"):
        days.setdefault(date.fromisoformat(folder.name.removeprefix("date=")), []).append(folder)
    if not days:
        raise SystemExit(f"no date=YYYY-MM-DD partitions under {raw}")
    return days


def _env(work: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SEGWAREHOUSE_DUCKDB", "SEGWAREHOUSE_SERVING",
                                                          "SEGWAREHOUSE_MODELS")}
    env.update({"SEGWAREHOUSE_DATA": str(work / "data"), "SEGWAREHOUSE_RAW": str(work / "raw"),
                "SEGWAREHOUSE_HOME": str(home), "SEGWAREHOUSE_TASK_RETRIES": "0",
                "SEGWAREHOUSE_PII_KEY": env.get("SEGWAREHOUSE_PII_KEY", "benchmark-only-key")})
    return env


def _build(work: Path, home: Path, day: date, name: str) -> dict:
    m = run_measured(name, [*CLI, "build", "--date", day.isoformat()], env=_env(work, home))
    summary = json.loads(m.output[m.output.rindex("\n{\n") + 1:])  # the build's summary, printed last
    return {**m.as_dict(), "as_of_date": day.isoformat(), "full_refresh": summary["full_refresh"],
            "dbt_seconds": summary["seconds"], "matching_seconds": (summary.get("matching") or {}).get("seconds"),
            "slowest": slowest_dbt_nodes(m.output)}


def prepare(landing: Path, work: Path, home: Path) -> dict:
    """Link the landing zone without its last day, build it in full, keep the base, link the last day in."""
    raw = work / "raw"
    if raw.exists():
        raise SystemExit(f"{raw} exists: prepare a new work folder")
    shutil.copytree(landing, raw, copy_function=os.link)  # hard links: nothing is written into `landing`
    days = _partitions(raw)
    last = max(days)
    held = work / "last_day"
    for folder in days[last]:
        target = held / folder.relative_to(raw)
        target.parent.mkdir(parents=True, exist_ok=True)
        folder.rename(target)
    full = _build(work, home, last - timedelta(days=1), "full build")
    shutil.copytree(work / "data", work / "base")
    for folder in held.glob("*/*/date=*"):
        folder.rename(raw / folder.relative_to(held))
    shutil.rmtree(held)
    (work / "bed.json").write_text(json.dumps({"last_day": last.isoformat(), "full_build": full}, indent=2))
    return full


def run(work: Path, label: str, home: Path) -> dict:
    """The last day's build on a fresh copy of the base warehouse; the result is kept as runs/<label>.json."""
    bed = json.loads((work / "bed.json").read_text())
    shutil.rmtree(work / "data", ignore_errors=True)
    shutil.copytree(work / "base", work / "data")
    # untimed: dbt's parse cache for `home` (run_dbt drops a cache another checkout wrote), as a deployment has it
    subprocess.run([sys.executable, "-c", "from segwarehouse.warehouse.dbt import run_dbt; run_dbt(['parse'])"],
                   env=_env(work, home), check=True, capture_output=True)
    result = {"label": label, "home": str(home), **_build(work, home, date.fromisoformat(bed["last_day"]), label)}
    result["daily_over_full_cpu"] = round(result["cpu_seconds"] / bed["full_build"]["cpu_seconds"], 3)
    (work / "runs").mkdir(exist_ok=True)
    (work / "runs" / f"{label}.json").write_text(json.dumps(result, indent=2))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--landing", type=Path, required=True, help="a finished landing zone (read only)")
    r = sub.add_parser("run")
    r.add_argument("--label", required=True)
    for s in (p, r):
        s.add_argument("--work", type=Path, required=True)
        s.add_argument("--home", type=Path, default=ROOT, help="the checkout whose dbt project is built")
    args = parser.parse_args()
    if args.command == "prepare":
        out = prepare(args.landing.resolve(), args.work.resolve(), args.home.resolve())
    else:
        out = run(args.work.resolve(), args.label, args.home.resolve())
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
