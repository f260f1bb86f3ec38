"""Scoring: `score(path, config, run_id) -> ScoreResult`
(and `score_from_warehouse`, the same for the configured warehouse as a dict) streams the mart in chunks
through the champion and writes assignments, history, profiles, rule segments and drift.

A champion whose artifact does not load or score its check sample is marked `failed` (and the run fails,
saying how to roll back). Segment names come from the catalog (`ml.naming`) and are checked against this
run's figures before they are published; persons a density model calls noise get no segment (null id)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from segwarehouse.core.paths import Paths, get_paths

from . import warehouse as wh
from .alignment import NO_SEGMENT
from .config import MLConfig
from .config_loader import check_config, load_config
from .drift import (
    add_histograms,
    compare_histograms,
    edges_from_histograms,
    feature_histograms,
    segment_share_drift,
    should_retrain,
)
from .features import add_derived_columns, feature_completeness
from .frame_scoring import score_frame
from .lifecycle import mark_failed
from .load_check import sample_path, score_check_sample
from .models import input_columns
from .naming import apply_names, current_names, decide_names, read_catalog
from .personas import combine_summaries, finalize_profiles, summarize_segments
from .registry import CHAMPION, get_alias, load_registered_model
from .rules import assign_rule_segments, rule_columns


class ChampionLoadError(RuntimeError):
    """The champion's artifact cannot be loaded or scored here; it has been marked `failed`."""


log = logging.getLogger(__name__)


def _score_columns(con: Any, cfg: MLConfig, model_columns: list[str] | None = None) -> list[str]:
    rel = wh.quote_relation(cfg.input.relation)
    available = [r[0] for r in con.execute(f"select * from {rel} limit 0").description]
    model_columns = list(model_columns or [])
    wanted = [cfg.input.id_column, *cfg.features.all, *model_columns, "frequency", "as_of_date", "signup_at",
              *rule_columns(cfg.rules)]
    missing = {c for c in wanted if c not in available and c != "days_since_signup"}
    needed = set(cfg.features.all) | set(model_columns) | {cfg.input.id_column}
    if missing & needed:
        raise ValueError(f"{cfg.input.relation} lacks column(s) {sorted(missing & needed)}")
    return [c for c in dict.fromkeys(wanted) if c in available]


def _quantile_edges(con: Any, cfg: MLConfig) -> dict[str, np.ndarray]:
    """This run's decile edges per numeric feature, computed in DuckDB (exact, one pass)."""
    rel = wh.quote_relation(cfg.input.relation)
    qs = [round(float(q), 6) for q in np.linspace(0, 1, cfg.drift.bins + 1)[1:-1]]
    feats = list(cfg.features.numeric_all)
    exprs = ", ".join(f'quantile_cont(try_cast("{f}" as double), {qs})' for f in feats)
    row = con.execute(f"select {exprs} from {rel}").fetchone()
    return {f: np.unique(np.asarray([v for v in (q or []) if v is not None], dtype=float))
            for f, q in zip(feats, row, strict=True)}


@dataclass
class ScoreResult:
    """Outcome of one scoring run."""

    run_id: str
    model_version: str
    rows: int
    segments: int
    profiles: pd.DataFrame  # one row per segment: size, share, persona name ...
    drift: pd.DataFrame  # kind, name, psi, status (empty on the first run)
    reference_run_id: str | None
    drift_alert: bool  # `should_retrain(drift)`
    drifted: list[str]
    seconds: float
    unassigned: int = 0  # persons without a segment (noise of a density model)
    renamed: list[dict[str, Any]] | None = None  # segments renamed because their name no longer held

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "model_version": self.model_version, "rows": self.rows,
                "segments": self.segments, "unassigned": self.unassigned, "reference_run_id": self.reference_run_id,
                "drift_alert": self.drift_alert, "drifted": self.drifted, "renamed": self.renamed or [],
                "seconds": self.seconds}


def score(con_or_path: Any, config: MLConfig | None = None, run_id: str | None = None) -> ScoreResult:
    """Score every person of the profile relation with the champion and write this run's segment tables
    (assignments replaced, history/profiles/drift replaced for the same run id, rules replaced).

    `con_or_path`: the warehouse DuckDB file path or an open read-write connection.
    """
    cfg = config or load_config(for_scoring=True)
    if isinstance(con_or_path, str | Path):
        with wh.connect(con_or_path) as con:
            return _score_on(con, cfg, run_id)
    return _score_on(con_or_path, cfg, run_id)


