"""Training: pure functions on frames (`train_segmentation`, `decide_promotion`) and the I/O entry points
`train(con_or_path, config, run_id, as_of_date) -> TrainResult` (and `train_from_warehouse`, the same for
the configured warehouse, returning a dict) that read the profile mart, register the model and, when the
gates and the fresh-process load check pass, make it champion (`ml.lifecycle`)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from segwarehouse.core.paths import Paths, get_paths

from . import warehouse as wh
from .alignment import NO_SEGMENT, align_segment_ids, label_centroids
from .audit import current_actor, record_event
from .config import MLConfig
from .config_loader import check_config, load_config
from .feature_choice import choose_features
from .features import add_derived_columns, build_preprocessor, build_reducer, feature_completeness
from .lifecycle import recent_champions, set_champion
from .load_check import LoadCheck, run_load_check, write_check_sample
from .metrics import assigned_silhouette, noise_share, segment_silhouette
from .models import apply_density_defaults, build_segmenter, find_k_param, input_columns, with_k
from .naming import CatalogEntry, NameDecision, decide_names, decisions_to_json, next_segment_id, read_catalog
from .personas import build_profiles
from .registry import (
    CHAMPION,
    GateDecision,
    code_version,
    evaluate_gates,
    get_alias,
    library_versions,
    load_registered_model,
    model_version_for,
    register_model,
    save_artifact,
    sha256_of,
    trusted_prefixes,
)
from .selection import rank_candidates, sample_indices, select_k
from .stability import bootstrap_stability

log = logging.getLogger(__name__)


@dataclass
class PreviousModel:
    """The champion a challenger is aligned with and compared to."""

    model: Pipeline
    segment_map: dict[int, int]
    model_version: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class SegmentationFit:
    """What `train_segmentation` learns from a frame (no I/O)."""

    model: Pipeline
    k: int
    segment_map: dict[int, int]  # segmenter label -> stable segment_id
    segment_names: dict[int, str]  # segment_id -> name (kept from the catalog while its traits hold)
    centroids: dict[int, list[float]]  # segment_id -> centre in the transformed space (for distances)
    candidates: pd.DataFrame  # every k tried, with its scores
    stability: pd.DataFrame  # per segment_id: mean/min Jaccard, status
    profiles: pd.DataFrame  # per segment_id on the training rows
    metrics: dict[str, Any]
    champion_metrics: dict[str, Any] | None  # the previous champion measured on the same rows
    n_rows_train: int
    as_of_date: Any
    seconds: float
    profile_features: pd.DataFrame = field(default_factory=pd.DataFrame)  # segment x feature z-scores
    naming: list[NameDecision] = field(default_factory=list)  # per segment: name, key, kept/new/renamed, why
    recent_metrics: list[dict[str, Any]] = field(default_factory=list)  # recent champions on the same rows
    data_window: dict[str, Any] = field(default_factory=dict)  # from/to dates and rows of the training data


def map_labels(labels: np.ndarray, segment_map: dict[int, int]) -> np.ndarray:
    """Segmenter labels -> segment ids (-1, no segment, for noise and any label the map does not know)."""
    return pd.Series(labels).map({int(k): int(v) for k, v in segment_map.items()}).fillna(-1).to_numpy(dtype=int)


def prepare_training_frame(frame: pd.DataFrame, cfg: MLConfig) -> pd.DataFrame:
    """Derived columns, and only rows complete enough to shape the segments (seed: completeness threshold)."""
    out = add_derived_columns(frame)
    out["feature_completeness"] = feature_completeness(out, cfg)
    return out[out["feature_completeness"] >= cfg.features.min_completeness].reset_index(drop=True)


def _json_params(est: BaseEstimator) -> dict[str, Any]:
    return {k: v if isinstance(v, str | int | float | bool | type(None)) else repr(v)
            for k, v in est.get_params(deep=False).items()}


def _choose_stable_k(Z: np.ndarray, base: BaseEstimator, preferred: int, candidates: pd.DataFrame,
                     cfg: MLConfig) -> tuple[int, BaseEstimator, np.ndarray, Any]:
    """The preferred k unless one of its segments dissolves under bootstrap refits (clusterboot Jaccard below
    `unstable_jaccard`, Hennig's "do not trust"): then the next candidate by the selection criterion whose
    segments all hold. When none holds, the preferred k is kept and the promotion gate rejects it."""
    st = cfg.stability
    order = [preferred] + [k for k in rank_candidates(candidates) if k != preferred]
    first = None
    for k in order:
        segmenter = with_k(base, k, cfg.model.k_param).fit(Z)
        labels = np.asarray(segmenter.predict(Z))
        stab = bootstrap_stability(Z, segmenter, n_bootstrap=st.n_bootstrap, sample_rows=st.sample_rows,
                                   seed=cfg.seed, stable=st.stable_jaccard, unstable=st.unstable_jaccard,
                                   reference_labels=labels)
        first = first or (k, segmenter, labels, stab)
        if stab.min_jaccard >= st.unstable_jaccard:
            return k, segmenter, labels, stab
    return first


def _measure(model: PreviousModel, data: pd.DataFrame, sil_idx: np.ndarray) -> tuple[dict[str, Any], np.ndarray]:
    """A former model's figures on the challenger's rows: segment ids and silhouette (in its own space, on
    its own features)."""
    X = data[input_columns(model.model, [])]
    ids = map_labels(np.asarray(model.model.predict(X)), model.segment_map)
    Zp = np.asarray(model.model[:-1].transform(X.iloc[sil_idx]), dtype=np.float64)
    sil = segment_silhouette(Zp, ids[sil_idx])
    recorded = model.metrics or {}
    return {"model_version": model.model_version, "silhouette": None if np.isnan(sil) else sil,
            "silhouette_recorded": recorded.get("silhouette"), "ari_median": recorded.get("ari_median"),
            "noise_share": float(np.mean(ids == NO_SEGMENT))}, ids


def data_window(data: pd.DataFrame, n_population: int, n_eligible: int) -> dict[str, Any]:
    """Dates and rows the model learned from: profiles as of `to`, behaviour back to `from` (the earliest
    first activity of the training rows)."""
    out: dict[str, Any] = {"rows_trained_on": len(data), "rows_in_population": n_population,
                           "rows_complete_enough": n_eligible, "from": None, "to": None}
    if "as_of_date" in data and len(data):
        as_of = pd.to_datetime(data["as_of_date"])
        out["to"] = as_of.max().date()
        out["from"] = as_of.min().date()
        if "days_since_first_activity" in data and data["days_since_first_activity"].notna().any():
            first = as_of - pd.to_timedelta(pd.to_numeric(data["days_since_first_activity"]), unit="D")
            out["from"] = min(out["from"], first.min().date())
    return out


def train_segmentation(frame: pd.DataFrame, cfg: MLConfig, *, previous: PreviousModel | None = None,
                       n_population: int | None = None, recent: Sequence[PreviousModel] = (),
                       catalog: Mapping[int, CatalogEntry] | None = None, next_id: int = 1) -> SegmentationFit:
    """Fit preprocessing, choose k, fit the segmenter, measure stability, align ids, name segments.

    `frame` has the mart's columns; `n_population` is the number of persons the model will score
    (defaults to the eligible rows) and turns segment shares into the sizes the size gate checks.
    `previous` is the champion ids are aligned with; `recent` the former champions the gates compare with
    (each measured on these rows); `catalog` the current segment names (`ml.naming`); `next_id` the first
    id a new segment may get.
    """
    start = time.perf_counter()
    data = prepare_training_frame(frame, cfg)
    n_eligible = len(data)
    if len(data) < cfg.selection.k_max * 10:
        raise ValueError(f"only {len(data)} complete rows to train on")
    data = data.iloc[sample_indices(len(data), cfg.selection.train_sample_rows, cfg.seed)].reset_index(drop=True)
    features = list(cfg.features.all)
    preprocess = build_preprocessor(cfg).fit(data[features])
    reduce = build_reducer(cfg)
    Z = preprocess.transform(data[features])
    if reduce != "passthrough":
        Z = reduce.fit_transform(Z)
    base = apply_density_defaults(build_segmenter(cfg.model, cfg), len(data), cfg)
    sel = cfg.selection
    k, candidates = select_k(Z, base, sel.k_min, sel.k_max, criterion=sel.criterion,
                             silhouette_rows=sel.silhouette_sample_rows, seed=cfg.seed, k_param=cfg.model.k_param)
    k, segmenter, labels, stab = _choose_stable_k(Z, base, k, candidates, cfg)
    candidates = candidates.assign(selected=candidates["k"] == k)
    model = Pipeline([("preprocess", preprocess), ("reduce", reduce), ("segmenter", segmenter)])

    champion_metrics = None
    previous_ids = None
    sil_idx = sample_indices(len(Z), sel.silhouette_sample_rows, cfg.seed)
    if previous is not None:
        champion_metrics, previous_ids = _measure(previous, data, sil_idx)
    recent_metrics = [champion_metrics] if champion_metrics else []
    for former in recent:
        if previous is None or former.model_version != previous.model_version:
            recent_metrics.append(_measure(former, data, sil_idx)[0])
    segment_map = align_segment_ids(Z, labels, previous_ids, next_id=next_id)
    segment_ids = map_labels(labels, segment_map)

    st = cfg.stability
    stability = stab.segments.assign(segment_id=map_labels(stab.segments["label"].to_numpy(), segment_map),
                                     ari_median=stab.ari_median, n_bootstrap=st.n_bootstrap)

    profiles, profile_features = build_profiles(data, segment_ids, list(cfg.features.numeric_all), cfg.personas)
    naming = decide_names(catalog or {}, profiles, profile_features, cfg.personas)
    assigned = segment_ids != NO_SEGMENT
    uniq, cents = label_centroids(Z[assigned], segment_ids[assigned])
    shares = profiles.set_index("segment_id")["share"]
    n_pop = int(n_population or len(data))
    chosen = candidates.loc[candidates["selected"]].iloc[0]
    metrics = {
        "k": int(k),
        "silhouette": float(chosen["silhouette"]),
        "silhouette_assigned": assigned_silhouette(Z[sil_idx], labels[sil_idx]),
        "noise_share": noise_share(labels),
        "inertia": None if pd.isna(chosen["inertia"]) else float(chosen["inertia"]),
        "bic": None if pd.isna(chosen["bic"]) else float(chosen["bic"]),
        "criterion_used": str(chosen["criterion_used"]),
        "ari_median": stab.ari_median,
        "ari_mean": stab.ari_mean,
        "min_segment_jaccard": stab.min_jaccard,
        "min_segment_share": float(shares.min()) if len(shares) else 0.0,
        "min_segment_size": int(np.floor(shares.min() * n_pop)) if len(shares) else 0,
        "segment_shares": {int(s): round(float(v), 6) for s, v in shares.items()},
        "imputer": preprocess.named_transformers_["numeric"].named_steps["impute"].method_used_,
    }
    return SegmentationFit(
        model=model, k=int(k), segment_map=segment_map,
        segment_names={d.segment_id: d.name for d in naming},
        centroids={int(s): c.round(6).tolist() for s, c in zip(uniq, cents, strict=True)},
        candidates=candidates, stability=stability, profiles=profiles, metrics=metrics,
        champion_metrics=champion_metrics, n_rows_train=len(data),
        as_of_date=pd.to_datetime(data["as_of_date"]).max().date() if "as_of_date" in data else None,
        seconds=round(time.perf_counter() - start, 3), profile_features=profile_features, naming=naming,
        recent_metrics=recent_metrics, data_window=data_window(data, n_pop, n_eligible),
    )


def decide_promotion(result: SegmentationFit, cfg: MLConfig) -> GateDecision:
    """Gate the challenger: absolute floors, and the best of the recent champions measured on the same rows."""
    return evaluate_gates(result.metrics, result.champion_metrics, cfg.gates, recent=result.recent_metrics)


def config_sha256(cfg: MLConfig) -> str:
    """Hash of every setting (canonical JSON of the parsed config): equal hashes, equal configs."""
    text = json.dumps(dataclasses.asdict(cfg), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def registry_row(result: SegmentationFit, cfg: MLConfig, *, model_version: str, run_id: str, artifact: Any,
                 fmt: str, sha256: str, decision: GateDecision, n_population: int,
                 status: str | None = None, artifact_note: str | None = None,
                 load_check: LoadCheck | None = None) -> dict[str, Any]:
    """The model card: metadata stored beside the artifact (registry table and the `.json` sidecar)."""
    seg = result.model.named_steps["segmenter"]
    status = status or ("champion" if decision.promote else "rejected")
    fc = cfg.features
    return {
        "status": status, "reason": "; ".join(decision.reasons), "n_rows": n_population,
        "silhouette": result.metrics["silhouette"], "stability": result.metrics["ari_mean"],
        "min_segment_share": result.metrics["min_segment_share"],
        "noise_share": result.metrics.get("noise_share", 0.0),
        "model_version": model_version, "run_id": run_id, "created_at": datetime.now(UTC),
        "algorithm": f"{type(seg).__module__}.{type(seg).__qualname__}",
        "params": {"model": cfg.model.name, "k_param": find_k_param(seg, cfg.model.k_param),
                   "segmenter": _json_params(seg), "imputation": cfg.imputation.__dict__,
                   "pca_components": cfg.pca_components, "seed": cfg.seed},
        "features": {"log1p": list(fc.log1p), "numeric": list(fc.numeric), "categorical": list(fc.categorical),
                     "fill_values": fc.fill_values, "weights": fc.weights, "min_completeness": fc.min_completeness,
                     "max_categories": fc.max_categories},
        "settings": {"selection": dataclasses.asdict(cfg.selection), "stability": dataclasses.asdict(cfg.stability),
                     "gates": dataclasses.asdict(cfg.gates), "allowed_module_prefixes": list(cfg.allowed_module_prefixes),
                     "artifact_format": cfg.artifact_format},
        "config_sha256": config_sha256(cfg), "config": dataclasses.asdict(cfg),
        "k": result.k, "as_of_date": result.as_of_date, "source_relation": cfg.input.relation,
        "data_from": result.data_window.get("from"), "data_to": result.data_window.get("to"),
        "n_rows_train": result.n_rows_train, "n_rows_population": n_population,
        "metrics": {**result.metrics, "train_seconds": result.seconds, "data_window": result.data_window},
        "segment_map": {str(k): v for k, v in result.segment_map.items()},
        "segment_names": {str(k): v for k, v in result.segment_names.items()},
        "naming": decisions_to_json(result.naming),
        "centroids": {str(k): v for k, v in result.centroids.items()},
        "library_versions": library_versions(), "code_version": code_version(),
        "artifact_path": str(artifact), "artifact_format": fmt, "artifact_sha256": sha256,
        "artifact_note": artifact_note, "trusted_prefixes": list(trusted_prefixes(cfg.allowed_module_prefixes)),
        "load_check": load_check.as_dict() if load_check else None,
        "compared_to": (result.champion_metrics or {}).get("model_version"),
        "comparison": decision.compared, "gate_checks": decision.checks,
        "decision": "promoted" if decision.promote else "rejected",
        "decision_reasons": decision.reasons,
    }


def _previous(con: Any, schema: str, version: str) -> PreviousModel:
    model, row = load_registered_model(con, schema, version)
    return PreviousModel(model=model, segment_map={int(k): int(v) for k, v in row["segment_map"].items()},
                         model_version=version, metrics=row["metrics"])


def load_champion(con: Any, cfg: MLConfig, exclude_version: str | None = None) -> PreviousModel | None:
    """The current champion (or, on a re-run of the champion's own run, the one before it)."""
    schema = cfg.input.output_schema
    alias = get_alias(con, schema, CHAMPION)
    if alias is None:
        return None
    version = alias["model_version"]
    if version == exclude_version:
        version = alias.get("previous_model_version")
        if not isinstance(version, str):
            return None
    return _previous(con, schema, version)


def load_recent_champions(con: Any, cfg: MLConfig, exclude_version: str | None = None,
                          loaded: PreviousModel | None = None) -> list[PreviousModel]:
    """The last `gates.compare_last_champions` champions that still load (one that does not is skipped with
    a warning: the gates compare with the others); `loaded` is reused instead of loading it again."""
    schema = cfg.input.output_schema
    out = []
    for version in recent_champions(con, schema, cfg.gates.compare_last_champions + 1):
        if version == exclude_version or len(out) >= cfg.gates.compare_last_champions:
            continue
        if loaded is not None and version == loaded.model_version:
            out.append(loaded)
            continue
        try:
            out.append(_previous(con, schema, version))
        except Exception as exc:  # an old artifact that no longer loads must not block training
            log.warning("former champion %s not compared: %s", version, exc)
    return out


def _latest_as_of(con: Any, cfg: MLConfig, as_of_date: Any) -> Any:
    """The snapshot date a training run reads (for its default run id)."""
    if as_of_date is not None:
        return pd.Timestamp(as_of_date).date()
    rel = wh.quote_relation(cfg.input.relation)
    if "as_of_date" not in _profile_columns(con, rel):
        return None
    latest = con.execute(f"select max(as_of_date) from {rel}").fetchone()[0]
    return None if latest is None else pd.Timestamp(latest).date()


def _profile_columns(con: Any, relation: str) -> list[str]:
    return [r[0] for r in con.execute(f"select * from {relation} limit 0").description]


def read_training_frame(con: Any, cfg: MLConfig, as_of_date: Any = None,
                        also: list[str] | tuple[str, ...] = ()) -> tuple[pd.DataFrame, int]:
    """A seeded reservoir sample of the mart (bounded memory) and the population size.

    With `as_of_date`, only that snapshot's rows (a relation that keeps several `as_of_date`s); `also`: more
    columns wanted when the relation has them (the features of the champions a challenger is compared with)."""
    rel = wh.quote_relation(cfg.input.relation)
    if as_of_date is not None:
        rel = f"(select * from {rel} where as_of_date = cast('{pd.Timestamp(as_of_date).date()}' as date))"
    available = set(_profile_columns(con, rel))
    wanted = [cfg.input.id_column, *cfg.features.all, "frequency", "as_of_date", "signup_at",
              "days_since_first_activity", *cfg.features.fallback_log1p, *cfg.features.fallback_numeric, *also]
    cols = ", ".join(f'"{c}"' for c in dict.fromkeys(wanted) if c in available)
    missing = set(cfg.features.all) - available
    if missing:
        raise ValueError(f"{cfg.input.relation} lacks model feature column(s) {sorted(missing)}")
    n = int(con.execute(f"select count(*) from {rel}").fetchone()[0])
    if n == 0:
        raise ValueError(f"{cfg.input.relation} has no rows" + (f" for as_of_date {as_of_date}" if as_of_date else ""))
    limit = cfg.selection.train_sample_rows
    source = f"(select {cols} from {rel} using sample reservoir({limit} rows) repeatable ({cfg.seed}))" \
        if n > limit else rel
    frame = con.execute(f'select {cols} from {source} order by "{cfg.input.id_column}"').df()
    return frame, n


@dataclass
class TrainResult:
    """Outcome of one training run (`train`): the registered version, the gate decision and the fit."""

    run_id: str
    model_version: str
    k: int
    promoted: bool
    status: str  # champion | rejected | candidate (registered without gating)
    reasons: list[str]
    metrics: dict[str, Any]
    seconds: float  # fit time (selection + final fit + stability)
    artifact_path: Path
    champion_version: str | None  # the champion after this run
    fit: SegmentationFit

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "model_version": self.model_version, "k": self.k,
                "promoted": self.promoted, "status": self.status, "reasons": self.reasons,
                "metrics": self.metrics, "train_seconds": self.seconds, "artifact_path": str(self.artifact_path),
                "champion_version": self.champion_version}


def train(con_or_path: Any, config: MLConfig | None = None, run_id: str | None = None, as_of_date: Any = None,
          *, models_dir: str | Path | None = None, promote: bool = True) -> TrainResult:
    """Train a challenger on the profile relation, register it, gate it and move the champion pointer.

    `con_or_path`: an open DuckDB connection (read-write) or the warehouse file path. `run_id` defaults to
    `manual__<as_of_date>`; a re-run of the same run id replaces its own model version. `models_dir`
    defaults to `segwarehouse.core.paths.get_paths().models`. `promote=False` registers the model as a
    `candidate` without gating or touching the champion (e.g. to compare algorithms).
    """
    cfg = config or load_config()
    models = Path(models_dir) if models_dir is not None else get_paths().models
    if isinstance(con_or_path, str | Path):
        with wh.connect(con_or_path) as con:
            return _train_on(con, cfg, run_id, as_of_date, models, promote)
    return _train_on(con_or_path, cfg, run_id, as_of_date, models, promote)


def _train_on(con: Any, cfg: MLConfig, run_id: str | None, as_of_date: Any, models: Path,
              promote: bool) -> TrainResult:
    check_config(cfg)  # a config built in code gets the checks load_config makes, before any data is read
    schema = cfg.input.output_schema
    wh.ensure_tables(con, schema)
    run_id = run_id or f"manual__{_latest_as_of(con, cfg, as_of_date)}"
    version = model_version_for(run_id)
    previous = load_champion(con, cfg, exclude_version=version)
    recent = load_recent_champions(con, cfg, exclude_version=version, loaded=previous)
    former_columns = [c for m in recent for c in input_columns(m.model, [])]
    frame, n_pop = read_training_frame(con, cfg, as_of_date, also=former_columns)
    cfg, chosen = choose_features(frame, cfg)
    if chosen["left_out"]:
        log.info("features left out (not populated by this deployment's data): %s", chosen["left_out"])
    result = train_segmentation(frame, cfg, previous=previous, n_population=n_pop, recent=recent,
                                catalog=read_catalog(con, schema), next_id=next_segment_id(con, schema))
    decision = decide_promotion(result, cfg)
    if not promote:
        decision = GateDecision(promote=False, reasons=["registered as candidate (promote=False); gates: "
                                                        + "; ".join(decision.reasons)], checks=decision.checks,
                                compared=decision.compared)
    status = ("champion" if decision.promote else "rejected") if promote else "candidate"
    notes: list[str] = []
    artifact, fmt = save_artifact(result.model, models, version, cfg.artifact_format, notes)
    sha = sha256_of(artifact)
    write_check_sample(result.model, frame[list(cfg.features.all)], artifact, cfg.gates.load_check_rows, cfg.seed)
    check = None
    if decision.promote and cfg.gates.load_check:
        check = run_load_check(artifact, fmt, sha, trusted_prefixes(cfg.allowed_module_prefixes),
                               timeout=cfg.gates.load_check_timeout_seconds)
        if not check.ok:
            why = (f"artifact does not load and score in a fresh process with this deployment's environment "
                   f"(python -P -m ml.load_check, PYTHONPATH={check.pythonpath!r}): {check.error}")
            log.error("%s not promoted: %s", version, why)
            decision = GateDecision(promote=False, reasons=[why], checks={**decision.checks, "load_check": False},
                                    compared=decision.compared)
            status = "failed"
    row = registry_row(result, cfg, model_version=version, run_id=run_id, artifact=artifact, fmt=fmt,
                       sha256=sha, decision=decision, n_population=n_pop, status=status,
                       artifact_note="; ".join(notes) or None, load_check=check)
    row["features"]["chosen_from_data"] = chosen
    artifact.with_suffix(".json").write_text(json.dumps(row, indent=2, sort_keys=True, default=str))
    actor = current_actor()
    con.execute("begin transaction")
    try:
        register_model(con, schema, row)
        wh.delete_run(con, schema, ["model_selection", "model_stability"], run_id)
        wh.insert_frame(con, schema, "model_selection", result.candidates.assign(run_id=run_id, model_version=version))
        wh.insert_frame(con, schema, "model_stability",
                        result.stability.drop(columns=["label"]).assign(run_id=run_id, model_version=version))
        if decision.promote:
            set_champion(con, schema, version, event="promoted", reason="; ".join(decision.reasons), actor=actor,
                         run_id=run_id, details={"compared": decision.compared})
        elif status in {"rejected", "failed"}:
            record_event(con, schema, status, version, reason="; ".join(decision.reasons), actor=actor,
                         run_id=run_id, from_model_version=row["compared_to"])
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    champion = get_alias(con, schema, CHAMPION)
    log.info("trained %s k=%s status=%s (%s)", version, result.k, status, decision.reasons)
    return TrainResult(run_id=run_id, model_version=version, k=result.k, promoted=decision.promote, status=status,
                       reasons=decision.reasons, metrics=result.metrics, seconds=result.seconds,
                       artifact_path=artifact, champion_version=champion["model_version"] if champion else None,
                       fit=result)


def train_from_warehouse(run_id: str | None = None, *, config: MLConfig | None = None,
                         paths: Paths | None = None) -> dict[str, Any]:
    """`train` on the configured warehouse (`Paths.warehouse`, models under `Paths.models`), as a dict
    (what the Airflow task returns)."""
    paths = paths or get_paths()
    return train(paths.warehouse, config, run_id, models_dir=paths.models).as_dict()
