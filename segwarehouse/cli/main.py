"""`segwarehouse` command line: generate data, run the pipeline, show what it produced."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from segwarehouse.cli.models import add_models_parser
from segwarehouse.core.paths import get_paths


def _parse_overrides(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--dirt expects NAME=RATE, got {item!r}")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise SystemExit(f"--dirt {key}: rate must be a number, got {value!r}") from None
    return out


def cmd_generate(args: argparse.Namespace) -> int:
    from devtools.generator import DirtRates, GeneratorConfig, generate

    try:
        dirt = DirtRates().scaled(args.dirt_scale).with_overrides(_parse_overrides(args.dirt))
        cfg = GeneratorConfig(users=args.users, days=args.days, seed=args.seed, start_date=args.start_date,
                              events_per_user=args.events_per_user, dirt=dirt,
                              everyone_from_day_one=args.everyone_from_day_one,
                              omit_sources=tuple(s for item in args.omit for s in item.split(",") if s),
                              empty_columns=tuple(c for item in args.empty_column for c in item.split(",") if c))
    except ValueError as exc:
        raise SystemExit(f"segwarehouse generate: {exc}") from None
    raw = Path(args.out) if args.out else get_paths().raw
    truth = Path(args.truth_out) if args.truth_out else raw.parent / "truth"
    manifest = generate(cfg, raw, truth, log=print if args.verbose else None)
    c = manifest["counts"]
    print(f"generated {manifest['persons']} persons over {cfg.days} days "
          f"({cfg.start_date} .. {manifest['end_date']}) in {manifest['seconds']} s")
    print(f"  events {c.get('events_rows', 0):,}  orders {c.get('orders_rows', 0):,}  "
          f"order items {c.get('order_items_rows', 0):,}  contacts {c.get('contacts_rows', 0):,}")
    print(f"  landing zone: {raw}\n  ground truth: {truth}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from devtools.demo import print_summary, run_demo

    paths = get_paths()
    print_summary(run_demo(paths), paths)
    return 0


def cmd_stage(args: argparse.Namespace) -> int:
    """Run one pipeline stage outside Airflow (same functions the DAG tasks call)."""
    import json

    from segwarehouse import pipeline

    run_id = getattr(args, "run_id", None) or f"cli_{args.command}"
    if args.command == "build":
        out = pipeline.build_warehouse(args.date, full_refresh=args.full_refresh)
    elif args.command == "gate":
        out = pipeline.validate_profiles(args.date, run_id)
    elif args.command == "publish":
        from segwarehouse.quality.guard import GateNotPassed

        try:
            out = pipeline.publish_profiles(None, run_id, republish_older=args.republish_older,
                                            allow_failed_gate=args.allow_failed_gate or None)
        except GateNotPassed as exc:
            print(f"segwarehouse publish: {exc}", file=sys.stderr)
            return 1
    elif args.command in {"train", "score"}:
        from ml.config import ConfigError

        stage = pipeline.retrain_segments if args.command == "train" else pipeline.score_segments
        try:
            out = stage(run_id, config=args.config)
        except ConfigError as exc:  # raised before any data is read
            raise SystemExit(f"segwarehouse {args.command}: {exc}") from None
        except RuntimeError as exc:
            from ml.score import ChampionLoadError

            if isinstance(exc, ChampionLoadError):  # what to do is in the message: no traceback
                raise SystemExit(f"segwarehouse {args.command}: {exc}") from None
            raise
    elif args.command == "identity-train":
        out = pipeline.train_identity_model()
    elif args.command == "report":
        out = pipeline.report_segments(run_id)
    elif args.command == "experiments":
        out = pipeline.refresh_experiments(run_id)
    else:  # erase
        from segwarehouse.core.pii import PiiKeyError
        from segwarehouse.privacy import ErasureError

        try:
            out = pipeline.erase_person(args.identifier, run_id)
        except (ErasureError, PiiKeyError) as exc:
            print(f"segwarehouse erase: {exc}", file=sys.stderr)
            return 1
    print(json.dumps(out, indent=2, default=str))
    return 0


def cmd_landing(args: argparse.Namespace) -> int:
    """Scan the landing zone into the file ledger, or show what the ledger says about each file."""
    import json

    import duckdb

    from segwarehouse.core.sql import literal
    from segwarehouse.landing import ledger
    from segwarehouse.warehouse.dbt import scan_landing

    paths = get_paths()
    if args.action == "scan":
        print(json.dumps(scan_landing(paths), indent=2))
        if args.parquet:
            with duckdb.connect(str(paths.warehouse), read_only=True) as con:
                con.execute(f"copy {ledger.LEDGER} to {literal(args.parquet)} (format parquet)")
            print(f"ledger exported to {args.parquet}")
        return 0
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        rows = ledger.rows(con, args.status or None)
    for r in rows:
        print(f"{r['status']:<9} {r['source_file']}" + (f"  ({r['reason']})" if r["reason"] else ""))
    return 0


def cmd_serve_api(args: argparse.Namespace) -> int:
    from segwarehouse.api.server import serve

    return serve(host=args.host, port=args.port, workers=args.workers)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="segwarehouse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write synthetic CRM/web/shop files into a landing zone")
    g.add_argument("--users", type=int, default=5000, help="number of real persons (default 5000)")
    g.add_argument("--days", type=int, default=90, help="days of history (default 90)")
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--start-date", type=date.fromisoformat, default=date(2026, 1, 1))
    g.add_argument("--events-per-user", type=float, default=30.0, help="mean web events per person")
    g.add_argument("--out", help="landing zone folder (default $SEGWAREHOUSE_DATA/raw)")
    g.add_argument("--truth-out", help="ground-truth folder (default: <out>/../truth)")
    g.add_argument("--dirt-scale", type=float, default=1.0, help="multiply every dirt rate (0 = clean data)")
    g.add_argument("--dirt", action="append", default=[], metavar="NAME=RATE", help="override one dirt rate")
    g.add_argument("--everyone-from-day-one", action="store_true",
                   help="every person signs up and visits on the first day (a constant population)")
    g.add_argument("--omit", action="append", default=[], metavar="SOURCE",
                   help="do not write this source (contacts, events, orders); repeat or comma-separate")
    g.add_argument("--empty-column", action="append", default=[], metavar="SOURCE.COLUMN",
                   help="write this optional column empty, e.g. contacts.updated_at; repeat or comma-separate")
    g.add_argument("-v", "--verbose", action="store_true")
    g.set_defaults(func=cmd_generate)

    b = sub.add_parser("build", help="dbt build of the warehouse for one run date")
    b.add_argument("--date", required=True, help="as-of date YYYY-MM-DD (landing partitions up to it)")
    b.add_argument("--full-refresh", action="store_true")
    b.set_defaults(func=cmd_stage)
    for name, text in (("gate", "Great Expectations gate on the warehouse"),
                       ("publish", "promote the gated profiles to the validated snapshot and publish them atomically"),
                       ("train", "train a challenger and promote it if it passes the gates"),
                       ("score", "score everyone with the champion, rule segments, drift"),
                       ("report", "write the HTML segment report of a scoring run (same --run-id)"),
                       ("experiments", "assign and measure the A/B experiments of config/experiments.yml")):
        sp = sub.add_parser(name, help=text)
        sp.add_argument("--run-id")
        if name == "gate":
            sp.add_argument("--date", required=True)
        if name == "publish":
            sp.add_argument("--republish-older", action="store_true",
                            help="publish even when serving holds a later day than the warehouse")
            sp.add_argument("--allow-failed-gate", action="store_true",
                            help="publish even though the latest quality gate run failed (deliberate override)")
        if name in {"train", "score"}:
            sp.add_argument("--config", help="ML config file (default $SEGWAREHOUSE_ML_CONFIG, else config/ml.yml)")
        sp.set_defaults(func=cmd_stage)
    add_models_parser(sub)
    it = sub.add_parser("identity-train", help="re-estimate the probabilistic identity model (Splink) on the "
                        "built warehouse's contacts; the next build rescores with it")
    it.set_defaults(func=cmd_stage)
    e = sub.add_parser("erase", help="right to erasure for one email or customer id")
    e.add_argument("identifier")
    e.add_argument("--run-id")
    e.set_defaults(func=cmd_stage)

    lz = sub.add_parser("landing", help="the landing-zone file ledger: scan it, or list files and their status")
    lz.add_argument("action", choices=["scan", "show"])
    lz.add_argument("--status", action="append", choices=["new", "changed", "loaded", "reloaded", "ignored",
                                                          "rejected", "missing"], help="show only these")
    lz.add_argument("--parquet", help="scan: also export the ledger to this Parquet file (the Spark target reads it)")
    lz.set_defaults(func=cmd_landing)

    a = sub.add_parser("serve-api", help="run the segment lookup API on the serving file (docs/api.md)")
    a.add_argument("--host", default="127.0.0.1")
    a.add_argument("--port", type=int, default=8000)
    a.add_argument("--workers", type=int, default=1, help="server processes (one index in memory each)")
    a.set_defaults(func=cmd_serve_api)

    d = sub.add_parser("demo", help="generate data and run the whole pipeline on the embedded DuckDB")
    d.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
