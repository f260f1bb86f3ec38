"""Segment lookup API benchmark: latency and requests/s with 32 concurrent clients on localhost, at 1M persons.

    python -m benchmarks.api_bench --persons 1000000          (or `make bench-api`; `make bench` runs it with --api)

The serving file comes from a synthetic warehouse (profiles, identity map and segments generated in SQL;
experiment assignments made by the real `segwarehouse.experiments.assignment.assign`) published by the real
`publish_serving`: building a 1M-person warehouse through the whole pipeline takes most of an hour here and
the API only reads what a publish writes. The server is `segwarehouse serve-api --workers 2` (uvicorn), the
load generator a separate process (asyncio + uvloop, raw HTTP/1.1 keep-alive, one connection per client)
asking for random customer ids, anonymous ids and e-mail HMACs (5 % unknown keys, answered 404).

Three phases: saturation (each client sends its next request when the last one is answered), a paced
2,000 requests/s (latency counted from each request's scheduled send time, so a stalled server cannot hide
its queue), and the same pace while another process republishes the serving file in a loop.
Results: benchmarks/results/api_latest.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "benchmark-only-token-0123456789"
PII_KEY = "benchmark-only-key"
AS_OF = date(2026, 3, 1)


def build_warehouse(path: Path, persons: int) -> None:
    """A warehouse holding what a publish reads, for `persons` persons (70 % registered, 1-3 devices each)."""
    import duckdb

    from ml.warehouse import TABLES as SEGMENT_TABLES
    from segwarehouse.experiments.assignment import assign
    from segwarehouse.experiments.config import Experiment

    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute(f"""create table main.dim_user_profile as
            select 'p_' || substr(md5(i::varchar), 1, 16) as person_id,
                   case when i % 10 < 7 then 'C' || lpad(i::varchar, 8, '0') end as primary_customer_id,
                   case when i % 10 < 7 then 'user' || i || '@example.com' end as email,
                   case when i % 10 < 5 then '+49' || (100000000 + i) end as phone,
                   'First' || (i % 500) as first_name, 'Last' || (i % 900) as last_name,
                   date '{AS_OF}' as as_of_date, i % 10 < 4 as has_marketing_consent,
                   ['new', 'active', 'at_risk', 'lapsed', 'churned'][i % 5 + 1] as lifecycle_stage,
                   (i * 7919 % 101)::double as engagement_score, (i % 997)::double as monetary,
                   (i % 13) / 4.0 as orders_per_month, 20.0 + i % 180 as avg_order_value, i % 120 as recency_days,
                   (i % 29)::double as page_views_per_week, i % 700 as tenure_days, i % 9 as frequency,
                   1 + i % 3 as n_anonymous_ids
            from range({persons}) t(i)""")
        con.execute("""create table main.int_person_map as
            select 'customer_id:' || primary_customer_id as node_key, 'customer_id' as id_type,
                   primary_customer_id as id_value, person_id, false as is_guard_rejected
            from main.dim_user_profile where primary_customer_id is not null
            union all
            select 'email:' || email, 'email', email, person_id, false from main.dim_user_profile where email is not null
            union all
            select 'anonymous_id:a-' || substr(md5(person_id || d), 1, 16), 'anonymous_id',
                   'a-' || substr(md5(person_id || d), 1, 16), person_id, false
            from main.dim_user_profile, range(3) t(d) where d < n_anonymous_ids""")
        con.execute("create schema segments")
        for name in ("segment_assignments", "rule_segment_assignments"):
            con.execute(f"create table segments.{name} ({SEGMENT_TABLES[name]})")
        con.execute(f"""insert into segments.segment_assignments
            (person_id, segment_id, segment_name, model_version, run_id, as_of_date, scored_at)
            select person_id, (hash(person_id) % 6 + 1)::int,
                   ['Loyal big-basket buyers', 'Bargain searchers', 'Long-visit browsers', 'New visitors',
                    'Lapsed buyers', 'Mail-clicking regulars'][(hash(person_id) % 6 + 1)::int],
                   'm_bench', 'bench_score', date '{AS_OF}', now() from main.dim_user_profile""")
        con.execute(f"""insert into segments.rule_segment_assignments
            select person_id, rule.id, rule.name, 'bench_score', date '{AS_OF}', now()
            from main.dim_user_profile,
                 (values ('lapsed_users', 'Lapsed Users', 0), ('rare_buyers', 'Rare Buyers', 1),
                         ('browsers', 'Browsers', 2)) rule(id, name, k)
            where hash(person_id || rule.id) % 5 = 0""")
        experiment = Experiment.model_validate({
            "name": "homepage_banner", "start_date": "2026-02-20", "end_date": "2026-04-30",
            "targets": {"model_segments": "all"}, "holdout_share": 0.1,
            "variants": [{"name": "control", "share": 0.5, "control": True},
                         {"name": "voucher_mail", "share": 0.5, "marketing": True}],
            "primary_metric": {"name": "purchase_14d", "kind": "purchase", "window_days": 14}})
        assign(con, experiment, segments_schema="segments", run_id="bench", today=AS_OF)
        con.execute("""insert into experiments.definitions
            (experiment, start_date, end_date, holdout_share, control_variant, requires_consent, retrospective)
            values ('homepage_banner', date '2026-02-20', date '2026-04-30', 0.1, 'control', true, false)""")


def sample_keys(serving: Path, n: int, seed: int = 1) -> list[str]:
    """Request paths: keys of every type from the serving file, plus 5 % keys that name nobody."""
    import duckdb

    with duckdb.connect(str(serving), read_only=True) as con:
        keys = [r[0] for r in con.execute(
            f"select key_value from lookup.person_keys using sample {int(n)} rows (reservoir, {seed})").fetchall()]
    rng = random.Random(seed)
    keys += [f"C9{rng.randrange(10**7):07d}" for _ in range(n // 20)]
    rng.shuffle(keys)
    return [f"/v1/persons/{k}" for k in keys]


# ---- load generator (runs as its own process: `python -m benchmarks.api_bench load ...`) ----

async def _client(i: int, port: int, paths: list[str], rate: float, clients: int, stop: list[float],
                  lat: list[float], statuses: dict[int, int], errors: list[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    interval = clients / rate if rate else 0.0
    next_send = time.perf_counter() + (i / clients) * interval
    k = i
    while True:
        now = time.perf_counter()
        if now >= stop[0] or (interval and next_send >= stop[0]):
            break
        if interval and next_send > now:
            await asyncio.sleep(next_send - now)
        started = next_send if interval else time.perf_counter()
        path = paths[k % len(paths)]
        k += clients
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            continue
        lat.append(time.perf_counter() - started)
        status = int(head[9:12])
        statuses[status] = statuses.get(status, 0) + 1
        next_send += interval
    writer.close()


async def _watch_stop_file(stop: list[float], stop_file: Path | None) -> None:
    while stop_file is not None and time.perf_counter() < stop[0]:
        if stop_file.exists():
            stop[0] = time.perf_counter()
        await asyncio.sleep(0.2)


async def _load(port: int, paths: list[str], seconds: float, rate: float, clients: int,
                stop_file: Path | None = None) -> dict:
    """Run for `seconds`, or until `stop_file` appears."""
    lat: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    started = time.perf_counter()
    stop = [started + seconds]
    await asyncio.gather(_watch_stop_file(stop, stop_file),
                         *(_client(i, port, paths, rate, clients, stop, lat, statuses, errors) for i in range(clients)))
    elapsed = time.perf_counter() - started
    lat.sort()
    n = len(lat)
    pick = (lambda q: round(1000 * lat[min(n - 1, int(q * n))], 2)) if n else (lambda q: None)
    return {"clients": clients, "offered_rps": rate or None, "seconds": round(elapsed, 1), "requests": n,
            "rps": round(n / elapsed), "p50_ms": pick(0.50), "p90_ms": pick(0.90), "p99_ms": pick(0.99),
            "max_ms": round(1000 * lat[-1], 2) if n else None, "statuses": statuses,
            "errors": len(errors) + sum(v for s, v in statuses.items() if s not in (200, 404)),
            "error_samples": errors[:5]}


def run_load(port: int, keys_file: Path, seconds: float, rate: float, clients: int,
             stop_file: Path | None = None) -> dict:
    """Run the load generator in its own process and return its JSON report."""
    out = subprocess.run([sys.executable, "-m", "benchmarks.api_bench", "load", "--port", str(port), "--keys",
                          str(keys_file), "--seconds", str(seconds), "--rate", str(rate), "--clients", str(clients),
                          *(["--stop-file", str(stop_file)] if stop_file else [])],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- orchestration ----

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its children (the server's workers)."""
    import psutil

    root = psutil.Process(pid)
    return sum(sum(p.cpu_times()[:2]) for p in [root, *root.children(recursive=True)])


