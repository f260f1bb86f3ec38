"""The gate's thresholds: one config file per deployment (config/quality.yml), defaults here.

Every key is optional; a missing key keeps the default below (docs/quality.md, "Thresholds"):

    tolerance: 0.2                 # profile row count vs the last good run (+-20 %)
    mean_tolerance: null           # mean monetary vs the last good run (null: = tolerance)
    mostly:                        # share of rows that must carry a value, per table.column
      stg_crm__contacts.email: 0.8
    quarantine:
      max_rejected_share_per_source: 0.5   # a source whose lines are mostly rejected fails the gate
      max_rejected_share_per_file: 0.5     # so does a file (files of fewer lines than min_file_lines skipped)
      min_file_lines: 20
    absent_columns: [stg_crm__contacts.phone]   # never validated (columns empty in every row are skipped anyway)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import great_expectations as gx

# `mostly` of the completeness checks (share of rows that must be non-null): the documented defaults
DEFAULT_MOSTLY: dict[str, float] = {
    "stg_crm__contacts.signup_at": 0.99,
    "stg_crm__contacts.email": 0.8,  # most contacts leave an e-mail; a sudden drop means a broken export
    "stg_web__events.anonymous_id": 0.99,
    "stg_shop__orders.customer_id": 0.5,  # guest checkouts carry an e-mail only
    "stg_shop__order_items.quantity": 0.99,
}
_KEYS = {"tolerance", "mean_tolerance", "mostly", "quarantine", "absent_columns"}
_QUARANTINE_KEYS = {"max_rejected_share_per_source", "max_rejected_share_per_file", "min_file_lines"}


class GateConfigError(ValueError):
    """config/quality.yml does not hold what docs/quality.md describes (names the file and key)."""


@dataclass(frozen=True)
class GateThresholds:
    tolerance: float | None = None  # None: $SEGWAREHOUSE_GATE_TOLERANCE, else 0.2
    mean_tolerance: float | None = None
    mostly: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MOSTLY))
    max_rejected_share_per_source: float = 0.5
    max_rejected_share_per_file: float = 0.5
    min_file_lines: int = 20
    absent_columns: tuple[str, ...] = ()
    source: str | None = None  # the file the values came from

    def apply(self, suite: gx.ExpectationSuite, table: str) -> gx.ExpectationSuite:
        """The suite with this deployment's `mostly` for each `table.column` the config names."""
        for expectation in suite.expectations:
            key = f"{table}.{getattr(expectation, 'column', None)}"
            if key in self.mostly and getattr(expectation, "mostly", None) is not None:
                expectation.mostly = self.mostly[key]
        return suite


def _share(value: Any, key: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise GateConfigError(f"{path}: `{key}` must be a share between 0 and 1, got {value!r}")
    return float(value)


def _fraction(value: Any, key: str, path: Path) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise GateConfigError(f"{path}: `{key}` must be a fraction >= 0 (0.2 = +-20 %), got {value!r}")
    return float(value)


def load_thresholds(path: Path) -> GateThresholds:
    """The thresholds of config/quality.yml over the defaults (the defaults alone when there is no file)."""
    import yaml

    if not path.is_file():
        return GateThresholds()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise GateConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or set(data) - _KEYS:
        raise GateConfigError(f"{path}: unknown key(s) {sorted(set(data) - _KEYS) if isinstance(data, dict) else data!r}; "
                              f"allowed: {sorted(_KEYS)}")
    out = GateThresholds(source=str(path))
    mostly = data.get("mostly") or {}
    if not isinstance(mostly, dict):
        raise GateConfigError(f"{path}: `mostly` must map table.column to a share")
    unknown = set(mostly) - set(DEFAULT_MOSTLY)
    if unknown:
        raise GateConfigError(f"{path}: `mostly` names {sorted(unknown)}, which no completeness check reads; "
                              f"known: {sorted(DEFAULT_MOSTLY)}")
    quarantine = data.get("quarantine") or {}
    if not isinstance(quarantine, dict) or set(quarantine) - _QUARANTINE_KEYS:
        raise GateConfigError(f"{path}: `quarantine` allows {sorted(_QUARANTINE_KEYS)}")
    absent = data.get("absent_columns") or []
    if not isinstance(absent, list) or not all(isinstance(c, str) and "." in c for c in absent):
        raise GateConfigError(f"{path}: `absent_columns` must be a list of table.column names")
    min_lines = quarantine.get("min_file_lines", out.min_file_lines)
    if isinstance(min_lines, bool) or not isinstance(min_lines, int) or min_lines < 1:
        raise GateConfigError(f"{path}: `quarantine.min_file_lines` must be a whole number >= 1, got {min_lines!r}")
    return replace(
        out,
        tolerance=_fraction(data.get("tolerance"), "tolerance", path),
        mean_tolerance=_fraction(data.get("mean_tolerance"), "mean_tolerance", path),
        mostly={**DEFAULT_MOSTLY, **{k: _share(v, f"mostly.{k}", path) for k, v in mostly.items()}},
        max_rejected_share_per_source=_share(quarantine.get("max_rejected_share_per_source",
                                                            out.max_rejected_share_per_source),
                                             "quarantine.max_rejected_share_per_source", path),
        max_rejected_share_per_file=_share(quarantine.get("max_rejected_share_per_file",
                                                          out.max_rejected_share_per_file),
                                           "quarantine.max_rejected_share_per_file", path),
        min_file_lines=min_lines,
        absent_columns=tuple(absent),
    )
