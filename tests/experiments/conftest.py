"""A planted experiment run end to end, as it happens in production, on its own small clean landing zone.

1. generate 60 days of clean data; build the warehouse as of day D, train, score, and refresh the experiments
   (the pipeline assigns persons on D) and publish (`experiment_assignments` goes out);
2. the world reacts: generate the same data again with `PlantedExperiment` reading the published assignment
   export (treated persons get the campaign e-mail and a known extra chance to buy, per stratum); days up to D
   are byte-identical, later days carry the effect;
3. rebuild the warehouse as of day D + 20 from that landing zone and refresh the experiments again: results.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from devtools.generator import DirtRates, GeneratorConfig, generate
from devtools.generator.config import PlantedExperiment
from devtools.generator.experiment import campaign_id
from segwarehouse.core.paths import Paths
from segwarehouse.experiments.config import ExperimentsConfig

PII_KEY = "experiment-tests-only-key"
LOCATION_VARIABLES = ("SEGWAREHOUSE_RAW", "SEGWAREHOUSE_DUCKDB", "SEGWAREHOUSE_SERVING", "SEGWAREHOUSE_MODELS")
WORLD = GeneratorConfig(users=3000, days=60, seed=11, dirt=DirtRates().scaled(0.0))
ASSIGN_DAY = 33  # D: 2026-02-03 (a Tuesday is the newsletter's day; the campaign goes out on D+1, Wednesday)
WINDOW = 14
LIFTS = (0.0, 0.25, 0.10, 0.40, 0.15, 0.30, 0.05, 0.20)  # planted q per model segment, by segment id order


def experiment_config(start: date, campaign: str) -> ExperimentsConfig:
    return ExperimentsConfig.model_validate({"experiments": [{
        "name": "planted", "start_date": start, "end_date": start,
        "targets": {"model_segments": "all"},
        "variants": [{"name": "control", "share": 0.5, "control": True},
                     {"name": "treatment", "share": 0.5, "marketing": True, "exposure_campaigns": [campaign]}],
        "primary_metric": {"name": "purchase_14d", "kind": "purchase", "window_days": WINDOW},
        "guardrail_metrics": [{"name": "revenue_14d", "kind": "revenue", "window_days": WINDOW}],
    }]})


@dataclass
class PlantedRun:
    paths: Paths
    config: ExperimentsConfig
    assign_day: date
    end_day: date
    lifts: dict[str, float]
    first_refresh: dict
    refresh: dict
    truth: Path


@pytest.fixture(scope="package")
def planted_run(tmp_path_factory) -> PlantedRun:
    from ml.config_loader import load_config as load_ml_config
    from ml.score import score_from_warehouse
    from ml.train import train_from_warehouse
    from segwarehouse.experiments.refresh import refresh_from_warehouse
    from segwarehouse.pipeline import build_warehouse, publish_serving, validate_profiles
    from segwarehouse.serving.contract import parquet_dir
    from segwarehouse.serving.validated import snapshot_profiles

    mp = pytest.MonkeyPatch()
    for key in LOCATION_VARIABLES:
        mp.delenv(key, raising=False)
    mp.setenv("SEGWAREHOUSE_PII_KEY", PII_KEY)
    data = tmp_path_factory.mktemp("planted") / "data"
    paths = Paths(home=Path(__file__).resolve().parents[2], data=data)
    generate(WORLD, paths.raw, paths.truth)
    assign_day = WORLD.start_date + timedelta(days=ASSIGN_DAY)
    end_day = assign_day + timedelta(days=WINDOW + 6)
    cfg = experiment_config(assign_day, campaign_id(WORLD, PlantedExperiment(Path(), ASSIGN_DAY)))

    build_warehouse(assign_day, paths)
    validate_profiles(assign_day, "gate-d", paths)  # publishing needs a passing gate (quality/guard.py)
    snapshot_profiles(paths.warehouse)  # as the gated publish of the day leaves it
    train_from_warehouse("train-d", config=load_ml_config().replace(stability={"n_bootstrap": 4, "sample_rows": 1500}),
                         paths=paths)
    score_from_warehouse("score-d", paths=paths)
    first = refresh_from_warehouse("experiments-d", config=cfg, paths=paths)
    publish_serving(paths)
    export = parquet_dir(paths).resolve() / "experiment_assignments.parquet"
    assignments = data / "assignments_handed_to_marketing.parquet"
    shutil.copy2(export, assignments)
    with duckdb.connect() as con:
        segments = [r[0] for r in con.execute(
            f"select distinct segment_type || ':' || segment_id from read_parquet('{assignments}') order by 1").fetchall()]
    lifts = {s: LIFTS[i % len(LIFTS)] for i, s in enumerate(segments)}

    world = replace(WORLD, experiment=PlantedExperiment(assignments, ASSIGN_DAY, window_days=WINDOW, lift=lifts))
    shutil.move(paths.raw, data / "raw_before_plant")
    generate(world, paths.raw, paths.truth)
    build_warehouse(end_day, paths, full_refresh=True)
    snapshot_profiles(paths.warehouse)
    result = refresh_from_warehouse("experiments-end", config=cfg, paths=paths)
    yield PlantedRun(paths, cfg, assign_day, end_day, lifts, first, result, paths.truth / "experiment.parquet")
    mp.undo()
