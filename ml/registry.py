"""Model registry: versioned artifacts under `Paths.models`, metadata rows in `segments.model_registry`,
quality gates and the champion pointer (`segments.model_aliases`, alias `champion`).

Artifacts are skops files by default (loaded with an explicit list of trusted types, each of which must
belong to the libraries, `ml` or a package of `allowed_module_prefixes`) and joblib when skops cannot
serialize a user's estimator (the fallback is logged and recorded). Every load checks the file's sha256
against the registry row. Who moves the champion, and the audit trail: `ml.lifecycle`, `ml.audit`.
"""

from __future__ import annotations

import hashlib
import json
import logging
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

log = logging.getLogger(__name__)

CHAMPION = "champion"
# model_registry.status: candidate (registered, not gated), champion (the alias points here),
# rejected (failed a gate; `reason` says which), retired (a former champion), failed (its artifact did not
# load or score: never promoted or rolled back to until a load check passes again)
STATUSES = ("candidate", "champion", "rejected", "retired", "failed")
TRUSTED_TYPE_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "ml.")
JSON_COLUMNS = ("params", "features", "metrics", "segment_map", "segment_names", "centroids", "library_versions",
                "decision_reasons", "config", "settings", "comparison", "gate_checks", "trusted_prefixes",
                "load_check", "naming")


