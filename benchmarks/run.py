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


def _last_matching(db: Path) -> dict | None:
    """The last probabilistic matching step's log row (identity.match_runs): inside the build it ran in."""
    with duckdb.connect(str(db), read_only=True) as con:
        if not con.execute("select count(*) from information_schema.tables where table_schema = 'identity' "
                           "and table_name = 'match_runs'").fetchone()[0]:
            return None
        cur = con.execute("select mode, contacts, eligible, delta, scored_pairs, links, seconds "
                          "from identity.match_runs order by run_at desc limit 1")
        row = cur.fetchone()
        return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None


def _reusable(data: Path, users: int, days: int, events_per_user: float, everyone_from_day_one: bool = False) -> bool:
    """True when `data` holds a landing zone generated with exactly these settings (seed 1)."""
    try:
        cfg = json.loads((data / "truth" / "manifest.json").read_text())["config"]
    except (OSError, KeyError, ValueError):
        return False
    return (cfg.get("users"), cfg.get("days"), cfg.get("seed"), float(cfg.get("events_per_user", -1)),
            bool(cfg.get("everyone_from_day_one"))) == (users, days, 1, float(events_per_user), everyone_from_day_one)


def _runs_text(runs: list[float]) -> str:
    return " / ".join(f"{r:.1f}" for r in runs)


def _copy_warehouse(src: Path, dst: Path) -> None:
    """Replace `dst` with a copy of the warehouse folder `src` (written to disk before the next stage runs)."""
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    os.sync()


