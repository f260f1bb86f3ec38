"""Typed view of `config/ml.yml`: every knob of the segmentation stage, with defaults that match the file.

Unknown keys and values of the wrong type raise `ConfigError` naming the key, so a typo in the YAML fails
loudly instead of silently falling back to a default. `load_config` also checks the model and the other
settings that only fail at run time otherwise (`ml.config_loader`), before any data is read.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = _REPO_ROOT / "config" / "ml.yml"
CONFIG_ENV = "SEGWAREHOUSE_ML_CONFIG"  # the deployment's config file (segwarehouse.core.paths.Paths.ml_config)
# names that end up in SQL text (quoted): identifiers only, matched in full (`$` would accept a trailing newline)
_RELATION = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ConfigError(ValueError):
    """A setting of the ML config cannot be used; `key` is its dotted path (`model.params`)."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}" if key else message)
        self.key = key

    def in_file(self, source: str | Path) -> ConfigError:
        """The same error, prefixed with the file it came from."""
        err = ConfigError(self.key, "")
        err.args = (f"{source}: {self}",)
        return err


@dataclass(frozen=True)
class InputConfig:
    relation: str = "validated.dim_user_profile"  # gate-passed snapshot (serving.validated); `[db.]schema.table`
    id_column: str = "person_id"
    output_schema: str = "segments"


@dataclass(frozen=True)
class FeatureConfig:
    log1p: tuple[str, ...] = ()  # skewed money/frequency counts, log1p after clipping at 0
    numeric: tuple[str, ...] = ()  # used as is (standardized)
    categorical: tuple[str, ...] = ()  # missing -> "unknown", then one-hot
    fill_values: dict[str, float] = field(default_factory=dict)  # structural nulls (never bought -> 0 ...)
    # `numeric` / `categorical`: block weights (ColumnTransformer); a numeric feature's name: that column's
    # weight after standardization (K-means distance counts a feature in proportion to its weight squared)
    weights: dict[str, float] = field(default_factory=dict)
    min_completeness: float = 0.5  # rows with fewer non-missing numeric features are not trained on
    max_categories: int = 10
    # a configured feature populated in fewer rows than this is left out (ml/feature_choice.py): the default set
    # follows the sources a deployment has (no web data -> no browsing features)
    min_populated: float = 0.05
    # the numeric features used instead when fewer than min_completeness of the configured numeric ones are
    # populated (transactions only: RFM); populated categorical features are kept
    fallback_log1p: tuple[str, ...] = ()
    fallback_numeric: tuple[str, ...] = ()

    @property
    def numeric_all(self) -> tuple[str, ...]:
        return tuple(self.log1p) + tuple(self.numeric)

    @property
    def all(self) -> tuple[str, ...]:
        return self.numeric_all + tuple(self.categorical)


@dataclass(frozen=True)
class ImputationConfig:
    method: str = "iterative"  # iterative | knn | simple
    max_fit_rows: int = 5000  # the imputer is fitted on a seeded sample of this many rows
    n_neighbors: int = 5
    max_iter: int = 10
    fallback: str = "simple"  # used when the chosen imputer fails to fit (e.g. a column fully missing)


@dataclass(frozen=True)
class ModelSpec:
    name: str = "kmeans"  # registry key or import path `package.module.Class`
    params: dict[str, Any] = field(default_factory=dict)
    k_param: str | None = None  # parameter that sets the number of segments; found automatically if None


@dataclass(frozen=True)
class SelectionConfig:
    k_min: int = 3
    k_max: int = 8
    criterion: str = "auto"  # auto (bic for mixtures, else silhouette) | silhouette | bic | knee
    silhouette_sample_rows: int = 5000
    train_sample_rows: int = 200_000


@dataclass(frozen=True)
class StabilityConfig:
    n_bootstrap: int = 10
    sample_rows: int = 3000
    stable_jaccard: float = 0.75  # Hennig: >= 0.75 stable
    unstable_jaccard: float = 0.6  # Hennig: < 0.6 should not be trusted


