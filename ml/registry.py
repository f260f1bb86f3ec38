"""Model registry: versioned artifacts under `Paths.models`, metadata rows in `segments.model_registry`,
quality gates and the champion pointer (`segments.model_aliases`, alias `champion`).

Artifacts are skops files by default (loaded with an explicit list of trusted types, each of which must
belong to an allowed package) and joblib when skops cannot serialize a user's estimator. Every load checks
the file's sha256 against the registry row.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from .config import GateConfig
from .warehouse import table

CHAMPION = "champion"
# model_registry.status: candidate (registered, not gated), champion (the alias points here),
# rejected (failed a gate; `reason` says which), retired (a former champion)
STATUSES = ("candidate", "champion", "rejected", "retired")
TRUSTED_TYPE_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "ml.")
_LIBRARIES = ("scikit-learn", "numpy", "pandas", "scipy", "skops", "duckdb")


class ArtifactError(RuntimeError):
    """An artifact is missing, altered, or holds types we do not trust."""


def model_version_for(run_id: str) -> str:
    """Deterministic version per run id, so a re-run replaces its own model instead of adding one."""
    return "m_" + re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id).strip("_")[:100]


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for lib in _LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib] = "absent"
    return out


def code_version() -> str:
    """Package version plus the git commit of the checkout when there is one."""
    version = metadata.version("segwarehouse") if _installed("segwarehouse") else "0+unknown"
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=5, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{version}+g{sha}" if sha else version


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_artifact(model: Any, directory: Path, model_version: str, fmt: str = "skops") -> tuple[Path, str]:
    """Write the fitted pipeline; returns (path, format actually used)."""
    directory.mkdir(parents=True, exist_ok=True)
    if fmt == "skops":
        import skops.io as sio

        path = directory / f"{model_version}.skops"
        try:
            sio.dump(model, path)
            return path, "skops"
        except (TypeError, NotImplementedError):  # a user's estimator skops cannot represent
            path.unlink(missing_ok=True)
    if fmt not in {"skops", "joblib"}:
        raise ValueError(f"artifact_format must be skops or joblib, got {fmt!r}")
    import joblib

    path = directory / f"{model_version}.joblib"
    joblib.dump(model, path)
    return path, "joblib"


def load_artifact(path: Path, fmt: str, sha256: str | None = None,
                  trusted_prefixes: tuple[str, ...] = TRUSTED_TYPE_PREFIXES) -> Any:
    """Load a registered artifact after checking its hash and (skops) that every type is trusted."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"model artifact {path} is missing")
    if sha256 and sha256_of(path) != sha256:
        raise ArtifactError(f"model artifact {path} does not match its registry sha256")
    if fmt == "skops":
        import skops.io as sio

        untrusted = sio.get_untrusted_types(file=path)
        refused = [t for t in untrusted if not t.startswith(trusted_prefixes)]
        if refused:
            raise ArtifactError(f"{path} holds types outside {trusted_prefixes}: {refused}")
        return sio.load(path, trusted=untrusted)
    import joblib

    return joblib.load(path)


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reasons: list[str] = field(default_factory=list)  # why not (or "no champion" / "passed all gates")
    checks: dict[str, bool] = field(default_factory=dict)


