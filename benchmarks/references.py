"""Reference measurements beside the pipeline's stages: the plainest way to do each stage's core work.

Absolute seconds move by 2x between machines, so every target of `make bench` is a ratio of a stage to its
reference measured in the same run. Each reference runs as its own process (like the stages):

    python -m benchmarks.references raw-load --raw DIR          DuckDB parses every field of every landing
                                                                line into tables, no checks
    python -m benchmarks.references plain-train --warehouse F   scikit-learn KMeans over the configured k range
                                                                on the same sample (no imputation search,
                                                                stability runs, gates or registry)
    python -m benchmarks.references plain-score --warehouse F   the champion's `predict` of everyone, read from
                                                                DuckDB (no drift, rules or writes)
    python -m benchmarks.references gate-plan --warehouse F --plan P    (untimed) the queries of the frames the
                                                                        quality gate would validate now
    python -m benchmarks.references gate-frames --warehouse F --plan P  those frames read from DuckDB into pandas
                                                                        (no expectations)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import duckdb

EVENT_FIELDS = ["event_id", "anonymous_id", "user_id", "session_hint", "event_type", "page_url", "product_id",
                "category", "search_query", "order_id", "campaign_id", "device", "channel", "event_at"]
CSV_SOURCES = {"crm_contacts": "crm/contacts", "shop_orders": "shop/orders", "shop_order_items": "shop/order_items"}


def raw_load(raw: Path) -> dict[str, int]:
    """Every landing line parsed into typed-as-text fields and written to a scratch DuckDB file."""
    columns = "{" + ", ".join(f"{f}: 'VARCHAR'" for f in EVENT_FIELDS) + "}"
    with tempfile.TemporaryDirectory() as tmp, duckdb.connect(str(Path(tmp) / "raw.duckdb")) as con:
        con.execute("set threads = 2")
        con.execute(f"""create table web_events as
            select * replace (try_cast(event_at as timestamptz) as event_at)
            from read_json('{raw}/web/events/*/*.jsonl', format='newline_delimited', ignore_errors=true,
                           columns={columns}, filename=true)""")
        for table, folder in CSV_SOURCES.items():
            con.execute(f"""create table {table} as
                select * from read_csv('{raw}/{folder}/*/*.csv', header=true, all_varchar=true,
                                       ignore_errors=true, filename=true)""")
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in ["web_events", *CSV_SOURCES]}


def plain_train(warehouse: Path) -> dict[str, float]:
    """KMeans for every k of the configured range on the training sample; silhouette picks k."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.metrics import silhouette_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    from ml.config_loader import load_config

    cfg = load_config()
    f = cfg.features
    log1p, numeric, categorical = list(f.log1p), list(f.numeric), list(f.categorical)
    limit = cfg.selection.train_sample_rows
    cols = ", ".join(f'"{c}"' for c in [*log1p, *numeric, *categorical])
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.execute(f"select {cols} from {cfg.input.relation} using sample reservoir({limit} rows) "
                            f"repeatable ({cfg.seed})").df()
    preprocess = ColumnTransformer([
        ("log1p", make_pipeline(SimpleImputer(strategy="median"),
                                FunctionTransformer(lambda x: np.log1p(np.clip(x, 0, None))), StandardScaler()), log1p),
        ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
    ])
    z = preprocess.fit_transform(frame)
    rng = np.random.default_rng(cfg.seed)
    sample = rng.choice(len(z), size=min(len(z), cfg.selection.silhouette_sample_rows), replace=False)
    scores = {}
    for k in range(cfg.selection.k_min, cfg.selection.k_max + 1):
        labels = KMeans(n_clusters=k, n_init=10, random_state=cfg.seed).fit_predict(z)
        scores[k] = float(silhouette_score(z[sample], labels[sample]))
    return {"rows": len(frame), "best_k": max(scores, key=scores.get)}


def plain_score(warehouse: Path) -> dict[str, int]:
    """The champion pipeline's predict over every profile row (its feature columns read from DuckDB)."""
    from ml.config_loader import load_config
    from ml.registry import CHAMPION, get_alias, load_registered_model
    from ml.score import with_champion_features

    cfg = load_config(for_scoring=True)
    schema = cfg.input.output_schema
    with duckdb.connect(str(warehouse), read_only=True) as con:
        alias = get_alias(con, schema, CHAMPION)
        if alias is None:
            raise SystemExit("no champion: train first")
        model, row = load_registered_model(con, schema, alias["model_version"])
        names = list(with_champion_features(cfg, row).features.all)
        cols = ", ".join(f'"{c}"' for c in dict.fromkeys([cfg.input.id_column, *names]))
        frame = con.execute(f"select {cols} from {cfg.input.relation}").df()
    labels = model.predict(frame[names])
    return {"rows": len(frame), "segments": len(set(labels.tolist()))}


def gate_plan(warehouse: Path, out: Path) -> dict[str, str]:
    """The queries of the frames the gate would validate now (same tables, rows and columns), written to `out`
    (not timed: building the suites needs a Great Expectations context)."""
    import great_expectations as gx

    from segwarehouse.core.sql import ident
    from segwarehouse.quality import gate

    gx.get_context(mode="ephemeral")
    queries = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table in gate.DEFAULT_TABLES:
            columns = gate._columns(con, "main", table)
            suite = gate.ROW_SUITES[table]()
            relation = f"main.{ident(table)}"
            since, _ = gate._load_scope(con, relation, table, suite.name, columns, run_id="")
            source = relation if since is None else (
                f"(select * from {relation} where {gate.LOAD_COLUMN} > timestamp '{since.isoformat(sep=' ')}')")
            read = [c for c in columns if c in gate._referenced(suite) | set(gate.ROW_IDS.get(table, ()))]
            queries[table] = f"select {', '.join(map(ident, read)) or '1 as _'} from {source}"
    out.write_text(json.dumps(queries, indent=2))
    return queries


def gate_frames(warehouse: Path, plan: Path) -> dict[str, int]:
    """The planned frames read from DuckDB into pandas through Arrow, as the gate reads them."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {table: len(con.sql(sql).to_arrow_table().to_pandas())
                for table, sql in json.loads(plan.read_text()).items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reference", choices=["raw-load", "plain-train", "plain-score", "gate-plan", "gate-frames"])
    parser.add_argument("--raw", type=Path)
    parser.add_argument("--warehouse", type=Path)
    parser.add_argument("--plan", type=Path, help="the gate's frame queries (gate-plan writes, gate-frames reads)")
    args = parser.parse_args(argv)
    if args.reference == "raw-load":
        print(raw_load(args.raw))
    elif args.reference == "gate-plan":
        print(gate_plan(args.warehouse, args.plan))
    elif args.reference == "gate-frames":
        print(gate_frames(args.warehouse, args.plan))
    else:
        run = {"plain-train": plain_train, "plain-score": plain_score}[args.reference]
        print(run(args.warehouse))
    return 0


if __name__ == "__main__":
    sys.exit(main())