@dataclass(frozen=True)
class GateConfig:
    # relative gates: against the best of the last `compare_last_champions` champions, so a series of
    # slightly worse challengers cannot walk quality down (silhouette re-measured on the current rows)
    silhouette_tolerance: float = 0.01  # challenger may be this much below the best recent silhouette
    ari_tolerance: float = 0.05  # ... and this much below the best recent median bootstrap ARI
    compare_last_champions: int = 3
    # absolute floors
    min_silhouette: float = 0.1
    min_ari: float = 0.7  # median bootstrap ARI
    min_segment_jaccard: float = 0.6  # every segment's mean bootstrap Jaccard
    min_segment_share: float = 0.02
    min_segment_size: int = 100
    max_noise_share: float = 0.25  # density models: share of persons left unassigned
    # the artifact must load and score a sample in a fresh process with the deployment's environment
    load_check: bool = True
    load_check_rows: int = 200
    load_check_timeout_seconds: int = 300


@dataclass(frozen=True)
class ScoringConfig:
    chunk_rows: int = 200_000
    engine: str = "pandas"  # pandas (in process) | spark (mapInPandas on Spark, ml/spark_score.py)


@dataclass(frozen=True)
class DriftConfig:
    bins: int = 10
    warn: float = 0.1
    alert: float = 0.25
    min_alerts_to_retrain: int = 1  # number of alerting features/segment shares that trigger a retrain


@dataclass(frozen=True)
class PersonaConfig:
    z_threshold: float = 0.5  # a feature names a segment only when |z| reaches this
    max_terms: int = 2
    keep_name_z: float = 0.3  # a segment keeps its name while each named trait keeps its sign and this |z|
    recheck_at_scoring: bool = True  # check names against each scoring run's figures too
    terms: dict[str, dict[str, str]] = field(default_factory=dict)  # feature -> {high: word, low: word}
    # a word must also be true in the feature's own unit, not only relative to the population (z): feature ->
    # {low_max: x} ("low" words need a segment mean <= x), {high_min: x} ("high" words a mean >= x)
    bounds: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class MLConfig:
    seed: int = 42
    input: InputConfig = field(default_factory=InputConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    imputation: ImputationConfig = field(default_factory=ImputationConfig)
    pca_components: int | float | None = None  # None = no PCA; int = components; float = variance kept
    model: ModelSpec = field(default_factory=ModelSpec)
    allowed_module_prefixes: tuple[str, ...] = ("sklearn", "ml")
    artifact_format: str = "skops"  # skops | joblib (skops falls back to joblib when it cannot serialize)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    stability: StabilityConfig = field(default_factory=StabilityConfig)
    gates: GateConfig = field(default_factory=GateConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    drift: DriftConfig = field(default_factory=DriftConfig)
    personas: PersonaConfig = field(default_factory=PersonaConfig)
    rules: tuple[dict[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.input.relation, str) or not _RELATION.fullmatch(self.input.relation):
            raise ConfigError("input.relation",
                              f"must be [db.][schema.]name of identifiers, got {self.input.relation!r}")
        if not isinstance(self.input.output_schema, str) or not _IDENTIFIER.fullmatch(self.input.output_schema):
            raise ConfigError("input.output_schema", f"must be one identifier, got {self.input.output_schema!r}")
        from .rules import rule_columns  # lazy: rules imports pandas

        named = [("input.id_column", self.input.id_column),
                 *((f"features.{kind}", c) for kind in ("log1p", "numeric", "categorical", "fallback_log1p",
                                                          "fallback_numeric")
                   for c in getattr(self.features, kind))]
        try:
            named += [("rules[].column", c) for c in rule_columns(self.rules)]
        except (KeyError, TypeError, AttributeError):
            pass  # malformed rules are reported by validate_rules with their own message
        bad = [f"{where}={name!r}" for where, name in named
               if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name)]
        if bad:
            raise ConfigError(bad[0].partition("=")[0],
                              f"column names must be plain identifiers [A-Za-z_][A-Za-z0-9_]*: {', '.join(bad)}")
        if self.selection.k_min < 2 or self.selection.k_max < self.selection.k_min:
            raise ConfigError("selection.k_min", "need 2 <= k_min <= k_max")
        if self.selection.criterion not in {"auto", "silhouette", "bic", "knee"}:
            raise ConfigError("selection.criterion",
                              f"must be auto|silhouette|bic|knee, got {self.selection.criterion!r}")
        if self.scoring.engine not in {"pandas", "spark"}:
            raise ConfigError("scoring.engine", f"must be pandas|spark, got {self.scoring.engine!r}")
        if not self.features.numeric_all:
            raise ConfigError("features", "at least one numeric or log1p feature is required")

    def with_model(self, name: str, params: dict[str, Any] | None = None, k_param: str | None = None) -> MLConfig:
        """The same config with another segmenter (how tests and notebooks swap models)."""
        return dataclasses.replace(self, model=ModelSpec(name=name, params=dict(params or {}), k_param=k_param))

    def replace(self, **section_overrides: Any) -> MLConfig:
        """Override whole fields or, with a dict, individual keys of a section: `cfg.replace(stability={"n_bootstrap": 3})`."""
        changes: dict[str, Any] = {}
        for key, value in section_overrides.items():
            current = getattr(self, key)
            if isinstance(value, dict) and dataclasses.is_dataclass(current):
                changes[key] = _build(type(current), {**dataclasses.asdict(current), **value}, key)
            else:
                changes[key] = value
        return dataclasses.replace(self, **changes)


_TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,),
                                       "None": (type(None),), "dict": (dict,), "tuple": (list, tuple)}