def score_from_warehouse(run_id: str | None = None, *, config: MLConfig | None = None,
                         paths: Paths | None = None) -> dict[str, Any]:
    """`score` on the configured warehouse (`Paths.warehouse`), as a dict (what the Airflow task returns)."""
    paths = paths or get_paths()
    return score(paths.warehouse, config, run_id).as_dict()


def load_champion_for_scoring(con: Any, schema: str, run_id: str | None) -> tuple[Pipeline, dict[str, Any]]:
    """The champion, loaded and checked on its saved sample; a champion that fails is marked `failed`."""
    alias = get_alias(con, schema, CHAMPION)
    if alias is None:
        raise RuntimeError(f"no champion in {schema}.model_aliases: run `segwarehouse train` first")
    version = alias["model_version"]
    try:
        model, row = load_registered_model(con, schema, version)
        sample = sample_path(Path(row["artifact_path"]))
        if sample.exists():
            score_check_sample(model, sample)
    except Exception as exc:  # any failure to load or score is the model's, whatever raised it
        why = f"champion {version} cannot be loaded or scored: {type(exc).__name__}: {exc}"
        con.execute("begin transaction")
        mark_failed(con, schema, version, why, run_id=run_id)
        con.execute("commit")
        raise ChampionLoadError(f"{why}. It is now marked failed; put the previous good champion back with "
                                "`segwarehouse models rollback --reason ...`") from exc
    return model, row


def with_champion_features(cfg: MLConfig, row: dict[str, Any]) -> MLConfig:
    """The config with the champion's feature lists: profiles, names, completeness and drift describe what the
    scoring model uses (after a rollback or a feature change the config may list others)."""
    stored = row.get("features") or {}
    keep = {k: stored[k] for k in ("log1p", "numeric", "categorical", "fill_values") if k in stored}
    return cfg.replace(features=keep) if keep else cfg


def _recheck_names(con: Any, schema: str, cfg: MLConfig, profiles: pd.DataFrame, features: pd.DataFrame,
                   version: str, run_id: str) -> list[dict[str, Any]]:
    """Check the champion's names against this run's figures; rename (catalog, event, this run's rows)
    the segments whose name no longer holds. Inside the caller's transaction."""
    catalog = read_catalog(con, schema)
    ids = set(profiles["segment_id"].astype(int))
    current = {s: e for s, e in catalog.items() if s in ids}
    decisions = [d for d in decide_names(current, profiles, features, cfg.personas) if d.segment_id in current]
    renames = apply_names(con, schema, [d for d in decisions if d.status == "renamed"], model_version=version,
                          reason=f"scoring run {run_id}", run_id=run_id)
    for r in renames:
        con.execute(f"update {wh.table(schema, 'segment_history')} set segment_name = ? "
                    "where run_id = ? and segment_id = ?", [r.name, run_id, r.segment_id])
    return [{"segment_id": r.segment_id, "old_name": r.old_name, "new_name": r.name, "why": r.why}
            for r in renames]