def evaluate_gates(challenger: dict[str, float], champion: dict[str, float] | None,
                   gates: GateConfig) -> GateDecision:
    """Quality gates for promotion. Metrics: silhouette, ari_median, min_segment_jaccard,
    min_segment_share, min_segment_size. The champion's silhouette should be measured on the same data."""
    checks: dict[str, bool] = {}
    reasons: list[str] = []

    def check(name: str, ok: bool, why: str) -> None:
        checks[name] = bool(ok)
        if not ok:
            reasons.append(why)

    sil = challenger["silhouette"]
    check("min_silhouette", sil >= gates.min_silhouette,
          f"silhouette {sil:.3f} < minimum {gates.min_silhouette}")
    if champion is not None and champion.get("silhouette") is not None:
        floor = champion["silhouette"] - gates.silhouette_tolerance
        check("silhouette_vs_champion", sil >= floor,
              f"silhouette {sil:.3f} worse than champion {champion['silhouette']:.3f} "
              f"beyond tolerance {gates.silhouette_tolerance}")
    check("stability_ari", challenger["ari_median"] >= gates.min_ari,
          f"bootstrap ARI median {challenger['ari_median']:.3f} < {gates.min_ari}")
    check("stability_jaccard", challenger["min_segment_jaccard"] >= gates.min_segment_jaccard,
          f"least stable segment mean Jaccard {challenger['min_segment_jaccard']:.3f} < {gates.min_segment_jaccard}")
    check("min_segment_share", challenger["min_segment_share"] >= gates.min_segment_share,
          f"smallest segment share {challenger['min_segment_share']:.4f} < {gates.min_segment_share}")
    check("min_segment_size", challenger["min_segment_size"] >= gates.min_segment_size,
          f"smallest segment size {int(challenger['min_segment_size'])} < {gates.min_segment_size}")
    promote = not reasons
    if promote:
        reasons = ["passed all gates" + ("" if champion else " (no champion yet)")]
    return GateDecision(promote=promote, reasons=reasons, checks=checks)


def get_alias(con: duckdb.DuckDBPyConnection, schema: str, alias: str = CHAMPION) -> dict[str, Any] | None:
    rows = con.execute(f"select * from {table(schema, 'model_aliases')} where alias = ?", [alias]).df()
    return None if rows.empty else rows.iloc[0].to_dict()


def get_model_row(con: duckdb.DuckDBPyConnection, schema: str, model_version: str) -> dict[str, Any] | None:
    rows = con.execute(f"select * from {table(schema, 'model_registry')} where model_version = ?",
                       [model_version]).df()
    return None if rows.empty else rows.iloc[0].to_dict()


def register_model(con: duckdb.DuckDBPyConnection, schema: str, row: dict[str, Any]) -> None:
    """Insert or replace one registry row (dict/list values stored as JSON text)."""
    values = {k: json.dumps(v, sort_keys=True, default=str) if isinstance(v, dict | list) else v
              for k, v in row.items()}
    frame = pd.DataFrame([values])
    con.execute(f"delete from {table(schema, 'model_registry')} where model_version = ?", [row["model_version"]])
    con.register("_ml_registry_row", frame)
    try:
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        con.execute(f"insert into {table(schema, 'model_registry')} ({cols}) select {cols} from _ml_registry_row")
    finally:
        con.unregister("_ml_registry_row")


def move_alias(con: duckdb.DuckDBPyConnection, schema: str, model_version: str, run_id: str, reason: str,
               alias: str = CHAMPION) -> None:
    """Point `alias` at `model_version` (the promotion: one row changes, no artifact is copied)."""
    current = get_alias(con, schema, alias)
    previous = None
    if current is not None:
        previous = current["model_version"] if current["model_version"] != model_version \
            else current["previous_model_version"]
    con.execute(f"delete from {table(schema, 'model_aliases')} where alias = ?", [alias])
    con.execute(f"insert into {table(schema, 'model_aliases')} "
                "(alias, model_version, previous_model_version, run_id, updated_at, reason) values (?, ?, ?, ?, ?, ?)",
                [alias, model_version, previous, run_id, datetime.now(UTC), reason])
    if alias == CHAMPION:  # registry status follows the pointer: one champion, the former one retired
        con.execute(f"update {table(schema, 'model_registry')} set status = 'retired' "
                    "where status = 'champion' and model_version <> ?", [model_version])
        con.execute(f"update {table(schema, 'model_registry')} set status = 'champion' where model_version = ?",
                    [model_version])


def load_registered_model(con: duckdb.DuckDBPyConnection, schema: str,
                          model_version: str) -> tuple[Any, dict[str, Any]]:
    """(fitted pipeline, registry row with JSON columns decoded)."""
    row = get_model_row(con, schema, model_version)
    if row is None:
        raise ArtifactError(f"model {model_version!r} is not in {schema}.model_registry")
    for key in ("params", "features", "metrics", "segment_map", "segment_names", "centroids",
                "library_versions", "decision_reasons"):
        if isinstance(row.get(key), str):
            row[key] = json.loads(row[key])
    model = load_artifact(Path(row["artifact_path"]), row["artifact_format"], row["artifact_sha256"])
    return model, row