def _check_type(f: dataclasses.Field, value: Any, key: str) -> None:
    """The value's type against the field's annotation (`int | float | None`, `dict[str, float]` ...)."""
    names = [part.strip().split("[")[0] for part in str(f.type).split("|")]
    if "Any" in names or any(n not in _TYPES for n in names):
        return
    allowed = tuple(t for n in names for t in _TYPES[n])
    if isinstance(value, bool) and bool not in allowed:
        ok = False
    else:
        ok = isinstance(value, allowed)
    if not ok:
        wanted = " or ".join({"int": "an integer", "float": "a number", "str": "a string", "bool": "true/false",
                              "None": "null", "dict": "a mapping", "tuple": "a list"}[n] for n in names)
        raise ConfigError(key, f"must be {wanted}, got {value!r}")


def _build(cls: type, data: dict[str, Any] | None, where: str) -> Any:
    if data is not None and not isinstance(data, dict):
        raise ConfigError(where, f"must be a mapping, got {data!r}")
    data = dict(data or {})
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(names), key=str)
    if unknown:
        key = f"{where}.{unknown[0]}" if where else str(unknown[0])
        close = difflib.get_close_matches(str(unknown[0]), list(names), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(key, f"unknown key(s) {unknown} in {where or 'the top level'}{hint} "
                               f"allowed: {sorted(names)}")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        f = names[name]
        key = f"{where}.{name}" if where else name
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if dataclasses.is_dataclass(default):
            kwargs[name] = _build(type(default), value, key)
            continue
        if isinstance(default, dict) and value is None:
            kwargs[name] = {}
            continue
        _check_type(f, value, key)
        kwargs[name] = tuple(value) if isinstance(default, tuple) and value is not None else value
    return cls(**kwargs)


def config_from_mapping(data: dict[str, Any]) -> MLConfig:
    """Build and validate the config from a parsed YAML mapping."""
    cfg = _build(MLConfig, data, "")
    # a weight for a feature that is not in the lists is a typo in the file (in code, `replace` may drop a
    # feature and keep its weight: it then simply does not apply)
    bad = set(cfg.features.weights) - {"numeric", "categorical", *cfg.features.numeric_all}
    if bad:
        raise ConfigError("features.weights",
                          f"{sorted(bad)} are neither numeric/categorical nor numeric features")
    return cfg
