"""Before a model becomes champion: its artifact must load and score a sample in a *fresh process* with the
deployment's environment, the way the next `score` run will meet it.

Training may succeed with a class the scoring process cannot import (a package importable only from the
training shell's working directory, a PYTHONPATH set by hand): `run_load_check` starts
`python -P -m ml.load_check` with this interpreter and this process's environment variables (PYTHONPATH and
all), without the working directory on `sys.path` (`-P`), loads the artifact with the trusted types of its
registry row, scores the rows saved beside it at training (`<version>.check.parquet`) and compares the
labels with the ones the training process got (a model registered before samples were saved is only
loaded). Anything else fails the check, with the child's error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

LABEL_COLUMN = "__expected_label"


@dataclass(frozen=True)
class LoadCheck:
    ok: bool
    rows: int
    seconds: float
    error: str | None = None
    pythonpath: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sample_path(artifact: Path) -> Path:
    return Path(artifact).with_suffix(".check.parquet")


def write_check_sample(model: Any, features: pd.DataFrame, artifact: Path, rows: int, seed: int) -> Path:
    """Save a seeded sample of feature rows with the labels this process's model gives them."""
    sample = features.sample(n=min(rows, len(features)), random_state=seed).reset_index(drop=True)
    sample[LABEL_COLUMN] = np.asarray(model.predict(sample[list(features.columns)]))
    path = sample_path(artifact)
    sample.to_parquet(path, index=False)
    return path


def score_check_sample(model: Any, path: Path) -> int:
    """Score the saved sample; raise if a label differs from the training process's. Returns the rows."""
    sample = pd.read_parquet(path)
    expected = sample.pop(LABEL_COLUMN).to_numpy()
    got = np.asarray(model.predict(sample))
    differ = int(np.sum(got != expected))
    if differ:
        raise AssertionError(f"{differ} of {len(sample)} sample rows get another label than at training")
    return len(sample)


def run_load_check(artifact: Path, fmt: str, sha256: str, trusted: tuple[str, ...], *,
                   timeout: float = 300) -> LoadCheck:
    """Load and score the artifact's check sample in a fresh interpreter with this environment."""
    import subprocess

    started = time.perf_counter()
    cmd = [sys.executable, "-P", "-m", "ml.load_check", str(artifact), "--format", fmt, "--sha256", sha256,
           "--trusted", json.dumps(list(trusted))]
    env = dict(os.environ)
    try:
        done = subprocess.run(cmd, env=env, cwd=str(Path(artifact).parent), capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return LoadCheck(False, 0, round(time.perf_counter() - started, 2),
                         f"load check did not finish within {timeout} s", env.get("PYTHONPATH"))
    seconds = round(time.perf_counter() - started, 2)
    result = _last_json(done.stdout)
    if done.returncode == 0 and result.get("ok"):
        return LoadCheck(True, int(result["rows"]), seconds, None, env.get("PYTHONPATH"))
    error = result.get("error") or (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
    return LoadCheck(False, int(result.get("rows") or 0), seconds, error, env.get("PYTHONPATH"))


def _last_json(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.load_check",
                                     description="Load a model artifact and score its check sample.")
    parser.add_argument("artifact")
    parser.add_argument("--format", required=True, choices=["skops", "joblib"])
    parser.add_argument("--sha256", required=True)
    parser.add_argument("--trusted", required=True, help="JSON list of trusted type prefixes")
    args = parser.parse_args(argv)
    try:
        from .registry import load_artifact

        model = load_artifact(Path(args.artifact), args.format, args.sha256, tuple(json.loads(args.trusted)))
        sample = sample_path(Path(args.artifact))
        rows = score_check_sample(model, sample) if sample.exists() else 0  # models trained before samples
    except Exception as exc:  # report any failure to the parent: it decides, with the message
        sys.stdout.write(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}) + "\n")
        return 1
    sys.stdout.write(json.dumps({"ok": True, "rows": rows}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
