"""Training: pure functions on frames (`train_segmentation`, `decide_promotion`) and the I/O entry points
`train(con_or_path, config, run_id, as_of_date) -> TrainResult` (and `train_from_warehouse`, the same for
the configured warehouse, returning a dict) that read the profile mart, register the model and move the
champion pointer."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.metrics import silhouette_score
from sklearn.pipeline import Pipeline

from segwarehouse.paths import Paths, get_paths

from . import warehouse as wh
from .alignment import align_segment_ids, label_centroids
from .config import MLConfig, load_config
from .features import add_derived_columns, build_preprocessor, build_reducer, feature_completeness
from .models import build_segmenter, find_k_param, with_k
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
    move_alias,
    register_model,
    save_artifact,
    sha256_of,
)
from .selection import sample_indices, select_k
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
    segment_names: dict[int, str]  # segment_id -> persona name
    centroids: dict[int, list[float]]  # segment_id -> centre in the transformed space (for distances)
    candidates: pd.DataFrame  # every k tried, with its scores
    stability: pd.DataFrame  # per segment_id: mean/min Jaccard, status
    profiles: pd.DataFrame  # per segment_id on the training rows
    metrics: dict[str, Any]
    champion_metrics: dict[str, Any] | None  # the previous champion measured on the same rows
    n_rows_train: int
    as_of_date: Any
    seconds: float


def map_labels(labels: np.ndarray, segment_map: dict[int, int]) -> np.ndarray:
    """Segmenter labels -> segment ids (-1 for a label the map does not know)."""
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
    `unstable_jaccard`, Hennig's "do not trust"): then the next candidate by silhouette whose segments all hold.
    When none holds, the preferred k is kept and the promotion gate rejects it with the reason."""
    st = cfg.stability
    order = [preferred] + [int(k) for k in candidates.sort_values("silhouette", ascending=False)["k"]
                           if int(k) != preferred]
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


def train_segmentation(frame: pd.DataFrame, cfg: MLConfig, *, previous: PreviousModel | None = None,
                       n_population: int | None = None) -> SegmentationFit:
    """Fit preprocessing, choose k, fit the segmenter, measure stability, align ids, name personas.

    `frame` has the mart's columns; `n_population` is the number of persons the model will score
    (defaults to the eligible rows) and turns segment shares into the sizes the size gate checks.
    """
    start = time.perf_counter()
    data = prepare_training_frame(frame, cfg)
    if len(data) < cfg.selection.k_max * 10:
        raise ValueError(f"only {len(data)} complete rows to train on")
    data = data.iloc[sample_indices(len(data), cfg.selection.train_sample_rows, cfg.seed)].reset_index(drop=True)
    features = list(cfg.features.all)
    preprocess = build_preprocessor(cfg).fit(data[features])
    reduce = build_reducer(cfg)
    Z = preprocess.transform(data[features])
    if reduce != "passthrough":
        Z = reduce.fit_transform(Z)
    base = build_segmenter(cfg.model, cfg)
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
        previous_ids = map_labels(np.asarray(previous.model.predict(data[features])), previous.segment_map)
        Zp = previous.model[:-1].transform(data[features])
        champion_sil = float(silhouette_score(Zp[sil_idx], previous_ids[sil_idx])) \
            if len(np.unique(previous_ids[sil_idx])) > 1 else float("nan")
        champion_metrics = {**previous.metrics, "silhouette": champion_sil, "model_version": previous.model_version}
    segment_map = align_segment_ids(Z, labels, previous_ids)
    segment_ids = map_labels(labels, segment_map)

    st = cfg.stability
    stability = stab.segments.assign(segment_id=map_labels(stab.segments["label"].to_numpy(), segment_map),
                                     ari_median=stab.ari_median, n_bootstrap=st.n_bootstrap)

    profiles, _ = build_profiles(data, segment_ids, list(cfg.features.numeric_all), cfg.personas)
    uniq, cents = label_centroids(Z, segment_ids)
    shares = profiles.set_index("segment_id")["share"]
    n_pop = int(n_population or len(data))
    chosen = candidates.loc[candidates["selected"]].iloc[0]
    metrics = {
        "k": int(k),
        "silhouette": float(chosen["silhouette"]),
        "inertia": None if pd.isna(chosen["inertia"]) else float(chosen["inertia"]),
        "bic": None if pd.isna(chosen["bic"]) else float(chosen["bic"]),
        "ari_median": stab.ari_median,
        "ari_mean": stab.ari_mean,
        "min_segment_jaccard": stab.min_jaccard,
        "min_segment_share": float(shares.min()),
        "min_segment_size": int(np.floor(shares.min() * n_pop)),
        "segment_shares": {int(s): round(float(v), 6) for s, v in shares.items()},
        "imputer": preprocess.named_transformers_["numeric"].named_steps["impute"].method_used_,
    }
    return SegmentationFit(
        model=model, k=int(k), segment_map=segment_map,
        segment_names=dict(zip(profiles["segment_id"].astype(int), profiles["persona_name"], strict=True)),
        centroids={int(s): c.round(6).tolist() for s, c in zip(uniq, cents, strict=True)},
        candidates=candidates, stability=stability, profiles=profiles, metrics=metrics,
        champion_metrics=champion_metrics, n_rows_train=len(data),
        as_of_date=pd.to_datetime(data["as_of_date"]).max().date() if "as_of_date" in data else None,
        seconds=round(time.perf_counter() - start, 3),
    )


