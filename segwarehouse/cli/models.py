"""`segwarehouse models list | show VERSION | promote VERSION | rollback`: the model registry by hand.

`list` and `show` open the warehouse read-only (they work while a DAG writes elsewhere is queued); `promote`
and `rollback` take the writer's connection, run the fresh-process load check and write audit rows
(`segments.model_events`; who = `SEGWAREHOUSE_ACTOR` or the OS user, why = `--reason`).
"""

from __future__ import annotations

import argparse
import json
import sys

from segwarehouse.core.paths import get_paths


def add_models_parser(sub: argparse._SubParsersAction) -> None:
    m = sub.add_parser("models", help="list, show, promote or roll back segmentation models")
    msub = m.add_subparsers(dest="models_command", required=True)
    lst = msub.add_parser("list", help="every registered model version, newest first")
    lst.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    show = msub.add_parser("show", help="a version's model card and audit events (JSON)")
    show.add_argument("version")
    promote = msub.add_parser("promote", help="make a registered version champion (after a load check)")
    promote.add_argument("version")
    rollback = msub.add_parser("rollback", help="put the previous good champion back")
    for sp in (promote, rollback):
        sp.add_argument("--reason", required=True, help="why (stored in the audit trail)")
        sp.add_argument("--skip-load-check", action="store_true",
                        help="do not load and score the artifact in a fresh process first")
    for sp in (lst, show, promote, rollback):
        sp.add_argument("--config", help="ML config (default $SEGWAREHOUSE_ML_CONFIG or config/ml.yml)")
        sp.set_defaults(func=cmd_models)


def cmd_models(args: argparse.Namespace) -> int:
    import duckdb

    from ml import lifecycle
    from ml.config import ConfigError
    from ml.config_loader import load_config

    try:
        cfg = load_config(args.config, for_scoring=True)  # the registry's models, not the configured one
    except ConfigError as exc:
        raise SystemExit(f"segwarehouse models: {exc}") from None
    schema = cfg.input.output_schema
    warehouse = get_paths().warehouse
    if not warehouse.exists():
        raise SystemExit(f"segwarehouse models: no warehouse at {warehouse} (SEGWAREHOUSE_DUCKDB)")
    read_only = args.models_command in {"list", "show"}
    try:
        with duckdb.connect(str(warehouse), read_only=read_only) as con:
            if args.models_command == "list":
                _print_list(lifecycle.list_models(con, schema), as_json=args.json)
            elif args.models_command == "show":
                print(json.dumps(lifecycle.show_model(con, schema, args.version), indent=2, default=str))
            else:
                check = cfg.gates.load_check and not args.skip_load_check
                kwargs = {"reason": args.reason, "load_check": check,
                          "timeout": cfg.gates.load_check_timeout_seconds}
                change = lifecycle.promote(con, schema, args.version, **kwargs) \
                    if args.models_command == "promote" else lifecycle.rollback(con, schema, **kwargs)
                print(json.dumps(change.as_dict(), indent=2, default=str))
    except lifecycle.LifecycleError as exc:
        print(f"segwarehouse models {args.models_command}: {exc}", file=sys.stderr)
        return 1
    return 0


def _print_list(models: object, *, as_json: bool) -> None:
    import pandas as pd

    assert isinstance(models, pd.DataFrame)
    if as_json:
        for row in models.to_dict("records"):
            print(json.dumps(row, default=str))
        return
    if models.empty:
        print("no models registered yet (segwarehouse train)")
        return
    view = models.assign(champion=models["is_champion"].map({True: "*", False: ""}))
    cols = ["champion", "model_version", "status", "created_at", "algorithm", "k", "silhouette", "ari_mean",
            "last_event", "last_actor", "reason"]
    view["created_at"] = pd.to_datetime(view["created_at"]).dt.strftime("%Y-%m-%d %H:%M")
    view["algorithm"] = view["algorithm"].str.rpartition(".")[2]
    view["reason"] = view["reason"].fillna("").str.slice(0, 60)
    print(view[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
