"""Write ML config files for tests: the project's config/ml.yml with some settings changed."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from ml.config import DEFAULT_CONFIG_PATH

FAST = {"selection": {"k_min": 5, "k_max": 5}, "stability": {"n_bootstrap": 2, "sample_rows": 800}}


def merged(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key not in {"params"}:
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def write_config(path: Path, changes: dict[str, Any] | None = None, *, fast: bool = True) -> Path:
    """config/ml.yml with `changes` merged in (nested mappings key by key), written to `path`."""
    data = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    data = merged(data, FAST) if fast else data
    path.write_text(yaml.safe_dump(merged(data, changes or {}), sort_keys=False))
    return path
