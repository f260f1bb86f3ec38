"""Deployments shaped like a user's own data (docs/own-data.md): each goes files -> build -> gate -> train ->
score -> publish once per session with the default config, through the functions the CLI and the DAGs call.
Stage seconds are kept for the closing numbers (benchmarks/results/own_data.md)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest

from devtools.generator import GeneratorConfig, generate
from segwarehouse.core.paths import Paths

PII_KEY = "own-data-tests-only-key"
HOME = Path(__file__).resolve().parents[2]
LOCATION_VARIABLES = ("SEGWAREHOUSE_RAW", "SEGWAREHOUSE_DUCKDB", "SEGWAREHOUSE_SERVING", "SEGWAREHOUSE_MODELS",
                      "SEGWAREHOUSE_ML_CONFIG", "SEGWAREHOUSE_SOURCES_CONFIG", "SEGWAREHOUSE_GATE_CONFIG",
                      "SEGWAREHOUSE_PUBLISH_WITHOUT_GATE")

# the generator's shapes: which sources are left out and which optional columns are written empty
SHAPES: dict[str, GeneratorConfig] = {
    # shop orders only (and their lines): no CRM, no web analytics
    "transactions_only": GeneratorConfig(users=10000, days=60, seed=3, omit_sources=("contacts", "events")),
    # CRM exports without update or signup times and without birth dates, and shop orders; no web analytics
    "crm_and_orders": GeneratorConfig(
        users=6000, days=60, seed=5, omit_sources=("events",),
        empty_columns=("contacts.updated_at", "contacts.signup_at", "contacts.birth_date")),
    "all_three": GeneratorConfig(users=3000, days=60, seed=7),
}


@dataclass
class ShapeRun:
    name: str
    paths: Paths
    as_of: date
    seconds: dict[str, float] = field(default_factory=dict)
    results: dict[str, dict] = field(default_factory=dict)


def run_shape(name: str, cfg: GeneratorConfig, data: Path) -> ShapeRun:
    """Generate the shape's files, then every stage with the default config, timing each."""
    from segwarehouse import pipeline

    paths = Paths(home=HOME, data=data)
    generate(cfg, paths.raw, paths.truth)
    run = ShapeRun(name, paths, cfg.start_date + timedelta(days=cfg.days - 1))
    stages = [
        ("landing", lambda: pipeline.check_landing(run.as_of, paths)),
        ("build", lambda: pipeline.build_warehouse(run.as_of, paths)),
        ("gate", lambda: pipeline.validate_profiles(run.as_of, f"gate_{name}", paths)),
        ("profiles", lambda: pipeline.publish_profiles(run.as_of, f"profiles_{name}", paths)),
        ("train", lambda: pipeline.retrain_segments(f"train_{name}", paths)),
        ("score", lambda: pipeline.score_segments(f"score_{name}", paths)),
        ("publish", lambda: pipeline.publish_segments(f"publish_{name}", paths)),
    ]
    for stage, call in stages:
        t0 = time.perf_counter()
        run.results[stage] = call()
        run.seconds[stage] = round(time.perf_counter() - t0, 2)
    return run


@pytest.fixture(scope="session")
def own_env():
    mp = pytest.MonkeyPatch()
    for key in LOCATION_VARIABLES:
        mp.delenv(key, raising=False)
    mp.setenv("SEGWAREHOUSE_PII_KEY", PII_KEY)
    yield
    mp.undo()


@pytest.fixture(scope="session")
def shape_runs(own_env, tmp_path_factory) -> dict[str, ShapeRun]:
    """Each generated shape, run once for the whole session (built lazily, in SHAPES order)."""
    cache: dict[str, ShapeRun] = {}

    class Runs(dict):
        def __missing__(self, name: str) -> ShapeRun:
            cache[name] = run_shape(name, SHAPES[name], tmp_path_factory.mktemp(name) / "data")
            self[name] = cache[name]
            return cache[name]

    return Runs()
