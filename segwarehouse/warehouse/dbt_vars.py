"""Validation of every value that reaches dbt's SQL as a var (`--vars`) or through the environment.

dbt vars are pasted into SQL text by Jinja (`interval {{ var('lookback_days') }} day`, `glob('{{ var("raw_path")
}}/...')`), so a value is checked against its rule before dbt runs: a wrong type or a quote character is a
`DbtVarError` naming the var and the rule, never a SQL error (or worse, SQL) at run time. The same rules
run inside dbt as the `validate_vars` macro (`on-run-start`), for `dbt` invoked by hand.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# characters that could end a SQL string literal or a statement, or break a glob pattern
_PATH_FORBIDDEN = re.compile(r"['\"`;\\\x00-\x1f*?\[\]{}]")


class DbtVarError(ValueError):
    """A dbt var (or the environment value behind it) breaks its rule; the message names both."""


def _int(low: int, high: int) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high,
            f"an integer in {low}..{high}")


def _number(low: float, high: float) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: isinstance(v, int | float) and not isinstance(v, bool) and low < v <= high,
            f"a number > {low} and <= {high}")


def _is_date(v: Any) -> bool:
    if v == "":
        return True
    if not isinstance(v, str) or not _DATE.match(v):
        return False
    try:
        date.fromisoformat(v)
    except ValueError:
        return False
    return True


def _is_path(v: Any) -> bool:
    return isinstance(v, str) and v.strip() != "" and not _PATH_FORBIDDEN.search(v)


# var -> (check, rule); the vars of dbt_project/dbt_project.yml
RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "as_of_date": (_is_date, "a date YYYY-MM-DD (or empty for the latest delivery)"),
    "raw_path": (_is_path, "a non-empty path without quotes, backslashes, ';', control or glob characters"),
    "lookback_days": _int(0, 60),
    "future_tolerance_days": _int(0, 30),
    "timestamp_floor": (lambda v: v != "" and _is_date(v), "a date YYYY-MM-DD"),
    "reporting_currency": (lambda v: isinstance(v, str) and re.fullmatch(r"[A-Z]{3}", v) is not None,
                           "an ISO-4217 code of three capital letters"),
    "session_gap_minutes": _int(1, 1440),
    "line_bitmap_max_mb": _int(0, 65_536),
    "max_customers_per_email": _int(1, 10_000),
    "max_customers_per_phone": _int(1, 10_000),
    "max_users_per_anonymous_id": _int(1, 10_000),
    "max_component_size": _int(2, 1_000_000),
    "lifecycle_new_days": _int(1, 3650),
    "lifecycle_active_days": _int(1, 3650),
    "lifecycle_at_risk_days": _int(1, 3650),
    "lifecycle_lapsed_days": _int(1, 3650),
    "engagement_pages_per_week": _number(0, 10_000),
    "engagement_session_minutes": _number(0, 10_000),
    "engagement_sessions_per_week": _number(0, 10_000),
    "engagement_email_points": _number(0, 10_000),
}


def validate_dbt_vars(values: Mapping[str, Any]) -> dict[str, Any]:
    """Return `values` unchanged if every var is known and follows its rule; else raise `DbtVarError`."""
    problems = []
    for name, value in values.items():
        if name not in RULES:
            problems.append(f"unknown dbt var {name!r} (known: {', '.join(sorted(RULES))})")
            continue
        check, rule = RULES[name]
        if not check(value):
            problems.append(f"dbt var {name}={value!r}: must be {rule}")
    if problems:
        raise DbtVarError("; ".join(problems))
    return dict(values)


def validate_raw_path(path: str) -> str:
    """The landing-zone path (SEGWAREHOUSE_RAW) becomes dbt's raw_path: same rule."""
    check, rule = RULES["raw_path"]
    if not check(path):
        raise DbtVarError(f"SEGWAREHOUSE_RAW / dbt var raw_path={path!r}: must be {rule}")
    return path


def project_var(paths: Any, name: str) -> Any:
    """The default of a dbt var as dbt_project.yml declares it (for Python steps that share its value)."""
    import yaml

    declared = yaml.safe_load((paths.dbt_project / "dbt_project.yml").read_text()).get("vars") or {}
    if name not in declared:
        raise DbtVarError(f"dbt_project.yml declares no var {name!r}")
    return declared[name]
