"""`python -m ml train|score [--run-id ID] [--config PATH]`: the stage's CLI (Airflow calls the same functions)."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from .config import load_config
from .score import score_from_warehouse
from .train import train_from_warehouse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml", description="Train or score customer segments.")
    parser.add_argument("command", choices=["train", "score"])
    parser.add_argument("--run-id", default=None, help="run id (default: manual__<as_of_date>)")
    parser.add_argument("--config", default=None, help="path of ml.yml (default: config/ml.yml)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    cfg = load_config(args.config)
    fn = train_from_warehouse if args.command == "train" else score_from_warehouse
    result = fn(args.run_id, config=cfg)
    sys.stdout.write(json.dumps(result, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