def _tree_rss_mb(pid: int) -> int:
    import psutil

    root = psutil.Process(pid)
    return round(sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20)


def _wait_for_reloads(port: int, loads: int, workers: int, timeout: float) -> float | None:
    """Seconds until `workers` different answers of /readyz (one per worker, by chance) show `loads` loads."""
    started, seen = time.perf_counter(), 0
    while time.perf_counter() - started < timeout:
        if _get(port, "/readyz")[1].get("loaded_publishes", 0) >= loads:
            seen += 1
            if seen >= 4 * workers:  # consecutive answers, so every worker was asked with high probability
                return round(time.perf_counter() - started, 1)
        else:
            seen = 0
        time.sleep(0.1)
    return None


def _publish_once(env: dict[str, str], script: Path) -> subprocess.Popen:
    """One real publish of the serving file, in its own process (what a segments_score run does)."""
    # a script file, not `python -c`: pyspark (imported by Great Expectations) exits a `-c` process at import
    script.write_text("import json, time\nfrom segwarehouse.pipeline import publish_serving\n"
                      "t = time.perf_counter(); publish_serving(); print(json.dumps(round(time.perf_counter() - t, 2)))\n")
    return subprocess.Popen([sys.executable, str(script)], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)


def bench(persons: int, work: Path, seconds: float, rate: float, clients: int, workers: int) -> dict:
    from segwarehouse.core.paths import Paths

    data = work / f"api_{persons}"
    shutil.rmtree(data, ignore_errors=True)
    env = {**os.environ, "SEGWAREHOUSE_DATA": str(data), "SEGWAREHOUSE_HOME": str(ROOT),
           "SEGWAREHOUSE_PII_KEY": PII_KEY, "SEGWAREHOUSE_API_TOKEN": TOKEN}
    for key in ("SEGWAREHOUSE_RAW", "SEGWAREHOUSE_DUCKDB", "SEGWAREHOUSE_SERVING", "SEGWAREHOUSE_MODELS"):
        env.pop(key, None)
    os.environ.update({k: env[k] for k in ("SEGWAREHOUSE_DATA", "SEGWAREHOUSE_HOME", "SEGWAREHOUSE_PII_KEY")})
    paths = Paths(home=ROOT, data=data)
    t0 = time.perf_counter()
    build_warehouse(paths.warehouse, persons)
    built = time.perf_counter() - t0
    from segwarehouse.pipeline import publish_serving
    from segwarehouse.serving.validated import snapshot_profiles

    snapshot_profiles(paths.warehouse)  # as a passing gate's publish leaves it

    t0 = time.perf_counter()
    published = publish_serving(paths)
    publish_s = time.perf_counter() - t0
    keys_file = data / "keys.json"
    keys_file.write_text(json.dumps(sample_keys(paths.serving, 20_000)))
    print(f"  synthetic warehouse {built:.1f} s, publish {publish_s:.1f} s, "
          f"{published['tables'].get('main.user_profile_public')} persons", flush=True)

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "segwarehouse.cli.main", "serve-api", "--port", str(port),
                               "--workers", str(workers)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        t0 = time.perf_counter()
        ready = {}
        while time.perf_counter() - t0 < 300:
            try:
                status, ready = _get(port, "/readyz")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.25)
        else:
            raise RuntimeError(f"the API did not become ready: {ready}")
        startup = time.perf_counter() - t0
        print(f"  API ready after {startup:.1f} s (index load per worker)", flush=True)
        run_load(port, keys_file, 3, 0, clients)  # warm-up
        phases = {}
        for name, offered in (("saturation", 0.0), (f"paced {rate:,.0f}/s", rate)):
            cpu = _tree_cpu_s(server.pid)
            phases[name] = run_load(port, keys_file, seconds, offered, clients)
            # CPU per request does not depend on what else the machine runs: capacity = cores / this
            phases[name]["server_cpu_us_per_request"] = round(
                1e6 * (_tree_cpu_s(server.pid) - cpu) / max(1, phases[name]["requests"]))
            print(f"  {name:<28} {phases[name]}", flush=True)
        # one real publish during a paced phase that lasts until both workers serve the new file, plus 5 s
        rss = _tree_rss_mb(server.pid)
        loads_before = _get(port, "/readyz")[1]["loaded_publishes"]
        stop = data / "stop-load"
        stop.unlink(missing_ok=True)
        cpu = _tree_cpu_s(server.pid)
        with ThreadPoolExecutor(1) as pool:
            load = pool.submit(run_load, port, keys_file, 3600, rate, clients, stop)
            time.sleep(3)
            publisher = _publish_once(env, data / "publish_once.py")
            publish_time = json.loads(publisher.communicate(timeout=1800)[0].strip().splitlines()[-1])
            reloaded = _wait_for_reloads(port, loads_before + 1, workers, timeout=600)
            time.sleep(5)
            stop.touch()
            during = load.result()
        during.update({"publishes": 1, "publish_seconds": publish_time, "reload_seconds_after_publish": reloaded,
                       "server_cpu_us_per_request": round(1e6 * (_tree_cpu_s(server.pid) - cpu) / max(1, during["requests"]))})
        phases[f"paced {rate:,.0f}/s during a publish"] = during
        print(f"  {'during a publish':<28} {during}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=60)
    import duckdb

    with duckdb.connect(str(paths.serving), read_only=True) as con:
        n_keys = con.execute("select count(*) from lookup.person_keys").fetchone()[0]
    return {"persons": persons, "keys": n_keys, "server_rss_mb": rss,
            "serving_bytes": published["bytes"], "workers": workers, "warehouse_build_s": round(built, 1),
            "publish_s": round(publish_s, 1), "api_ready_s": round(startup, 1), "phases": phases}


def to_markdown(report: dict) -> str:
    m = report["machine"]
    lines = [f"Machine: {m['cpus']} CPUs, {m['memory_gib']} GiB RAM, load average {report['load_before']} before the "
             f"run; server: uvicorn with {report['workers']} workers; load generator: one process, "
             f"{report['clients']} keep-alive connections, on the same machine.", ""]
    for r in report["runs"]:
        lines += [f"### {r['persons']:,} persons, {r['keys']:,} keys; serving file {r['serving_bytes'] / 2**20:,.0f} MB",
                  "", f"Synthetic warehouse {r['warehouse_build_s']} s, publish {r['publish_s']} s, API ready "
                  f"(index loaded) {r['api_ready_s']} s, server RSS (all workers) {r.get('server_rss_mb')} MB.", "",
                  "| phase | offered req/s | achieved req/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU µs/req |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for name, p in r["phases"].items():
            lines.append(f"| {name} | {p['offered_rps'] or 'as fast as answered'} | {p['rps']:,} | {p['p50_ms']} | "
                         f"{p['p90_ms']} | {p['p99_ms']} | {p['max_ms']} | {p['errors']} | "
                         f"{p.get('server_cpu_us_per_request', '')} |")
        for name, p in r["phases"].items():
            if "publish_seconds" in p:
                lines += ["", f"{name}: the publish took {p['publish_seconds']} s; every worker served the new file "
                              f"{p.get('reload_seconds_after_publish')} s after it finished; errors {p['errors']}."]
        paced = [p for name, p in r["phases"].items() if name.startswith("paced") and "during" not in name]
        if paced:
            p = paced[0]
            lines += ["", f"Target p99 <= 10 ms at >= 2,000 req/s: "
                          f"{'met' if p['p99_ms'] <= 10 and p['rps'] >= 1990 else '**missed**'} "
                          f"(p99 {p['p99_ms']} ms at {p['rps']:,} req/s)."]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    load = sub.add_parser("load", help="(internal) the load generator process")
    load.add_argument("--port", type=int, required=True)
    load.add_argument("--keys", type=Path, required=True)
    load.add_argument("--seconds", type=float, default=15)
    load.add_argument("--rate", type=float, default=0)
    load.add_argument("--clients", type=int, default=32)
    load.add_argument("--stop-file", type=Path)
    parser.add_argument("--persons", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--seconds", type=float, default=20, help="length of each measured phase")
    parser.add_argument("--rate", type=float, default=2000, help="offered requests/s of the paced phases")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    if args.command == "load":
        import uvloop

        paths = json.loads(args.keys.read_text())
        print(json.dumps(uvloop.run(_load(args.port, paths, args.seconds, args.rate, args.clients, args.stop_file))))
        return 0
    from .run import machine

    report = {"machine": machine(), "load_before": round(os.getloadavg()[0], 1), "workers": args.workers,
              "clients": args.clients, "runs": []}
    for persons in args.persons:
        print(f"segment API: {persons:,} persons", flush=True)
        report["runs"].append(bench(persons, args.work, args.seconds, args.rate, args.clients, args.workers))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "api_latest.json").write_text(json.dumps(report, indent=2))
    (args.out / "api_latest.md").write_text(to_markdown(report))
    print(to_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