def decide_promotion(result: SegmentationFit, cfg: MLConfig) -> GateDecision:
    """Gate the challenger against the champion measured on the same rows."""
    return evaluate_gates(result.metrics, result.champion_metrics, cfg.gates)


def registry_row(result: SegmentationFit, cfg: MLConfig, *, model_version: str, run_id: str, artifact: Any,
                 fmt: str, sha256: str, decision: GateDecision, n_population: int,
                 status: str | None = None) -> dict[str, Any]:
    """Metadata stored beside the artifact (registry table and the `.json` sidecar)."""
    seg = result.model.named_steps["segmenter"]
    status = status or ("champion" if decision.promote else "rejected")
    return {
        "status": status, "reason": "; ".join(decision.reasons), "n_rows": n_population,
        "silhouette": result.metrics["silhouette"], "stability": result.metrics["ari_mean"],
        "min_segment_share": result.metrics["min_segment_share"],
        "model_version": model_version, "run_id": run_id, "created_at": datetime.now(UTC),
        "algorithm": f"{type(seg).__module__}.{type(seg).__qualname__}",
        "params": {"model": cfg.model.name, "k_param": find_k_param(seg, cfg.model.k_param),
                   "segmenter": _json_params(seg), "imputation": cfg.imputation.__dict__,
                   "pca_components": cfg.pca_components, "seed": cfg.seed},
        "features": {"log1p": list(cfg.features.log1p), "numeric": list(cfg.features.numeric),
                     "categorical": list(cfg.features.categorical), "fill_values": cfg.features.fill_values},
        "k": result.k, "as_of_date": result.as_of_date, "source_relation": cfg.input.relation,
        "n_rows_train": result.n_rows_train, "n_rows_population": n_population,
        "metrics": {**result.metrics, "train_seconds": result.seconds},
        "segment_map": {str(k): v for k, v in result.segment_map.items()},
        "segment_names": {str(k): v for k, v in result.segment_names.items()},
        "centroids": {str(k): v for k, v in result.centroids.items()},
        "library_versions": library_versions(), "code_version": code_version(),
        "artifact_path": str(artifact), "artifact_format": fmt, "artifact_sha256": sha256,
        "compared_to": (result.champion_metrics or {}).get("model_version"),
        "decision": "promoted" if decision.promote else "rejected",
        "decision_reasons": decision.reasons,
    }


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
    model, row = load_registered_model(con, schema, version)
    return PreviousModel(model=model, segment_map={int(k): int(v) for k, v in row["segment_map"].items()},
                         model_version=version, metrics=row["metrics"])


def _profile_columns(con: Any, relation: str) -> list[str]:
    return [r[0] for r in con.execute(f"select * from {relation} limit 0").description]


def read_training_frame(con: Any, cfg: MLConfig, as_of_date: Any = None) -> tuple[pd.DataFrame, int]:
    """A seeded reservoir sample of the mart (bounded memory) and the population size.

    With `as_of_date`, only that snapshot's rows (a relation that keeps several `as_of_date`s)."""
    rel = wh.quote_relation(cfg.input.relation)
    if as_of_date is not None:
        rel = f"(select * from {rel} where as_of_date = cast('{pd.Timestamp(as_of_date).date()}' as date))"
    available = set(_profile_columns(con, rel))
    wanted = [cfg.input.id_column, *cfg.features.all, "frequency", "as_of_date", "signup_at"]
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
    defaults to `segwarehouse.paths.get_paths().models`. `promote=False` registers the model as a
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
    schema = cfg.input.output_schema
    wh.ensure_tables(con, schema)
    frame, n_pop = read_training_frame(con, cfg, as_of_date)
    as_of = pd.to_datetime(frame["as_of_date"]).max().date() if "as_of_date" in frame and len(frame) else None
    run_id = run_id or f"manual__{as_of}"
    version = model_version_for(run_id)
    previous = load_champion(con, cfg, exclude_version=version)
    result = train_segmentation(frame, cfg, previous=previous, n_population=n_pop)
    decision = decide_promotion(result, cfg)
    if not promote:
        decision = GateDecision(promote=False, reasons=["registered as candidate (promote=False); gates: "
                                                        + "; ".join(decision.reasons)], checks=decision.checks)
    status = ("champion" if decision.promote else "rejected") if promote else "candidate"
    artifact, fmt = save_artifact(result.model, models, version, cfg.artifact_format)
    row = registry_row(result, cfg, model_version=version, run_id=run_id, artifact=artifact, fmt=fmt,
                       sha256=sha256_of(artifact), decision=decision, n_population=n_pop, status=status)
    artifact.with_suffix(".json").write_text(json.dumps(row, indent=2, sort_keys=True, default=str))
    con.execute("begin transaction")
    try:
        register_model(con, schema, row)
        wh.delete_run(con, schema, ["model_selection", "model_stability"], run_id)
        wh.insert_frame(con, schema, "model_selection", result.candidates.assign(run_id=run_id, model_version=version))
        wh.insert_frame(con, schema, "model_stability",
                        result.stability.drop(columns=["label"]).assign(run_id=run_id, model_version=version))
        if decision.promote:
            move_alias(con, schema, version, run_id, "; ".join(decision.reasons))
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
