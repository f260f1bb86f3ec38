"""One place for every file location; each is overridable by an environment variable.

`SEGWAREHOUSE_HOME` is the project root (defaults to this checkout), `SEGWAREHOUSE_DATA` the data root.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Paths:
    """Resolved locations for one environment (read the environment once, pass the object around)."""

    home: Path
    data: Path
    # set for a private build next to the live one (an erasure rebuilds a copy before swapping it in)
    raw_dir: Path | None = None
    warehouse_file: Path | None = None

    @property
    def raw(self) -> Path:
        """Landing zone of source files (see docs/sources.md)."""
        return self.raw_dir or Path(os.environ.get("SEGWAREHOUSE_RAW", self.data / "raw"))

    @property
    def truth(self) -> Path:
        """Generator ground truth: read by tests and benchmarks only, never by the pipeline."""
        return self.data / "truth"

    @property
    def warehouse(self) -> Path:
        """The DuckDB file dbt writes (single writer)."""
        return self.warehouse_file or Path(
            os.environ.get("SEGWAREHOUSE_DUCKDB", self.data / "warehouse" / "segwarehouse.duckdb"))

    @property
    def serving(self) -> Path:
        """The read-only DuckDB file BI tools query, replaced atomically on publish."""
        return Path(os.environ.get("SEGWAREHOUSE_SERVING", self.data / "serving" / "segwarehouse_serving.duckdb"))

    @property
    def runs(self) -> Path:
        """Run-scoped artifacts: validation results, reports, model files."""
        return self.data / "runs"

    @property
    def models(self) -> Path:
        """Versioned model artifacts (registry rows point here)."""
        return Path(os.environ.get("SEGWAREHOUSE_MODELS", self.data / "models"))

    @property
    def ml_config(self) -> Path:
        """The segmentation config of this deployment (docs/ml.md); train, score and the DAGs read it."""
        return Path(os.environ.get("SEGWAREHOUSE_ML_CONFIG", self.home / "config" / "ml.yml"))

    @property
    def sources_config(self) -> Path:
        """Which sources this deployment delivers (optional; docs/own-data.md): absent = detected."""
        return Path(os.environ.get("SEGWAREHOUSE_SOURCES_CONFIG", self.home / "config" / "sources.yml"))

    @property
    def gate_config(self) -> Path:
        """The quality gate's thresholds for this deployment (docs/quality.md); absent keys keep the defaults."""
        return Path(os.environ.get("SEGWAREHOUSE_GATE_CONFIG", self.home / "config" / "quality.yml"))

    @property
    def dbt_project(self) -> Path:
        return self.home / "dbt_project"


def get_paths() -> Paths:
    """Paths for the current environment."""
    home = Path(os.environ.get("SEGWAREHOUSE_HOME", _REPO_ROOT)).resolve()
    data = Path(os.environ.get("SEGWAREHOUSE_DATA", home / "data")).resolve()
    return Paths(home=home, data=data)


def run_folder_name(run_id: str | None, fallback: str) -> str:
    """A file-system safe name for a run id (Airflow run ids hold ':' and '+')."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id or fallback).strip("_")