def bench_scale(users: int, days: int, events_per_user: float, work: Path, with_airflow: bool,
                reuse_data: bool = False, repeat: int = 3, constant_population: bool = True) -> dict:
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

    def reference(name: str, args: list[str], rows: int | None = None) -> Measurement:
        """A reference measurement (benchmarks/references.py): the plainest way to do a stage's core work."""
        m = run_measured(name, [sys.executable, "-m", "benchmarks.references", *args],
                         env={**env, "PYTHONPATH": str(ROOT)})
        m.rows = rows
        results.append(m)
        print(f"  {name:<32} {m.seconds:8.1f} s  {m.cpu_seconds:8.1f} cpu-s  {m.peak_rss_mb:8.0f} MB", flush=True)
        return m

    reference("reference: raw load (DuckDB parses every landing line)", ["raw-load", "--raw", str(data / "raw")],
              n_events)

    # history growth: incremental day after 1/5 of the history, and after all of it
    early = start + timedelta(days=max(days // 5, 8) - 1)
    stage("dbt full build (1/5 history)", ["build", "--date", (early - timedelta(days=1)).isoformat()])
    stage("dbt incremental day (1/5 history)", ["build", "--date", early.isoformat()], repeated=True, restore=True)
    shutil.rmtree(data / "warehouse")
    full_build = stage("dbt full build", ["build", "--date", (end - timedelta(days=1)).isoformat()], rows=n_events)
    warehouse = data / "warehouse" / "segwarehouse.duckdb"
    # the probabilistic matching step inside the builds (its share of them), and training a model on demand
    matching = {"full build": _last_matching(warehouse)}
    if matching["full build"]:
        matching["full build"]["share_of_build"] = round(matching["full build"]["seconds"] / full_build.seconds, 3)
    # the first gate validates the whole event history; a daily one the day's load (and every profile)
    stage("GE gate, first run (whole event history)",
          ["gate", "--date", (end - timedelta(days=1)).isoformat(), "--run-id", "bench_gate_first"], rows=n_events)
    daily = stage("dbt incremental day", ["build", "--date", end.isoformat()], repeated=True, restore=True)
    matching["incremental day (last run)"] = _last_matching(warehouse)
    if matching["incremental day (last run)"]:
        matching["incremental day (last run)"]["share_of_build"] = round(
            matching["incremental day (last run)"]["seconds"] / daily.seconds, 3)
    stage("identity model training (on demand / weekly)", ["identity-train"], rows=_rows(warehouse, "identity.match_input")
          if matching["full build"] else None)
    persons = _rows(warehouse, "main.dim_user_profile")
    plan = data / "gate_frames.json"
    run_measured("gate plan", [sys.executable, "-m", "benchmarks.references", "gate-plan", "--warehouse",
                               str(warehouse), "--plan", str(plan)], env={**env, "PYTHONPATH": str(ROOT)})
    reference("reference: the gate's frames read into pandas",
              ["gate-frames", "--warehouse", str(warehouse), "--plan", str(plan)], persons)
    stage("GE gate", ["gate", "--date", end.isoformat(), "--run-id", "bench_gate"], rows=persons, repeated=True,
          restore=True)
    stage("publish validated profiles", ["publish"], rows=persons)  # the snapshot training and scoring read
    stage("train (k selection on a sample)", ["train", "--run-id", "bench_train"], rows=persons, repeated=True,
          restore=True)
    reference("reference: plain scikit-learn KMeans, same k range and sample",
              ["plain-train", "--warehouse", str(warehouse)], persons)
    # scoring replaces its run's rows, the report and the published copy are rewritten: no restore needed
    stage("score everyone", ["score", "--run-id", "bench_score"], rows=persons, repeated=True)
    reference("reference: plain predict of everyone read from DuckDB",
              ["plain-score", "--warehouse", str(warehouse)], persons)
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

    if constant_population:
        constant_population_growth(users, days, events_per_user, work, reuse_data, repeat, results)

    stages = [m.as_dict() for m in results]
    ratios, checks = ratios_and_targets(stages, "seconds")
    cpu_ratios, _ = ratios_and_targets(stages, "cpu_seconds")
    return {"users": users, "days": days, "events": n_events, "persons": persons, "data_reused": reuse, "repeat": repeat,
            "stages": stages, "matching": matching, "slowest_dbt_nodes": slowest, "ratios": ratios, "cpu_ratios": cpu_ratios,
            "targets": checks}


# each target: a stage over its reference measured in the same run (absolute seconds move 2x between machines)
LIMITS = {"dbt full build / lower bound": 8, "dbt full build / raw load": 3, "daily run / dbt full build": 0.15,
          "daily growth for 5x history (constant population)": 0.25, "train / plain scikit-learn": 3,
          "score / plain predict": 2, "GE gate / reading its frames": 2, "end to end / sum of CLI stages": 1.5}
RATIOS = {  # name: (stage, reference); a growth is stage / reference - 1
    "dbt full build / lower bound": ("dbt full build", "lower bound: DuckDB aggregation over raw events"),
    "dbt full build / raw load": ("dbt full build", "reference: raw load (DuckDB parses every landing line)"),
    "daily run / dbt full build": ("dbt incremental day", "dbt full build"),
    "daily growth for 5x history (population growing)": ("dbt incremental day", "dbt incremental day (1/5 history)"),
    "daily growth for 5x history (constant population)": ("dbt incremental day (full history, constant population)",
                                                          "dbt incremental day (1/5 history, constant population)"),
    "train / plain scikit-learn": ("train (k selection on a sample)",
                                   "reference: plain scikit-learn KMeans, same k range and sample"),
    "score / plain predict": ("score everyone", "reference: plain predict of everyone read from DuckDB"),
    "GE gate / reading its frames": ("GE gate", "reference: the gate's frames read into pandas"),
}


def ratios_and_targets(stages: list[dict], key: str) -> tuple[dict[str, float], dict[str, bool]]:
    """The target ratios over the stages' `key` ("seconds" wall, or "cpu_seconds": less moved by other load on
    a shared machine) and whether each meets its limit (peak memory too)."""
    by = {s["stage"]: s[key] for s in stages if s.get(key)}
    ratios = {}
    for name, (stage, reference) in RATIOS.items():
        if stage in by and reference in by:
            ratios[name] = by[stage] / by[reference] - (1 if "growth" in name else 0)
    if "end to end through Airflow" in by and all(n in by for n in CLI_EQUIVALENT):
        ratios["end to end / sum of CLI stages"] = by["end to end through Airflow"] / sum(
            by[n] * times for n, times in CLI_EQUIVALENT.items())
    checks = {f"{name} <= {LIMITS[name]:g}": value <= LIMITS[name] for name, value in ratios.items() if name in LIMITS}
    checks["peak memory <= 8 GiB"] = max(s["peak_rss_mb"] for s in stages) <= 8192
    return {k: round(v, 3) for k, v in ratios.items()}, checks


# the Airflow DAGs of the end-to-end run (warehouse_daily, segments_retrain, segments_score) as CLI stages:
# a full build, the first gate, publish; train, score, report, publish; score, report, publish
CLI_EQUIVALENT = {"dbt full build": 1, "GE gate, first run (whole event history)": 1, "publish": 3,
                  "train (k selection on a sample)": 1, "score everyone": 2, "segment report (HTML)": 2}


def constant_population_growth(users: int, days: int, events_per_user: float, work: Path, reuse_data: bool,
                               repeat: int, results: list[Measurement]) -> None:
    """Growth of the daily run from 1/5 of the history to all of it with everyone present from day 1 (the
    generator's --everyone-from-day-one), so only the history grows. Appends the builds to `results`."""
    data = work / f"u{users}_d{days}_constant"
    reuse = reuse_data and _reusable(data, users, days, events_per_user, everyone_from_day_one=True)
    if reuse:
        for child in data.iterdir():
            if child.name not in ("raw", "truth"):
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    else:
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
    env = _env(data)
    if not reuse:
        run_measured("generate (constant population)", [*CLI, "generate", "--users", str(users), "--days", str(days),
                                                         "--seed", "1", "--events-per-user", str(events_per_user),
                                                         "--everyone-from-day-one"], env=env)
    start = date(2026, 1, 1)
    end = start + timedelta(days=days - 1)
    early = start + timedelta(days=max(days // 5, 8) - 1)
    daily = {}
    for label, day in (("1/5 history", early), ("full history", end)):
        shutil.rmtree(data / "warehouse", ignore_errors=True)
        run_measured("full build", [*CLI, "build", "--date", (day - timedelta(days=1)).isoformat()], env=env)
        snapshot = data / "warehouse.bench_snapshot"
        _copy_warehouse(data / "warehouse", snapshot)
        runs = []
        for i in range(repeat):
            if i:
                _copy_warehouse(snapshot, data / "warehouse")
            runs.append(run_measured(f"dbt incremental day ({label}, constant population)",
                                     [*CLI, "build", "--date", day.isoformat()], env=env))
        shutil.rmtree(snapshot, ignore_errors=True)
        daily[label] = median_of(runs)
        results.append(daily[label])
        print(f"  {daily[label].name:<32} {daily[label].seconds:8.1f} s  runs {_runs_text(daily[label].runs or [])}",
              flush=True)


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
        if scale.get("matching"):
            lines += ["", "Probabilistic matching step inside the builds (identity.match_runs):", "",
                      "| build | mode | contacts | eligible | delta | scored pairs | links | seconds | share of build |",
                      "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
            for name, r in scale["matching"].items():
                if r:
                    lines.append(f"| {name} | {r['mode']} | {r['contacts']:,} | {r['eligible']:,} | "
                                 f"{'' if r['delta'] is None else format(r['delta'], ',')} | {r['scored_pairs']:,} | "
                                 f"{r['links']:,} | {r['seconds']:.1f} | {r['share_of_build']:.1%} |")
        if scale.get("slowest_dbt_nodes"):
            lines += ["", "Slowest dbt nodes per build:", ""]
            for name, nodes in scale["slowest_dbt_nodes"].items():
                lines.append(f"- {name}: " + ", ".join(f"{n['name']} {n['seconds']:.1f} s" for n in nodes))
        if scale.get("ratios"):
            cpu = scale.get("cpu_ratios", {})
            lines += ["", "| ratio (stage / its reference, same run) | wall s | CPU s |", "|---|---:|---:|"]
            lines += [f"| {k} | {v:.3f} | {cpu[k]:.3f} |" if k in cpu else f"| {k} | {v:.3f} | |"
                      for k, v in scale["ratios"].items()]
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
    parser.add_argument("--no-constant-population", action="store_true",
                        help="skip the second landing zone (everyone from day 1) that measures history growth alone")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--rerender", action="store_true",
                        help="recompute the ratios and targets of --out/latest.json and rewrite latest.md (no runs)")
    args = parser.parse_args(argv)
    if args.rerender:
        report = json.loads((args.out / "latest.json").read_text())
        for scale in report["scales"]:
            scale["ratios"], scale["targets"] = ratios_and_targets(scale["stages"], "seconds")
            scale["cpu_ratios"], _ = ratios_and_targets(scale["stages"], "cpu_seconds")
        (args.out / "latest.json").write_text(json.dumps(report, indent=2))
        (args.out / "latest.md").write_text(to_markdown(report))
        return 0
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    report = {"machine": machine(), "scales": []}
    for users in args.users:
        print(f"scale: {users:,} users x {args.days} days", flush=True)
        report["scales"].append(bench_scale(users, args.days, args.events_per_user, args.work, not args.no_airflow,
                                            args.reuse_data, args.repeat, not args.no_constant_population))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(report, indent=2))
    (args.out / "latest.md").write_text(to_markdown(report))
    print(to_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
