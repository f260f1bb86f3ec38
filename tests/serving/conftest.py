"""A private copy of the session warehouse with trained + scored segments and a published serving file.

The shared `warehouse` fixture is never written: its DuckDB file is copied into a temp data folder (the
landing zone is symlinked) and the ML stage runs there for real.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from segwarehouse.core.paths import Paths

PII_KEY = "serving-tests-only-key"
LOCATION_VARIABLES = ("SEGWAREHOUSE_RAW", "SEGWAREHOUSE_DUCKDB", "SEGWAREHOUSE_SERVING", "SEGWAREHOUSE_MODELS")


@dataclass
class Served:
    paths: Paths
    publish: dict
    score: dict
    root: Path  # the folder that holds data/ (relative paths in docs/bi.md resolve from here)


def private_paths(source: Paths, root: Path) -> Paths:
    data = root / "data"
    (data / "warehouse").mkdir(parents=True)
    shutil.copy2(source.warehouse, data / "warehouse" / "segwarehouse.duckdb")
    (data / "raw").symlink_to(source.raw.resolve(), target_is_directory=True)
    return Paths(home=source.home, data=data)


@pytest.fixture(scope="session")
def served(warehouse: Paths, tmp_path_factory) -> Served:
    from ml.config_loader import load_config
    from ml.score import score_from_warehouse
    from ml.train import train_from_warehouse
    from segwarehouse.pipeline import publish_serving, report_segments, score_segments, validate_profiles

    mp = pytest.MonkeyPatch()
    for key in LOCATION_VARIABLES:  # these would override the private paths below
        mp.delenv(key, raising=False)
    mp.setenv("SEGWAREHOUSE_PII_KEY", PII_KEY)
    root = tmp_path_factory.mktemp("serving")
    paths = private_paths(warehouse, root)
    cfg = load_config().replace(stability={"n_bootstrap": 4, "sample_rows": 1500})
    validate_profiles("2026-03-01", "gate-1", paths)  # publishing needs a passing gate (quality/guard.py)
    train_from_warehouse("train-1", config=cfg, paths=paths)
    score_from_warehouse("score-1", paths=paths)
    score = score_segments("score-2", paths=paths)  # the pipeline tasks: score, publish, report
    published = publish_serving(paths)
    score["report"] = report_segments("score-2", paths=paths)["report"]
    yield Served(paths=paths, publish=published, score=score, root=root)
    mp.undo()
