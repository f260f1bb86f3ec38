"""Versioned identity models: the trained Splink settings (JSON with the estimated m and u probabilities) and
the term-frequency tables of the data it was trained on, one folder per version under
`$SEGWAREHOUSE_MODELS/identity/`, listed in `identity.model_registry`. The newest version is the current one."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from segwarehouse.warehouse.identity.schema import REGISTRY, ensure_schema

MODEL_FILE = "splink_model.json"


@dataclass(frozen=True)
class IdentityModel:
    version: str
    folder: Path

    @property
    def settings_path(self) -> Path:
        return self.folder / MODEL_FILE

    def tf_path(self, column: str) -> Path:
        return self.folder / f"tf_{column}.parquet"

    def tf_columns(self) -> list[str]:
        return sorted(p.stem[3:] for p in self.folder.glob("tf_*.parquet"))


def new_version(root: Path, settings_json: str) -> IdentityModel:
    """A fresh, empty version folder: time stamp + content hash, so versions sort by training time."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    version = f"identity-{stamp}-{hashlib.sha256(settings_json.encode()).hexdigest()[:8]}"
    folder = root / "identity" / version
    folder.mkdir(parents=True, exist_ok=False)
    return IdentityModel(version, folder)


def register(con: duckdb.DuckDBPyConnection, model: IdentityModel, *, contacts: int, seconds: float) -> None:
    ensure_schema(con)
    prior = json.loads(model.settings_path.read_text())["probability_two_random_records_match"]
    con.execute(f"insert into {REGISTRY} values (?, ?, ?, ?, ?, ?)",
                [model.version, datetime.now(UTC).replace(tzinfo=None), str(model.folder), contacts, prior,
                 round(seconds, 2)])


def current_model(con: duckdb.DuckDBPyConnection) -> IdentityModel | None:
    """The newest registered version whose files are there (None: train one first)."""
    ensure_schema(con)
    for version, path in con.execute(f"select model_version, path from {REGISTRY} "
                                     "order by trained_at desc, model_version desc").fetchall():
        model = IdentityModel(version, Path(path))
        if model.settings_path.is_file():
            return model
    return None
