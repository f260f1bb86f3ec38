"""Loading the deployment's ML config and validating all of it before any data is read: everything that would
otherwise fail minutes into a run (an unknown model path, a class without `fit`, a constructor parameter it
does not take, an impossible gate) fails here with a `ConfigError` naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import yaml

from .config import CONFIG_ENV, ConfigError, MLConfig, config_from_mapping

_IMPUTERS = {"iterative", "knn", "simple"}


def _share(key: str, value: float, *, open_low: bool = False) -> None:
    ok = (0.0 < value <= 1.0) if open_low else (0.0 <= value <= 1.0)
    if not ok:
        raise ConfigError(key, f"must be a share in {'(0, 1]' if open_low else '[0, 1]'}, got {value!r}")


def _positive(key: str, value: float) -> None:
    if value <= 0:
        raise ConfigError(key, f"must be > 0, got {value!r}")


def check_config(cfg: MLConfig, *, model: bool = True) -> None:
    """Raise `ConfigError` for the first setting that cannot work; with `model`, instantiates (never fits)
    the configured model. Scoring passes `model=False`: the champion scores, whatever `model` names now (a
    deployment rolled back from a class its workers cannot import must still score)."""
    from .models import ModelConfigError, build_segmenter
    from .rules import validate_rules

    if not cfg.allowed_module_prefixes or not all(isinstance(p, str) and p for p in cfg.allowed_module_prefixes):
        raise ConfigError("allowed_module_prefixes", "must be a non-empty list of package names")
    if cfg.artifact_format not in {"skops", "joblib"}:
        raise ConfigError("artifact_format", f"must be skops or joblib, got {cfg.artifact_format!r}")
    if cfg.imputation.method not in _IMPUTERS:
        raise ConfigError("imputation.method", f"must be one of {sorted(_IMPUTERS)}, got {cfg.imputation.method!r}")
    if cfg.imputation.fallback is not None and cfg.imputation.fallback not in _IMPUTERS:
        raise ConfigError("imputation.fallback",
                          f"must be one of {sorted(_IMPUTERS)} or null, got {cfg.imputation.fallback!r}")
    _share("features.min_completeness", cfg.features.min_completeness)
    _share("features.min_populated", cfg.features.min_populated)
    for feature, bound in cfg.personas.bounds.items():
        if not isinstance(bound, dict) or not bound or set(bound) - {"low_max", "high_min"} or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in bound.values()):
            raise ConfigError(f"personas.bounds.{feature}",
                              f"must map low_max and/or high_min to numbers, got {bound!r}")
    pca = cfg.pca_components
    if pca is not None and not ((isinstance(pca, int) and pca >= 1) or (isinstance(pca, float) and 0 < pca < 1)):
        raise ConfigError("pca_components", f"must be null, an integer >= 1 or a share in (0, 1), got {pca!r}")
    for key in ("silhouette_sample_rows", "train_sample_rows"):
        _positive(f"selection.{key}", getattr(cfg.selection, key))
    _positive("stability.n_bootstrap", cfg.stability.n_bootstrap)
    _positive("stability.sample_rows", cfg.stability.sample_rows)
    g = cfg.gates
    for key in ("min_ari", "min_segment_jaccard", "min_segment_share", "max_noise_share", "silhouette_tolerance",
                "ari_tolerance"):
        _share(f"gates.{key}", getattr(g, key))
    if not -1.0 <= g.min_silhouette <= 1.0:
        raise ConfigError("gates.min_silhouette", f"must be in [-1, 1], got {g.min_silhouette!r}")
    for key in ("compare_last_champions", "load_check_rows", "load_check_timeout_seconds"):
        _positive(f"gates.{key}", getattr(g, key))
    _positive("scoring.chunk_rows", cfg.scoring.chunk_rows)
    if not 0 < cfg.drift.warn <= cfg.drift.alert:
        raise ConfigError("drift.warn", f"need 0 < warn <= alert, got {cfg.drift.warn} / {cfg.drift.alert}")
    try:
        validate_rules(cfg.rules)
    except ValueError as exc:
        raise ConfigError("rules", str(exc)) from None
    if not model:
        return
    try:
        segmenter = build_segmenter(cfg.model, cfg)
    except ModelConfigError as exc:
        raise ConfigError(exc.key, str(exc)) from None
    # scikit-learn checks parameter values only in fit(); its estimators can check them now
    for est in (segmenter, getattr(segmenter, "clusterer", None)):
        validate = getattr(est, "_validate_params", None)
        if callable(validate) and hasattr(est, "_parameter_constraints"):
            try:
                validate()
            except (ValueError, TypeError) as exc:
                raise ConfigError("model.params", f"{type(est).__name__}: {exc}") from None


def config_path(path: str | Path | None = None) -> Path:
    """`path`, else `SEGWAREHOUSE_ML_CONFIG`, else `config/ml.yml` of the project (`Paths.ml_config`)."""
    if path:
        return Path(path)
    from segwarehouse.core.paths import get_paths

    return get_paths().ml_config


def load_config(path: str | Path | None = None, *, check: bool = True, for_scoring: bool = False) -> MLConfig:
    """Read the deployment's config (`config_path`) and validate all of it, before any data is read; a
    `ConfigError` names the file and the key. The model class is imported and built unless `for_scoring`
    (scoring uses the champion, not the configured model)."""
    source = config_path(path)
    try:
        with source.open(encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    except FileNotFoundError:
        raise ConfigError("", f"ML config {source} does not exist (--config / {CONFIG_ENV})") from None
    except yaml.YAMLError as exc:
        raise ConfigError("", f"not valid YAML: {exc}").in_file(source) from None
    try:
        if not isinstance(data, dict):
            raise ConfigError("", "the file must hold a mapping of settings")
        cfg = config_from_mapping(data)
        if check:
            check_config(cfg, model=not for_scoring)
    except ConfigError as exc:
        raise exc.in_file(source) from None
    return cfg
