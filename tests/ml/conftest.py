"""Fixtures for the ml tests: planted-persona profiles and a fast config (fewer bootstraps)."""

from __future__ import annotations

import pytest

from ml.config import MLConfig
from ml.config_loader import load_config
from ml.train import SegmentationFit, train_segmentation

from .profiles import make_profiles


@pytest.fixture(scope="session")
def cfg() -> MLConfig:
    # the fresh-process load check (a new interpreter importing scikit-learn and skops per promotion) runs in
    # the tests about it (test_model_lifecycle.py) and wherever the project's config is loaded unchanged
    return load_config().replace(stability={"n_bootstrap": 4, "sample_rows": 1500}, gates={"load_check": False})


@pytest.fixture(scope="session")
def planted():
    """(profiles, persona truth): 3000 persons, five planted personas, with gaps."""
    return make_profiles(3000, seed=1)


@pytest.fixture(scope="session")
def trained(cfg, planted) -> SegmentationFit:
    frame, _ = planted
    return train_segmentation(frame, cfg)


@pytest.fixture(scope="session")
def fast_cfg(cfg) -> MLConfig:
    """k fixed at the five planted personas and two bootstraps: for tests that train several times."""
    return cfg.replace(selection={"k_min": 5, "k_max": 5}, stability={"n_bootstrap": 2, "sample_rows": 800})
