"""`make bench`: speed, memory and incremental cost of every stage at given scales.

Each stage runs as its own process (the CLI the DAG tasks share), measured for wall time and the peak RSS of
its whole process tree. Results go to benchmarks/results/latest.json and latest.md.

    python -m benchmarks.run --users 100000 1000000 --days 180 --events-per-user 20
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import psutil

from .measure import Measurement, median_of, run_measured

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "segwarehouse.cli.main"]


def _env(data: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"SEGWAREHOUSE_DATA": str(data), "SEGWAREHOUSE_HOME": str(ROOT), "SEGWAREHOUSE_TASK_RETRIES": "0",
                "SEGWAREHOUSE_PII_KEY": env.get("SEGWAREHOUSE_PII_KEY", "benchmark-only-key")})
    for key in ("SEGWAREHOUSE_RAW", "SEGWAREHOUSE_DUCKDB", "SEGWAREHOUSE_SERVING", "SEGWAREHOUSE_MODELS"):
        env.pop(key, None)
    return env


def _rows(db: Path, table: str) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(f"select count(*) from {table}").fetchone()[0]


def _reusable(data: Path, users: int, days: int, events_per_user: float) -> bool:
    """True when `data` holds a landing zone generated with exactly these settings (seed 1)."""
    try:
        cfg = json.loads((data / "truth" / "manifest.json").read_text())["config"]
    except (OSError, KeyError, ValueError):
        return False
    return (cfg.get("users"), cfg.get("days"), cfg.get("seed"), float(cfg.get("events_per_user", -1))) == (
        users, days, 1, float(events_per_user))


def _runs_text(runs: list[float]) -> str:
    return " / ".join(f"{r:.1f}" for r in runs)


def _copy_warehouse(src: Path, dst: Path) -> None:
    """Replace `dst` with a copy of the warehouse folder `src` (written to disk before the next stage runs)."""
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    os.sync()


def bench_scale(users: int, days: int, events_per_user: float, work: Path, with_airflow: bool,
                reuse_data: bool = False, repeat: int = 3) -> dict:
    data = work / f"u{users}_d{days}"
    reuse = reuse_data and _reusable(data, users, days, events_per_user)
    if reuse:  # keep raw + truth, drop everything built from them
        for child in data.iterdir():
            if child.name not in ("raw", "truth"):
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    else:
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
    env = _env(data)
    start = date(2026, 1, 1)
    end = start + timedelta(days=days - 1)
    results: list[Measurement] = []

    slowest: dict[str, list[dict]] = {}

    def stage(name: str, args: list[str], rows: int | None = None, repeated: bool = False, restore: bool = False
              ) -> Measurement:
        """Run a stage once, or `repeat` times keeping the median run (`repeated`); `restore`: every run starts
        from the warehouse the first one found (a stage that changes what its next run would do: a daily build,
        the gate, train)."""
        n_runs = repeat if repeated else 1
        snapshot = data / "warehouse.bench_snapshot"
        if restore and n_runs > 1:
            _copy_warehouse(data / "warehouse", snapshot)
        runs = []
        for i in range(n_runs):
            if i and restore:
                _copy_warehouse(snapshot, data / "warehouse")
            runs.append(run_measured(name, [*CLI, *args], env=env))
        shutil.rmtree(snapshot, ignore_errors=True)
        m = median_of(runs)
        m.rows = rows
        results.append(m)
        if args[0] == "build":
            slowest[name] = slowest_dbt_nodes(m.output)
        print(f"  {name:<32} {m.seconds:8.1f} s  {m.cpu_seconds:8.1f} cpu-s  {m.peak_rss_mb:8.0f} MB  "
              f"load {m.load_avg:.1f}" + (f"  runs {_runs_text(m.runs)}" if m.runs else ""), flush=True)
        return m

    if reuse:
        print(f"  {'generate':<32} reused {data / 'raw'}", flush=True)
    else:
        gen = stage("generate", ["generate", "--users", str(users), "--days", str(days), "--seed", "1",
                                 "--events-per-user", str(events_per_user)])
    manifest = json.loads((data / "truth" / "manifest.json").read_text())
    n_events = manifest["counts"]["events_rows"]
    if not reuse:
        gen.rows = n_events

    glob = data / "raw" / "web" / "events" / "*" / "*.jsonl"
    lower = run_measured("lower bound: DuckDB aggregation over raw events", [sys.executable, "-c", (
        "import duckdb; c = duckdb.connect(); c.execute(\"SET threads = 2\"); print(c.execute(\"select event_type, "
        f"count(*), count(distinct anonymous_id) from read_json('{glob}', format='newline_delimited', "
        "ignore_errors=true, columns={event_type: 'VARCHAR', anonymous_id: 'VARCHAR'}) group by 1\").fetchall())")],
        env=env)
    lower.rows = n_events
    results.append(lower)
    print(f"  {lower.name:<32} {lower.seconds:8.1f} s", flush=True)

    # history growth: incremental day after 1/5 of the history, and after all of it
    early = start + timedelta(days=max(days // 5, 8) - 1)
    stage("dbt full build (1/5 history)", ["build", "--date", (early - timedelta(days=1)).isoformat()])
    stage("dbt incremental day (1/5 history)", ["build", "--date", early.isoformat()], repeated=True, restore=True)
    shutil.rmtree(data / "warehouse")
    full = stage("dbt full build", ["build", "--date", (end - timedelta(days=1)).isoformat()], rows=n_events)
    warehouse = data / "warehouse" / "segwarehouse.duckdb"
    # the first gate validates the whole event history; a daily one the day's load (and every profile)
    stage("GE gate, first run (whole event history)",
          ["gate", "--date", (end - timedelta(days=1)).isoformat(), "--run-id", "bench_gate_first"], rows=n_events)
    inc = stage("dbt incremental day", ["build", "--date", end.isoformat()], repeated=True, restore=True)
    persons = _rows(warehouse, "main.dim_user_profile")
    stage("GE gate", ["gate", "--date", end.isoformat(), "--run-id", "bench_gate"], rows=persons, repeated=True,
          restore=True)
    stage("publish validated profiles", ["publish"], rows=persons)  # the snapshot training and scoring read
    stage("train (k selection on a sample)", ["train", "--run-id", "bench_train"], rows=persons, repeated=True,
          restore=True)
    # scoring replaces its run's rows, the report and the published copy are rewritten: no restore needed
    stage("score everyone", ["score", "--run-id", "bench_score"], rows=persons, repeated=True)
    stage("segment report (HTML)", ["report", "--run-id", "bench_score"], rows=persons, repeated=True)
    stage("publish", ["publish"], rows=persons, repeated=True)

    if with_airflow:
        code = ("from devtools.airflow_runner import run_dag\n"
                f"for dag in ('warehouse_daily', 'segments_retrain', 'segments_score'): run_dag(dag, '{end}')")
        shutil.rmtree(data / "warehouse")
        shutil.rmtree(data / "serving", ignore_errors=True)
        shutil.rmtree(data / "models", ignore_errors=True)
        e2e = run_measured("end to end through Airflow", [sys.executable, "-c", code], env=env)
        e2e.rows = n_events
        results.append(e2e)
        print(f"  {e2e.name:<32} {e2e.seconds:8.1f} s  {e2e.peak_rss_mb:8.0f} MB", flush=True)

    by = {m.name: m for m in results}
    checks = {
        "dbt full build <= 60 s": full.seconds <= 60,
        "dbt build <= 5x lower-bound aggregation": full.seconds <= 5 * lower.seconds,
        "incremental day <= 15% of full build": inc.seconds <= 0.15 * full.seconds,
        "incremental grows <= 25% for 5x history":
            inc.seconds <= 1.25 * by["dbt incremental day (1/5 history)"].seconds,
        "train <= 60 s": by["train (k selection on a sample)"].seconds <= 60,
        "score <= 10 s": by["score everyone"].seconds <= 10,
        "GE gate <= 15 s": by["GE gate"].seconds <= 15,
        "peak memory <= 8 GiB": max(m.peak_rss_mb for m in results) <= 8192,
    }
    if with_airflow:
        checks["whole pipeline incl. Airflow <= 5 min"] = by["end to end through Airflow"].seconds <= 300
    return {"users": users, "days": days, "events": n_events, "persons": persons, "data_reused": reuse, "repeat": repeat,
            "stages": [m.as_dict() for m in results], "slowest_dbt_nodes": slowest, "targets": checks}


def slowest_dbt_nodes(cli_output: str) -> list[dict]:
    """The slowest dbt nodes of a `segwarehouse build` run, from the JSON summary it prints last."""
    start = cli_output.rfind("\n{\n")
    try:
        summary = json.loads(cli_output[start + 1:] if start >= 0 else cli_output)
    except ValueError:
        return []
    return [{"name": n["name"], "type": n["type"], "seconds": n["seconds"]} for n in summary.get("slowest", [])]


def machine() -> dict:
    return {"cpus": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "duckdb": duckdb.__version__}


def to_markdown(report: dict) -> str:
    m = report["machine"]
    lines = [f"Machine: {m['cpus']} CPUs, {m['memory_gib']} GiB RAM, {m['platform']}, Python {m['python']}, "
             f"DuckDB {m['duckdb']}", ""]
    for scale in report["scales"]:
        lines += [f"### {scale['users']:,} users, {scale['days']} days, {scale['events']:,} events "
                  f"→ {scale['persons']:,} profiles", "",
                  *([f"Stages with runs listed ran {scale['repeat']} times: wall s, CPU s and load are those of "
                     "the median run, peak RSS the largest of all runs.", ""] if scale.get("repeat", 1) > 1 else []),
                  "| stage | wall s | CPU s | rows/s | peak RSS MB | load avg | runs (wall s) |",
                  "|---|---:|---:|---:|---:|---:|---|"]
        for s in scale["stages"]:
            rps = f"{s['rows_per_s']:,}" if s["rows_per_s"] else ""
            cpu = "" if s.get("cpu_seconds") is None else f"{s['cpu_seconds']:.1f}"
            load = "" if s.get("load_avg") is None else f"{s['load_avg']:.1f}"
            runs = _runs_text(s["runs"]) if s.get("runs") else ""
            lines.append(f"| {s['stage']} | {s['seconds']:.1f} | {cpu} | {rps} | {s['peak_rss_mb']:,} | {load} "
                         f"| {runs} |")
        if scale.get("data_reused"):
            lines.append("| generate | (landing zone reused) | | | | | |")
        if scale.get("slowest_dbt_nodes"):
            lines += ["", "Slowest dbt nodes per build:", ""]
            for name, nodes in scale["slowest_dbt_nodes"].items():
                lines.append(f"- {name}: " + ", ".join(f"{n['name']} {n['seconds']:.1f} s" for n in nodes))
        lines += ["", "| target | met |", "|---|---|"]
        lines += [f"| {k} | {'yes' if v else '**no**'} |" for k, v in scale["targets"].items()]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[100_000])
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--events-per-user", type=float, default=20.0)
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench")
    parser.add_argument("--no-airflow", action="store_true", help="skip the end-to-end run through Airflow")
    parser.add_argument("--reuse-data", action="store_true",
                        help="keep an existing landing zone generated with the same settings (skips generate)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each short stage (daily builds, gate, train, score, report, publish); the "
                             "median is reported (default 3)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    report = {"machine": machine(), "scales": []}
    for users in args.users:
        print(f"scale: {users:,} users x {args.days} days", flush=True)
        report["scales"].append(bench_scale(users, args.days, args.events_per_user, args.work, not args.no_airflow,
                                            args.reuse_data, args.repeat))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(report, indent=2))
    (args.out / "latest.md").write_text(to_markdown(report))
    print(to_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
