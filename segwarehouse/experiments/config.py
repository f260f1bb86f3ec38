"""Typed view of `config/experiments.yml`: which experiments run, on whom, and what they measure.

Unknown keys, shares that do not add up, dates in the wrong order or names that could not be SQL identifiers
fail when the file is loaded, with the experiment and setting named.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

_REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_PATH = _REPO_ROOT / "config" / "experiments.yml"
CONFIG_ENV = "SEGWAREHOUSE_EXPERIMENTS_CONFIG"

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
# campaign ids travel into SQL as bound parameters; still keep them to printable, bounded text
CampaignId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")]

# binary metrics count persons with at least one qualifying event; `revenue` is a mean per person
MetricKind = Literal["purchase", "refund", "revenue", "email_click", "visit"]
BINARY_KINDS = ("purchase", "refund", "email_click", "visit")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Metric(_Strict):
    """An outcome measured in the `window_days` after a person's assignment date."""

    name: Name
    kind: MetricKind
    window_days: int = Field(14, ge=1, le=365)
    campaign_ids: tuple[CampaignId, ...] = ()  # email_click only: count clicks on these campaigns only

    @model_validator(mode="after")
    def _campaigns_only_for_clicks(self) -> Metric:
        if self.campaign_ids and self.kind != "email_click":
            raise ValueError(f"metric {self.name}: campaign_ids apply to kind email_click only")
        return self

    @property
    def is_binary(self) -> bool:
        return self.kind in BINARY_KINDS


class Variant(_Strict):
    name: Name
    share: float = Field(gt=0, le=1)
    control: bool = False
    marketing: bool = False  # the variant contacts the person (e-mail, ads): consent required
    exposure_campaigns: tuple[CampaignId, ...] = ()  # e-mail events with these campaign ids = exposed


class Targets(_Strict):
    """Who may enter: persons in any listed ML segment or rule segment when they are assigned."""

    model_segments: Literal["all"] | tuple[int, ...] = ()
    rule_segments: tuple[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")], ...] = ()

    @model_validator(mode="after")
    def _not_empty(self) -> Targets:
        if not self.model_segments and not self.rule_segments:
            raise ValueError("targets need model_segments (a list or 'all') and/or rule_segments")
        return self


class Experiment(_Strict):
    name: Name
    description: str = ""
    salt: str | None = Field(None, min_length=1, max_length=128)  # default: the name
    start_date: date
    end_date: date
    targets: Targets
    variants: tuple[Variant, ...]
    holdout_share: float = Field(0.0, ge=0, lt=1)
    primary_metric: Metric
    guardrail_metrics: tuple[Metric, ...] = ()
    # assign with assigned_date = start_date even when the first refresh runs later: for A/A checks on
    # history only (nobody was treated, so assigning after the fact cannot bias anything)
    retrospective: bool = False

    @field_validator("variants")
    @classmethod
    def _variants(cls, variants: tuple[Variant, ...]) -> tuple[Variant, ...]:
        names = [v.name for v in variants]
        if len(variants) < 2:
            raise ValueError("an experiment needs at least two variants")
        if len(set(names)) != len(names) or "holdout" in names:
            raise ValueError(f"variant names must be unique and not 'holdout': {names}")
        if sum(v.control for v in variants) != 1:
            raise ValueError("exactly one variant must be the control (control: true)")
        if abs(sum(v.share for v in variants) - 1.0) > 1e-9:
            raise ValueError(f"variant shares must add up to 1, got {sum(v.share for v in variants)}")
        return variants

    @model_validator(mode="after")
    def _dates_and_metrics(self) -> Experiment:
        if self.end_date < self.start_date:
            raise ValueError(f"end_date {self.end_date} is before start_date {self.start_date}")
        names = [m.name for m in self.metrics]
        if len(set(names)) != len(names):
            raise ValueError(f"metric names must be unique: {names}")
        return self

    @property
    def assignment_salt(self) -> str:
        return self.salt or self.name

    @property
    def requires_consent(self) -> bool:
        """Only consenting persons enter when any variant is a marketing action (the control included:
        eligibility is decided before the split, so the arms stay comparable)."""
        return any(v.marketing for v in self.variants)

    @property
    def control(self) -> Variant:
        return next(v for v in self.variants if v.control)

    @property
    def metrics(self) -> tuple[Metric, ...]:
        return (self.primary_metric, *self.guardrail_metrics)

    def arms(self) -> list[tuple[str, float]]:
        """(arm, share of all assigned persons) in bucket order: holdout first, then the variants."""
        rest = 1.0 - self.holdout_share
        arms = [("holdout", self.holdout_share)] if self.holdout_share > 0 else []
        return arms + [(v.name, v.share * rest) for v in self.variants]


class Statistics(_Strict):
    alpha: float = Field(0.05, gt=0, lt=0.5)  # two-sided; intervals are (1 - alpha)
    srm_alpha: float = Field(0.001, gt=0, lt=0.5)  # sample-ratio mismatch flagged below this chi-square p
    min_persons_per_arm: int = Field(100, ge=1)  # fewer measured persons in an arm: too small to read
    min_conversions: int = Field(5, ge=0)  # fewer conversions in either compared arm: too small to read
    power: float = Field(0.8, gt=0, lt=1)  # for the minimum detectable effect column


class ExperimentsConfig(_Strict):
    segments_schema: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = "segments"
    statistics: Statistics = Statistics()
    experiments: tuple[Experiment, ...] = ()

    @field_validator("experiments")
    @classmethod
    def _unique(cls, experiments: tuple[Experiment, ...]) -> tuple[Experiment, ...]:
        names = [e.name for e in experiments]
        if len(set(names)) != len(names):
            raise ValueError(f"experiment names must be unique: {names}")
        return experiments

    def get(self, name: str) -> Experiment:
        for experiment in self.experiments:
            if experiment.name == name:
                return experiment
        raise KeyError(f"no experiment {name!r} in the config; known: {[e.name for e in self.experiments]}")


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG_PATH))


def load_config(path: str | Path | None = None) -> ExperimentsConfig:
    """Read and validate the experiments file (default `config/experiments.yml`, or $SEGWAREHOUSE_EXPERIMENTS_CONFIG).

    A missing file means no experiments; a malformed one raises ValueError naming the file and setting.
    """
    path = Path(path) if path else config_path()
    if not path.exists():
        return ExperimentsConfig()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return ExperimentsConfig.model_validate(raw)
    except (ValidationError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: invalid experiments config:\n{exc}") from None