def trusted_prefixes(allowed_module_prefixes: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Types an artifact may hold: the libraries, `ml`, and every package the config allows models from."""
    extra = tuple(f"{p.rstrip('.')}." for p in allowed_module_prefixes)
    return tuple(dict.fromkeys(TRUSTED_TYPE_PREFIXES + extra))
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


def save_artifact(model: Any, directory: Path, model_version: str, fmt: str = "skops",
                  notes: list[str] | None = None) -> tuple[Path, str]:
    """Write the fitted pipeline; returns (path, format actually used). A skops -> joblib fallback is logged
    and its reason appended to `notes` (stored in the registry as `artifact_note`)."""
    if fmt not in {"skops", "joblib"}:
        raise ValueError(f"artifact_format must be skops or joblib, got {fmt!r}")
    directory.mkdir(parents=True, exist_ok=True)
    if fmt == "skops":
        import skops.io as sio

        path = directory / f"{model_version}.skops"
        try:
            sio.dump(model, path)
            return path, "skops"
        except (TypeError, NotImplementedError, AttributeError) as exc:  # an estimator skops cannot represent
            path.unlink(missing_ok=True)
            note = f"skops cannot serialize this model ({type(exc).__name__}: {exc}); saved with joblib instead"
            log.warning("%s: %s", model_version, note)
            if notes is not None:
                notes.append(note)
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
            raise ArtifactError(f"{path} holds types outside {trusted_prefixes}: {refused} (a package of yours "
                                "must be in allowed_module_prefixes of the config that trained the model)")
        return sio.load(path, trusted=untrusted)
    import joblib

    return joblib.load(path)


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reasons: list[str] = field(default_factory=list)  # why not (or "no champion" / "passed all gates")
    checks: dict[str, bool] = field(default_factory=dict)
    compared: dict[str, Any] = field(default_factory=dict)  # the figures the challenger was compared with


def _best(champions: list[dict[str, Any]], metric: str) -> dict[str, Any] | None:
    scored = [c for c in champions if isinstance(c.get(metric), int | float) and c[metric] == c[metric]]
    return max(scored, key=lambda c: c[metric]) if scored else None


def evaluate_gates(challenger: dict[str, float], champion: dict[str, Any] | None, gates: GateConfig,
                   recent: list[dict[str, Any]] | None = None) -> GateDecision:
    """Quality gates for promotion: absolute floors (silhouette, median bootstrap ARI, segment Jaccard, share,
    size, noise share) and, against the best of the recent champions (`recent`; default: the current
    `champion` alone), silhouette within `silhouette_tolerance` and median ARI within `ari_tolerance`.

    Champion silhouettes should be measured on the challenger's rows; their ARI is the one recorded when
    they were trained. The figures used are returned in `compared`."""
    checks: dict[str, bool] = {}
    reasons: list[str] = []
    champions = list(recent) if recent is not None else ([champion] if champion else [])

    def check(name: str, ok: bool, why: str) -> None:
        checks[name] = bool(ok)
        if not ok:
            reasons.append(why)

    sil = challenger["silhouette"]
    check("min_silhouette", sil >= gates.min_silhouette,
          f"silhouette {sil:.3f} < minimum {gates.min_silhouette}")
    compared: dict[str, Any] = {
        "champions": champions,
        "floors": {k: getattr(gates, k) for k in ("min_silhouette", "min_ari", "min_segment_jaccard",
                                                   "min_segment_share", "min_segment_size", "max_noise_share")},
        "tolerances": {"silhouette": gates.silhouette_tolerance, "ari_median": gates.ari_tolerance},
    }
    best_sil = _best(champions, "silhouette")
    if best_sil is not None:
        floor = best_sil["silhouette"] - gates.silhouette_tolerance
        compared["best_silhouette"] = {"model_version": best_sil.get("model_version"),
                                       "value": best_sil["silhouette"], "floor": floor}
        check("silhouette_vs_champions", sil >= floor,
              f"silhouette {sil:.3f} worse than {best_sil['silhouette']:.3f} of champion "
              f"{best_sil.get('model_version')} (best of the last {len(champions)}) beyond tolerance "
              f"{gates.silhouette_tolerance}")
    ari = challenger["ari_median"]
    check("stability_ari", ari >= gates.min_ari, f"bootstrap ARI median {ari:.3f} < {gates.min_ari}")
    best_ari = _best(champions, "ari_median")
    if best_ari is not None:
        floor = best_ari["ari_median"] - gates.ari_tolerance
        compared["best_ari_median"] = {"model_version": best_ari.get("model_version"),
                                       "value": best_ari["ari_median"], "floor": floor}
        check("stability_vs_champions", ari >= floor,
              f"bootstrap ARI median {ari:.3f} worse than {best_ari['ari_median']:.3f} of champion "
              f"{best_ari.get('model_version')} (best of the last {len(champions)}) beyond tolerance "
              f"{gates.ari_tolerance}")
    check("stability_jaccard", challenger["min_segment_jaccard"] >= gates.min_segment_jaccard,
          f"least stable segment mean Jaccard {challenger['min_segment_jaccard']:.3f} < {gates.min_segment_jaccard}")
    check("min_segment_share", challenger["min_segment_share"] >= gates.min_segment_share,
          f"smallest segment share {challenger['min_segment_share']:.4f} < {gates.min_segment_share}")
    check("min_segment_size", challenger["min_segment_size"] >= gates.min_segment_size,
          f"smallest segment size {int(challenger['min_segment_size'])} < {gates.min_segment_size}")
    noise = float(challenger.get("noise_share") or 0.0)
    check("max_noise_share", noise <= gates.max_noise_share,
          f"{noise:.1%} of persons left unassigned (noise) > {gates.max_noise_share:.0%}")
    promote = not reasons
    if promote:
        reasons = ["passed all gates" + ("" if champions else " (no champion yet)")]
    return GateDecision(promote=promote, reasons=reasons, checks=checks, compared=compared)


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
               alias: str = CHAMPION, previous: str | bool | None = False) -> None:
    """Point `alias` at `model_version` (the promotion: one row changes, no artifact is copied).

    `previous`: the version a rollback would go back to (`ml.lifecycle` passes it); by default the version
    the alias pointed at before."""
    current = get_alias(con, schema, alias)
    if previous is False:
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


def decode_row(row: dict[str, Any]) -> dict[str, Any]:
    """A registry row with its JSON text columns decoded."""
    for key in JSON_COLUMNS:
        if isinstance(row.get(key), str):
            row[key] = json.loads(row[key])
    return row


def row_trusted_prefixes(row: dict[str, Any]) -> tuple[str, ...]:
    """The trusted type prefixes recorded when the model was trained (the libraries and `ml` for rows
    written before they were recorded)."""
    stored = row.get("trusted_prefixes")
    return tuple(stored) if isinstance(stored, list) and stored else TRUSTED_TYPE_PREFIXES


def load_registered_model(con: duckdb.DuckDBPyConnection, schema: str,
                          model_version: str) -> tuple[Any, dict[str, Any]]:
    """(fitted pipeline, registry row with JSON columns decoded)."""
    row = get_model_row(con, schema, model_version)
    if row is None:
        raise ArtifactError(f"model {model_version!r} is not in {schema}.model_registry")
    row = decode_row(row)
    model = load_artifact(Path(row["artifact_path"]), row["artifact_format"], row["artifact_sha256"],
                          row_trusted_prefixes(row))
    return model, row
