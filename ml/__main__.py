"""`python -m ml train|score [--run-id ID] [--config PATH] [--as-of-date D] [--candidate]`: the stage's CLI.

Reads the warehouse from `SEGWAREHOUSE_DUCKDB` and writes artifacts under `SEGWAREHOUSE_MODELS`
(`segwarehouse.core.paths`); the Airflow tasks call the same functions (`ml.train.train`, `ml.score.score`).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from segwarehouse.core.paths import get_paths

from .config import ConfigError
from .config_loader import load_config
from .score import score
from .train import train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml", description="Train or score customer segments.")
    parser.add_argument("command", choices=["train", "score"])
    parser.add_argument("--run-id", default=None, help="run id (default: manual__<as_of_date>)")
    parser.add_argument("--config", default=None,
                        help="path of ml.yml (default: $SEGWAREHOUSE_ML_CONFIG, else config/ml.yml)")
    parser.add_argument("--as-of-date", default=None, help="train: only this as_of_date snapshot of the relation")
    parser.add_argument("--candidate", action="store_true",
                        help="train: register as candidate without gating or moving the champion")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        cfg = load_config(args.config, for_scoring=args.command == "score")
    except ConfigError as exc:  # before any data is read
        raise SystemExit(f"python -m ml {args.command}: {exc}") from None
    paths = get_paths()
    if args.command == "train":
        result = train(paths.warehouse, cfg, args.run_id, args.as_of_date, models_dir=paths.models,
                       promote=not args.candidate).as_dict()
    else:
        result = score(paths.warehouse, cfg, args.run_id).as_dict()
    sys.stdout.write(json.dumps(result, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