def _score_on(con: Any, cfg: MLConfig, run_id: str | None) -> ScoreResult:
    check_config(cfg, model=False)
    schema = cfg.input.output_schema
    started = time.perf_counter()
    scored_at = datetime.now(UTC)
    wh.ensure_tables(con, schema)
    rel = wh.quote_relation(cfg.input.relation)
    as_of = con.execute(f"select max(as_of_date) from {rel}").fetchone()[0]
    run_id = run_id or f"manual__{as_of}"
    model, row = load_champion_for_scoring(con, schema, run_id)
    cfg = with_champion_features(cfg, row)
    version = row["model_version"]
    segment_map = {int(k): int(v) for k, v in row["segment_map"].items()}
    centroids = {int(k): v for k, v in row["centroids"].items()}
    names, keys = current_names(con, schema, {int(k): v for k, v in row["segment_names"].items()})

    ref = con.execute(f"""select run_id from {wh.table(schema, 'feature_histograms')} where run_id <> ?
                          group by run_id order by max(scored_at) desc limit 1""", [run_id]).fetchone()
    ref_run = ref[0] if ref else None
    ref_hist = wh.read_frame(con, f"select * from {wh.table(schema, 'feature_histograms')} where run_id = ?",
                             [ref_run]) if ref_run else None
    ref_edges = edges_from_histograms(ref_hist) if ref_hist is not None else {}
    own_edges = _quantile_edges(con, cfg)

    numeric, categorical = list(cfg.features.numeric_all), list(cfg.features.categorical)
    scorer = score_frame
    if cfg.scoring.engine == "spark":
        from .spark_score import score_pandas_on_spark as scorer
    cols = ", ".join(f'"{c}"' for c in _score_columns(con, cfg, input_columns(model, cfg.features.all)))
    writer = con.cursor()
    writer.execute("begin transaction")
    try:
        wh.delete_run(writer, schema, ["segment_history", "segment_profiles", "segment_profile_features",
                                       "feature_histograms", "drift_metrics"], run_id)
        writer.execute(f"delete from {wh.table(schema, 'rule_segment_assignments')}")
        summaries, own_hist, cmp_hist, n_rows, n_unassigned = [], [], [], 0, 0
        batches = con.sql(f"select {cols} from {rel}").to_arrow_reader(cfg.scoring.chunk_rows)
        for batch in batches:
            chunk = add_derived_columns(batch.to_pandas())
            chunk["feature_completeness"] = feature_completeness(chunk, cfg)
            scored = scorer(chunk, model, segment_map, centroids, names, cfg, keys)
            meta = {"model_version": version, "run_id": run_id, "as_of_date": as_of, "scored_at": scored_at}
            wh.insert_frame(writer, schema, "segment_history", scored.assign(**meta))
            if cfg.rules:
                rules = assign_rule_segments(chunk, cfg.rules, cfg.input.id_column)
                wh.insert_frame(writer, schema, "rule_segment_assignments",
                                rules.assign(run_id=run_id, as_of_date=as_of, scored_at=scored_at))
            segment_ids = scored["segment_id"].fillna(NO_SEGMENT).to_numpy(dtype=np.int64)
            n_unassigned += int(np.sum(segment_ids == NO_SEGMENT))
            summaries.append(summarize_segments(chunk, segment_ids, numeric))
            own_hist.append(feature_histograms(chunk, numeric, categorical, own_edges))
            if ref_edges:
                cmp_hist.append(feature_histograms(chunk, [f for f in numeric if f in ref_edges],
                                                   categorical, ref_edges))
            n_rows += len(chunk)
        profiles, profile_features = finalize_profiles(combine_summaries(summaries), numeric, cfg.personas)
        renamed = _recheck_names(writer, schema, cfg, profiles, profile_features, version, run_id) \
            if cfg.personas.recheck_at_scoring else []
        names.update({r["segment_id"]: r["new_name"] for r in renamed})
        profiles["segment_name"] = profiles["segment_id"].map(names).fillna(profiles["persona_name"])
        profiles["segment_key"] = profiles["segment_id"].map(keys)
        wh.insert_frame(writer, schema, "segment_profiles",
                        profiles.assign(run_id=run_id, model_version=version, as_of_date=as_of,
                                        scored_at=scored_at))
        wh.insert_frame(writer, schema, "segment_profile_features", profile_features.assign(run_id=run_id))
        wh.insert_frame(writer, schema, "feature_histograms",
                        add_histograms(own_hist).assign(run_id=run_id, scored_at=scored_at))
        drift = pd.DataFrame(columns=["kind", "name", "psi", "status"])
        if ref_run:
            ref_sizes = con.execute(f"select segment_id, size from {wh.table(schema, 'segment_profiles')} "
                                    "where run_id = ?", [ref_run]).df()
            parts = [compare_histograms(ref_hist, add_histograms(cmp_hist), cfg.drift)]
            if not ref_sizes.empty:
                parts.append(segment_share_drift(dict(zip(ref_sizes["segment_id"], ref_sizes["size"], strict=True)),
                                                 dict(zip(profiles["segment_id"], profiles["size"], strict=True)),
                                                 cfg.drift))
            drift = pd.concat(parts, ignore_index=True)
            wh.insert_frame(writer, schema, "drift_metrics",
                            drift.assign(run_id=run_id, reference_run_id=ref_run, computed_at=scored_at))
        writer.execute(f"""create or replace table {wh.table(schema, 'segment_assignments')} as
                           select * from {wh.table(schema, 'segment_history')} where run_id = ?""", [run_id])
        writer.execute("commit")
    except Exception:
        writer.execute("rollback")
        raise
    drifted = drift.loc[drift["status"] == "alert", "name"].tolist()
    seconds = round(time.perf_counter() - started, 3)
    log.info("scored %s persons with %s in %ss; drift alerts: %s", n_rows, version, seconds, drifted)
    return ScoreResult(run_id=run_id, model_version=version, rows=n_rows, segments=len(profiles),
                       profiles=profiles, drift=drift, reference_run_id=ref_run,
                       drift_alert=should_retrain(drift, cfg.drift), drifted=drifted, seconds=seconds,
                       unassigned=n_unassigned, renamed=renamed)
