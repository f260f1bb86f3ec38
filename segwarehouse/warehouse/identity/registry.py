"""Versioned identity models: the trained Splink settings (JSON with the estimated m and u probabilities) and
the term-frequency tables of the data it was trained on, one folder per version under
`$SEGWAREHOUSE_MODELS/identity/`, listed in `identity.model_registry`. The newest usable version is the current
one; a warehouse with none registered (built from scratch) adopts the newest usable version in the folder."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from segwarehouse.warehouse.identity.schema import REGISTRY, ensure_schema

log = logging.getLogger(__name__)

MODEL_FILE = "splink_model.json"


class UnusableModel(ValueError):
    """A version folder whose files cannot be scored with (missing, corrupt or incomplete)."""


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


def register(con: duckdb.DuckDBPyConnection, model: IdentityModel, *, contacts: int | None, seconds: float | None,
             source: str = "trained", trained_at: datetime | None = None) -> None:
    ensure_schema(con)
    prior = json.loads(model.settings_path.read_text())["probability_two_random_records_match"]
    con.execute(f"""insert into {REGISTRY} (model_version, trained_at, path, trained_on_contacts,
                    probability_two_random_records_match, seconds, source) values (?, ?, ?, ?, ?, ?, ?)""",
                [model.version, trained_at or datetime.now(UTC).replace(tzinfo=None), str(model.folder), contacts,
                 prior, None if seconds is None else round(seconds, 2), source])


def check(model: IdentityModel) -> None:
    """Raise UnusableModel (naming the file and what is wrong) unless the version can score: its settings JSON
    parses, has a prior and an m and u probability on every level, and its term-frequency tables are there."""
    path = model.settings_path
    try:
        settings = json.loads(path.read_text())
    except FileNotFoundError:
        raise UnusableModel(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnusableModel(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(settings, dict):
        raise UnusableModel(f"{path}: expected a JSON object of Splink settings")
    prior = settings.get("probability_two_random_records_match")
    if not isinstance(prior, int | float) or not 0 < prior < 1:
        raise UnusableModel(f"{path}: probability_two_random_records_match is {prior!r}, expected a number in (0, 1)")
    comparisons = settings.get("comparisons")
    if not isinstance(comparisons, list) or not comparisons:
        raise UnusableModel(f"{path}: no comparisons")
    tf_columns = set()
    for comparison in comparisons:
        levels = [lvl for lvl in comparison.get("comparison_levels", []) if not lvl.get("is_null_level")]
        name = comparison.get("output_column_name")
        for level in levels:
            # a level training never saw has no m probability (Splink scores it as neutral); a present one is
            # a probability
            for key in ("m_probability", "u_probability"):
                value = level.get(key)
                if value is not None and (not isinstance(value, int | float) or not 0 <= value <= 1):
                    raise UnusableModel(f"{path}: comparison {name!r}, level "
                                        f"{level.get('label_for_charts', level.get('sql_condition'))!r}: {key} is "
                                        f"{value!r}, expected a probability")
            if level.get("tf_adjustment_column"):
                tf_columns.add(level["tf_adjustment_column"])
        if not any(lvl.get("m_probability") is not None and lvl.get("u_probability") is not None for lvl in levels):
            raise UnusableModel(f"{path}: comparison {name!r} has no estimated m and u probabilities "
                                "(not a trained model)")
    for column in sorted(tf_columns):
        if not model.tf_path(column).is_file():
            raise UnusableModel(f"{model.tf_path(column)}: missing (term-frequency table of {column})")


def _usable(model: IdentityModel) -> bool:
    try:
        check(model)
    except UnusableModel as exc:
        log.warning("identity model %s not usable: %s", model.version, exc)
        return False
    return True


def current_model(con: duckdb.DuckDBPyConnection) -> IdentityModel | None:
    """The newest registered version whose files are usable (None: adopt or train one first)."""
    ensure_schema(con)
    for version, path in con.execute(f"select model_version, path from {REGISTRY} "
                                     "order by trained_at desc, model_version desc").fetchall():
        model = IdentityModel(version, Path(path))
        if _usable(model):
            return model
    return None


def adopt_from_disk(con: duckdb.DuckDBPyConnection, root: Path) -> tuple[IdentityModel | None, list[str]]:
    """Register the newest usable version folder under `root/identity/` that this warehouse has not registered
    (a warehouse rebuilt from scratch keeps the model its models folder holds); return it (None: train one) and
    the reasons the newer folders were passed over."""
    ensure_schema(con)
    known = {r[0] for r in con.execute(f"select model_version from {REGISTRY}").fetchall()}
    rejected: list[str] = []
    folders = sorted((p for p in (root / "identity").glob("identity-*") if p.is_dir() and p.name not in known),
                     key=lambda p: p.name, reverse=True)  # versions sort by training time
    for folder in folders:
        model = IdentityModel(folder.name, folder)
        try:
            check(model)
        except UnusableModel as exc:
            log.warning("identity model %s not adopted: %s", model.version, exc)
            rejected.append(str(exc))
            continue
        try:
            contacts = json.loads((folder / "training.json").read_text()).get("contacts")
        except (OSError, ValueError, AttributeError):
            contacts = None
        trained_at = datetime.fromtimestamp(model.settings_path.stat().st_mtime, UTC).replace(tzinfo=None)
        register(con, model, contacts=contacts, seconds=None, source=f"adopted from {folder}", trained_at=trained_at)
        log.info("identity model %s adopted from %s", model.version, folder)
        return model, rejected
    return None, rejected
