"""What the gate found: outcomes per expectation, suite and run, and how they read in a log, the serving
file or the warehouse (row values may be personal data)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from segwarehouse.quality.schema import SAMPLES

_ROWS_IN_MESSAGE = 5
# row keys that identify a person: never in a log line or the serving file
_PERSON_KEYS = frozenset({"customer_id", "primary_customer_id", "email", "phone", "anonymous_id", "user_id"})
_CODE_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{0,23}")


class QualityGateFailed(RuntimeError):
    """Raised when at least one expectation failed; `result` holds the full GateResult."""

    def __init__(self, result: GateResult) -> None:
        self.result = result
        super().__init__(result.failure_message())


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation of one suite as GX evaluated it."""

    table: str
    suite: str
    expectation_type: str
    column: str | None
    success: bool
    kwargs: dict[str, Any]
    observed: Any
    unexpected_count: int | None = None
    element_count: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    failing_rows: tuple[str, ...] = ()  # a sample of failing rows by their ids ("person_id=p_...")
    failing_row_ids: tuple[tuple[tuple[str, Any], ...], ...] = ()  # the same rows as (column, value) pairs
    # observed values are values of the table's rows (raw data, maybe PII), not metrics DuckDB computed
    values_are_data: bool = False

    def describe(self, level: str = "full") -> str:
        """One line naming table, column, expectation, its bounds and what was observed.

        `level` says where the text goes, as row values may be personal data (an e-mail typed into a
        category column):
        * "full" - every observed value and row key: the warehouse (quality.data_quality_samples) and the
          run's evidence files, which an erasure cleans;
        * "log" - the exception message (task logs): values shown only when they are numbers or look like
          category codes (`zombie`, `XYZ`), rows without person identifiers (customer_id, e-mail, ...);
        * "public" - quality.data_quality_runs and the serving file: no row value at all, rows by landing
          file and line or by person_id.
        """
        column = self.meta.get("column", self.column) or "*"
        metric = self.meta.get("metric")
        args = ", ".join(f"{k}={short(v)}" for k, v in self.kwargs.items())
        text = f"{self.table}.{column}" + (f" [{metric}]" if metric else "") + f": {self.expectation_type}({args})"
        if self.unexpected_count is not None and self.element_count is not None and self.element_count > 1:
            text += f" - {self.unexpected_count} of {self.element_count} rows unexpected"
        values = self.observed if isinstance(self.observed, list) else [self.observed]
        withheld = self.values_are_data and self.observed is not None and (
            level == "public" or (level == "log" and not all(_is_code_like(v) for v in values)))
        if withheld:
            text += f"; observed values withheld ({len(values)} distinct in the sample: {SAMPLES})"
        else:
            text += f"; observed {'values ' if isinstance(self.observed, list) else ''}{short(self.observed)}"
        if "baseline" in self.meta:
            text += f" (baseline {short(self.meta['baseline'])} from run {self.meta.get('baseline_run_id')})"
        rows = list(self.failing_rows) if level == "full" else [
            ref for ids in self.failing_row_ids if (ref := _row_reference(dict(ids), level))]
        if rows:
            more = ", ..." if (self.unexpected_count or len(rows)) > _ROWS_IN_MESSAGE else ""
            text += "; rows " + ", ".join(rows[:_ROWS_IN_MESSAGE]) + more
        return text

    def to_dict(self) -> dict[str, Any]:
        return jsonable({
            "table": self.table, "suite": self.suite, "expectation_type": self.expectation_type,
            "column": self.column, "success": self.success, "kwargs": self.kwargs, "observed": self.observed,
            "unexpected_count": self.unexpected_count, "element_count": self.element_count, "meta": self.meta,
            "failing_rows": list(self.failing_rows)})


@dataclass(frozen=True)
class SuiteOutcome:
    """One suite run over one table."""

    suite: str
    table: str
    success: bool
    expectations: tuple[ExpectationOutcome, ...]
    n_rows: int
    started_at: datetime
    duration_s: float
    result_path: Path
    # tables validated load by load: the rows validated were loaded after `validated_from` (None: every
    # row) and up to `validated_through` (the table's latest load when the gate read it)
    validated_from: datetime | None = None
    validated_through: datetime | None = None
    # expectations not run, each with why (source not delivered, column empty in every row, declared absent)
    skipped: tuple[str, ...] = ()

    @property
    def is_whole_table(self) -> bool:
        return self.validated_from is None

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [e for e in self.expectations if not e.success]

    @property
    def failed_summary(self) -> str:
        """The failures without raw values (what data_quality_runs and the serving file hold)."""
        return "\n".join(e.describe("public") for e in self.failures)


@dataclass(frozen=True)
class GateResult:
    """Outcome of `validate_warehouse`: per-suite outcomes and where the evidence was written."""

    run_id: str
    success: bool
    suites: tuple[SuiteOutcome, ...]
    validation_dir: Path
    data_docs_index: Path | None
    baseline_recorded: bool
    duration_s: float

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [f for s in self.suites for f in s.failures]

    def failure_message(self) -> str:
        """What the task log shows: values only where they cannot be personal data (see describe)."""
        lines = [f"quality gate failed for run {self.run_id}: {len(self.failures)} expectation(s) failed"]
        lines += [f"  - {f.describe('log')}" for f in self.failures]
        lines.append(f"  evidence: {self.validation_dir}")
        return "\n".join(lines)


def _row_reference(row: dict[str, Any], level: str) -> str:
    """A failing row for a log ("log": its keys but person identifiers) or for the serving file ("public": its
    landing file and line, or its person_id)."""
    if level == "log":
        return " ".join(f"{k}={short(v, 80)}" for k, v in row.items() if k not in _PERSON_KEYS)
    if row.get("source_file") is not None and row.get("line_no") is not None:
        return f"{row['source_file']}:{row['line_no']}"
    return f"person_id={row['person_id']}" if row.get("person_id") is not None else ""


def _is_code_like(value: Any) -> bool:
    """A value that cannot be personal data: a number, a flag, missing, or a short category-like code."""
    if value is None or isinstance(value, bool | int | float):
        return True
    return isinstance(value, str) and _CODE_LIKE.fullmatch(value) is not None


def distinct(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def short(value: Any, limit: int = 200) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        text = "[" + ", ".join(short(v, 60) for v in value) + "]"
        return text if len(text) <= limit else text[: limit - 4] + "...]"
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
