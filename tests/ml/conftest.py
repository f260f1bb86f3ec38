"""Fixtures for the ml tests: planted-persona profiles and a fast config (fewer bootstraps)."""

from __future__ import annotations

import pytest

from ml.config import MLConfig, load_config
from ml.train import SegmentationFit, train_segmentation

from .profiles import make_profiles


@pytest.fixture(scope="session")
def cfg() -> MLConfig:
    return load_config().replace(stability={"n_bootstrap": 4, "sample_rows": 1500})


@pytest.fixture(scope="session")
def planted():
    """(profiles, persona truth): 3000 persons, five planted personas, with gaps."""
    return make_profiles(3000, seed=1)


@pytest.fixture(scope="session")
def trained(cfg, planted) -> SegmentationFit:
    frame, _ = planted
    return train_segmentation(frame, cfg)
