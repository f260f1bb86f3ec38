"""The data-quality gate: Great Expectations suites over the warehouse's staging relations and profile mart.

Why it looks the way it does:

* GX's SQL data source does not work on DuckDB through duckdb-engine, so tables are streamed out of
  DuckDB in chunks and validated as pandas batches (`checkpoint.run(batch_parameters={"dataframe": df})`).
* Row-level rules hold chunk by chunk and their results are summed (a `mostly` threshold is re-evaluated
  on the totals). Whole-table rules (key uniqueness, row count and mean drift) are computed by DuckDB over
  the whole table into a small frame, and GX validates that frame, so they stay correct across chunks.
* Every run leaves evidence: per-suite result JSON and a data-docs site under
  `<runs_dir>/<run_id>/validation/`, and one row per suite in `quality.data_quality_runs`.
  A passing run stores the profile's table statistics in `quality.profile_baselines`; the next run's
  drift checks are bounded by them.
* Append-only histories (a `loaded_at` column: the web events) are validated load by load: a suite reads
  the rows loaded after what its last passing run validated (`validated_through`), so a daily gate checks
  the day's delivery, not 20M events again. A failed run moves nothing; a full refresh re-validates all.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import great_expectations as gx
import pandas as pd
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import ProgressBarsConfig

from expectations import (
    PROFILE_KEY,
    PROFILE_TABLE,
    ROW_IDS,
    ROW_SUITES,
    ProfileBaseline,
    dim_user_profile_keys_suite,
    dim_user_profile_metrics_suite,
)

log = logging.getLogger(__name__)

DEFAULT_TABLES: tuple[str, ...] = (
    "stg_crm__contacts",
    "stg_web__events",
    "stg_shop__orders",
    "stg_shop__order_items",
    PROFILE_TABLE,
)
DEFAULT_TOLERANCE = 0.2
# deployments tune the drift bounds without code changes (the DAG calls validate_warehouse with defaults)
TOLERANCE_ENV = "SEGWAREHOUSE_GATE_TOLERANCE"
MEAN_TOLERANCE_ENV = "SEGWAREHOUSE_GATE_MEAN_TOLERANCE"
DEFAULT_CHUNK_ROWS = 250_000
QUALITY_SCHEMA = "quality"
# tables with this column are validated incrementally (rows loaded after the last passing validation)
LOAD_COLUMN = "loaded_at"
# the keys frame lists at most this many duplicated keys (their rows, all copies); enough to diagnose
MAX_DUPLICATE_KEYS = 1000
_SAMPLE = 20
_ROWS_IN_MESSAGE = 5  # failing rows named per expectation in the exception message (JSON keeps _SAMPLE)
# expectations that only look at the table's shape: evaluated once on a zero-row frame
_SCHEMA_ONLY = frozenset(
    {
        "expect_table_columns_to_match_set",
        "expect_table_columns_to_match_ordered_list",
        "expect_table_column_count_to_equal",
        "expect_table_column_count_to_be_between",
    }
)
_COLUMN_KWARGS = ("column", "column_A", "column_B", "column_list")
# column-map expectations whose verdict on a row depends on the row's value alone (see _attach_failing_rows)
_VALUE_WISE = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_match_like_pattern",
        "expect_column_values_to_not_match_like_pattern",
        "expect_column_value_lengths_to_be_between",
        "expect_column_value_lengths_to_equal",
        "expect_column_values_to_be_unique",
    }
)
_SCHEMA_PART = "__schema"


class _Part(NamedTuple):
    """Frames validated against one GX suite; `counts_rows` is False for the zero-row schema frame."""

    suite: gx.ExpectationSuite
    frames: Iterator[pd.DataFrame]
    counts_rows: bool = True
    row_ids: tuple[str, ...] = ()


class QualityGateFailed(RuntimeError):
    """Raised when at least one expectation failed; `result` holds the full GateResult."""

    def __init__(self, result: GateResult) -> None:
        self.result = result
        super().__init__(result.failure_message())


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation of one suite, aggregated over every chunk of its table."""

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
        where = f"{self.table}.{column}" + (f" [{metric}]" if metric else "")
        args = ", ".join(f"{k}={_short(v)}" for k, v in self.kwargs.items())
        text = f"{where}: {self.expectation_type}({args})"
        if self.unexpected_count is not None and self.element_count is not None and self.element_count > 1:
            text += f" - {self.unexpected_count} of {self.element_count} rows unexpected"
        values = self.observed if isinstance(self.observed, list) else [self.observed]
        withheld = self.values_are_data and self.observed is not None and (
            level == "public" or (level == "log" and not all(_is_code_like(v) for v in values)))
        if withheld:
            text += (f"; observed values withheld ({len(values)} distinct in the sample: "
                     "quality.data_quality_samples)")
        else:
            prefix = "values " if isinstance(self.observed, list) else ""
            text += f"; observed {prefix}{_short(self.observed)}"
        if "baseline" in self.meta:
            text += f" (baseline {_short(self.meta['baseline'])} from run {self.meta.get('baseline_run_id')})"
        rows = list(self.failing_rows) if level == "full" else [
            ref for ids in self.failing_row_ids if (ref := _row_reference(dict(ids), level))]
        if rows:
            shown = rows[:_ROWS_IN_MESSAGE]
            more = ", ..." if (self.unexpected_count or len(rows)) > len(shown) else ""
            text += "; rows " + ", ".join(shown) + more
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "suite": self.suite,
            "expectation_type": self.expectation_type,
            "column": self.column,
            "success": self.success,
            "kwargs": _jsonable(self.kwargs),
            "observed": _jsonable(self.observed),
            "unexpected_count": self.unexpected_count,
            "element_count": self.element_count,
            "meta": _jsonable(self.meta),
            "failing_rows": list(self.failing_rows),
        }


@dataclass(frozen=True)
class SuiteOutcome:
    """One suite run over one table (all chunks)."""

    suite: str
    table: str
    success: bool
    expectations: tuple[ExpectationOutcome, ...]
    n_rows: int
    n_chunks: int
    started_at: datetime
    duration_s: float
    result_path: Path
    # incremental suites: the rows validated were loaded after `validated_from` (None: every row) and up
    # to `validated_through` (the table's latest load when the gate read it)
    validated_from: datetime | None = None
    validated_through: datetime | None = None

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


def validate_warehouse(
    warehouse_path: str | Path,
    run_id: str,
    runs_dir: str | Path,
    *,
    tables: Sequence[str] = DEFAULT_TABLES,
    tolerance: float | None = None,
    mean_tolerance: float | None = None,
    schema: str = "main",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    raise_on_failure: bool = True,
) -> GateResult:
    """Validate `tables` of the warehouse with their GX suites; raise `QualityGateFailed` on any failure.

    `tolerance` bounds the profile's row count against the last good run (0.2 = +-20 %),
    `mean_tolerance` the mean of `monetary` (defaults to `tolerance`). When not given they come from
    $SEGWAREHOUSE_GATE_TOLERANCE / $SEGWAREHOUSE_GATE_MEAN_TOLERANCE, else `DEFAULT_TOLERANCE`.
    Opens the warehouse read-write: run it in the single-writer slot, after dbt.
    """
    tolerance, mean_tolerance = resolve_tolerances(tolerance, mean_tolerance)
    unknown = [t for t in tables if t not in ROW_SUITES]
    if unknown:
        raise ValueError(f"no suite for table(s) {unknown}; known: {sorted(ROW_SUITES)}")
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be >= 1")
    started = time.perf_counter()
    validation_dir = Path(runs_dir).resolve() / run_id / "validation"
    validation_dir.mkdir(parents=True, exist_ok=True)

    context = _ephemeral_context(validation_dir / "data_docs")
    source = context.data_sources.add_pandas("warehouse")
    outcomes: list[SuiteOutcome] = []
    baseline_stats: dict[str, Any] | None = None

    with duckdb.connect(str(warehouse_path)) as con:
        _ensure_quality_tables(con)
        existing = _existing_relations(con, schema)
        for table in tables:
            if table not in existing:
                outcomes.append(_missing_table(table, ROW_SUITES[table]().name, validation_dir))
                continue
            relation = f"{_quote(schema)}.{_quote(table)}"
            suite = ROW_SUITES[table]()
            present = _table_columns(con, schema, table)
            row_ids = tuple(c for c in ROW_IDS.get(table, ()) if c in present)
            scope = _load_scope(con, relation, table, suite.name, present, run_id)
            rows = relation if scope.rows_sql is None else scope.rows_sql
            parts = _table_parts(con, suite, rows, present, row_ids, chunk_rows)
            outcome = _run_suite(context, source, suite.name, table, parts, run_id, validation_dir)
            outcomes.append(
                dataclasses.replace(outcome, validated_from=scope.since, validated_through=scope.through)
            )
            if table == PROFILE_TABLE:
                # a missing key/monetary column already fails the row suite; keep the table checks running
                columns = set(present)
                baseline = _latest_baseline(con, run_id)
                keys_frame = (
                    _duplicated_keys(con, relation, PROFILE_KEY)
                    if PROFILE_KEY in columns
                    else pd.DataFrame({PROFILE_KEY: pd.Series([], dtype=object)})
                )
                keys_suite = dim_user_profile_keys_suite()
                outcomes.append(
                    _run_suite(
                        context,
                        source,
                        keys_suite.name,
                        table,
                        [_Part(keys_suite, iter([keys_frame]))],
                        run_id,
                        validation_dir,
                    )
                )
                metrics = _profile_metrics(con, relation, columns)
                metrics_suite = dim_user_profile_metrics_suite(
                    baseline, tolerance=tolerance, mean_tolerance=mean_tolerance,
                    future_tolerance_days=_future_tolerance_days(),
                )
                outcomes.append(
                    _run_suite(
                        context,
                        source,
                        metrics_suite.name,
                        table,
                        [_Part(metrics_suite, iter([metrics[["row_count", "monetary_mean", "days_after_as_of"]]]))],
                        run_id,
                        validation_dir,
                    )
                )
                baseline_stats = metrics.iloc[0].to_dict()

        success = all(o.success for o in outcomes)
        _record_runs(con, run_id, outcomes)
        baseline_recorded = False
        if success and baseline_stats is not None:
            _record_baseline(con, run_id, schema, baseline_stats)
            baseline_recorded = True

    docs_index = _build_docs(context)
    result = GateResult(
        run_id=run_id,
        success=success,
        suites=tuple(outcomes),
        validation_dir=validation_dir,
        data_docs_index=docs_index,
        baseline_recorded=baseline_recorded,
        duration_s=time.perf_counter() - started,
    )
    (validation_dir / "gate_result.json").write_text(json.dumps(_gate_summary(result), indent=2))
    log.info("quality gate run %s: success=%s in %.2fs", run_id, success, result.duration_s)
    if not success and raise_on_failure:
        raise QualityGateFailed(result)
    return result


# --- GX plumbing ---------------------------------------------------------------------------------

class _LoadScope(NamedTuple):
    rows_sql: str | None  # a subquery of the rows to validate; None = the whole table
    since: datetime | None
    through: datetime | None


def _load_scope(
    con: duckdb.DuckDBPyConnection, relation: str, table: str, suite: str, present: list[str], run_id: str
) -> _LoadScope:
    """Rows of an append-only table loaded after its suite's last passing validation (all rows without one)."""
    if LOAD_COLUMN not in present:
        return _LoadScope(None, None, None)
    column = _quote(LOAD_COLUMN)
    through = con.execute(f"select max({column}) from {relation}").fetchone()[0]
    since = con.execute(
        f"""
        select max(validated_through) from {QUALITY_SCHEMA}.data_quality_runs
        where table_name = ? and suite = ? and success and run_id <> ?
        """,
        [table, suite, run_id],
    ).fetchone()[0]
    if since is None or through is None or since > through:  # first run, empty table, or a rebuilt one
        return _LoadScope(None, None, through)
    literal = since.isoformat(sep=" ")
    return _LoadScope(f"(select * from {relation} where {column} > timestamp '{literal}')", since, through)



def _ephemeral_context(docs_dir: Path) -> Any:
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    # the default site of an ephemeral context is a throw-away temp dir; ours goes to the run folder
    for name, site in dict(context.get_config().data_docs_sites or {}).items():
        context.delete_data_docs_site(name)
        default_dir = Path(site.get("store_backend", {}).get("base_directory", ""))
        if default_dir.is_absolute() and default_dir.is_dir() and not any(default_dir.iterdir()):
            default_dir.rmdir()
    context.add_data_docs_site(
        "run_site",
        {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    return context


def _build_docs(context: Any) -> Path | None:
    try:
        urls = context.build_data_docs(site_names=["run_site"])
    except Exception:  # docs are evidence, not the verdict: never let rendering hide the gate's answer
        log.exception("building data docs failed")
        return None
    url = urls.get("run_site")
    return Path(url.removeprefix("file://")) if url else None


def _table_parts(
    con: duckdb.DuckDBPyConnection,
    suite: gx.ExpectationSuite,
    relation: str,
    present: list[str],
    row_ids: tuple[str, ...],
    chunk_rows: int,
) -> list[_Part]:
    """Split a table suite into what needs the schema only and what needs rows, and stream only used columns.

    Shape checks (column set, column count) run once on a zero-row frame with every column; the
    other expectations run on chunks holding only the columns they reference plus the `row_ids` that
    name failing rows. Fetching a wide mart's unused columns into pandas costs more than validating.
    """
    everything = [_Part(suite, _chunks(con, f"select * from {relation}", chunk_rows), True, row_ids)]
    schema_only, row_level, referenced = [], [], set(row_ids)
    for expectation in suite.expectations:
        if expectation.expectation_type in _SCHEMA_ONLY:
            schema_only.append(expectation)
            continue
        row_level.append(expectation)
        columns = _referenced_columns(expectation.configuration.kwargs)
        if columns is None:  # a table-wide expectation we cannot project for: stream whole rows
            return everything
        referenced |= columns
    if not schema_only or not row_level:
        return everything
    projection = ", ".join(_quote(c) for c in present if c in referenced) or "1 as _no_column"
    return [
        _Part(
            gx.ExpectationSuite(f"{suite.name}{_SCHEMA_PART}", expectations=schema_only),
            iter([_frame(con, f"select * from {relation} limit 0")]),
            counts_rows=False,
        ),
        _Part(
            gx.ExpectationSuite(suite.name, expectations=row_level),
            _chunks(con, f"select {projection} from {relation}", chunk_rows),
            True,
            row_ids,
        ),
    ]


def _referenced_columns(kwargs: dict[str, Any]) -> set[str] | None:
    found: set[str] = set()
    for key in _COLUMN_KWARGS:
        value = kwargs.get(key)
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, list | tuple):
            found.update(value)
    condition = _condition_columns(kwargs.get("row_condition"))
    if condition is None:
        return None
    return (found | condition) or None


def _condition_columns(condition: Any) -> set[str] | None:
    """Columns a row condition reads (GX condition objects serialise as nested dicts); None = unknown."""
    if condition is None:
        return set()
    if not isinstance(condition, dict):  # a pandas query string: its columns are not known here
        return None
    found: set[str] = set()
    column = condition.get("column")
    if isinstance(column, dict) and isinstance(column.get("name"), str):
        found.add(column["name"])
    for inner in condition.get("conditions") or ():
        columns = _condition_columns(inner)
        if columns is None:
            return None
        found |= columns
    return found


def _run_suite(
    context: Any,
    source: Any,
    name: str,
    table: str,
    parts: list[_Part],
    run_id: str,
    validation_dir: Path,
) -> SuiteOutcome:
    """Validate each part's frames with one checkpoint per part and fold all results into one outcome."""
    started_at = datetime.now(UTC)
    t0 = time.perf_counter()
    chunk_results: list[dict[str, Any]] = []
    n_rows = n_chunks = 0
    for part_suite, frames, counts_rows, row_ids in parts:
        gx_suite = context.suites.add(part_suite)
        asset = source.add_dataframe_asset(gx_suite.name.removesuffix("_suite"))
        batch_definition = asset.add_batch_definition_whole_dataframe("chunk")
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{gx_suite.name}_validation", data=batch_definition, suite=gx_suite)
        )
        # not `unexpected_index_column_names`: GX then builds the index list of *every* failing row in
        # Python (1M failing rows: 60 s instead of 5 s); _attach_failing_rows names a sample instead
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"{gx_suite.name}_checkpoint",
                validation_definitions=[validation],
                result_format={"result_format": "SUMMARY", "partial_unexpected_count": _SAMPLE},
            )
        )
        for n, frame in enumerate(frames):
            if counts_rows:
                n_rows += len(frame)
                n_chunks += 1
            checkpoint_result = checkpoint.run(
                batch_parameters={"dataframe": frame},
                run_id=RunIdentifier(run_name=f"{run_id}-chunk{n:04d}", run_time=started_at),
            )
            results = [r.to_json_dict() for r in checkpoint_result.run_results.values()]
            if row_ids and counts_rows:
                for result in results:
                    _attach_failing_rows(result["results"], frame, row_ids)
            chunk_results += results

    values_are_data = any(part.row_ids for part in parts)
    expectations = tuple(_aggregate(table, name, chunk_results, values_are_data))
    outcome_path = validation_dir / f"{name}.json"
    outcome = SuiteOutcome(
        suite=name,
        table=table,
        success=all(e.success for e in expectations),
        expectations=expectations,
        n_rows=n_rows,
        n_chunks=n_chunks,
        started_at=started_at,
        duration_s=time.perf_counter() - t0,
        result_path=outcome_path,
    )
    outcome_path.write_text(
        json.dumps(
            {
                "run_id": run_id,
                "suite": name,
                "table": table,
                "success": outcome.success,
                "n_rows": n_rows,
                "n_chunks": outcome.n_chunks,
                "started_at": started_at.isoformat(),
                "duration_s": outcome.duration_s,
                "expectations": [e.to_dict() for e in expectations],
                "failed_summary": outcome.failed_summary,
                "gx_chunk_results": chunk_results,
            },
            indent=2,
            default=str,
        )
    )
    return outcome


def _aggregate(table: str, suite: str, chunk_results: list[dict[str, Any]],
               values_are_data: bool) -> Iterator[ExpectationOutcome]:
    """Fold per-chunk GX results into one outcome per expectation (keyed by the expectation's id)."""
    by_id: dict[str, list[dict[str, Any]]] = {}
    for chunk in chunk_results:
        for r in chunk["results"]:
            by_id.setdefault(r["expectation_config"]["id"], []).append(r)
    for results in by_id.values():
        config = results[0]["expectation_config"]
        kwargs = {k: v for k, v in config["kwargs"].items() if k not in ("batch_id", "column")}
        stats = [r.get("result") or {} for r in results]
        failing_rows: tuple[str, ...] = ()
        row_ids: tuple[tuple[tuple[str, Any], ...], ...] = ()
        if all("unexpected_count" in s for s in stats):
            element_count = sum(s.get("element_count") or 0 for s in stats)
            unexpected = sum(s.get("unexpected_count") or 0 for s in stats)
            missing = sum(s.get("missing_count") or 0 for s in stats)
            mostly = kwargs.get("mostly", 1.0)
            if mostly < 1.0:
                nonmissing = element_count - missing
                success = nonmissing == 0 or 1 - unexpected / nonmissing >= mostly
            else:
                success = all(r["success"] for r in results)
            sample = [v for s in stats for v in s.get("partial_unexpected_list") or []][:_SAMPLE]
            observed = _observed_values(sample, unexpected, element_count)
            rows = [row for s in stats for row in s.get("failing_rows") or []][:_SAMPLE]
            failing_rows = tuple(" ".join(f"{k}={_short(v, 80)}" for k, v in row.items()) for row in rows)
            row_ids = tuple(tuple(row.items()) for row in rows)
        else:
            element_count = unexpected = None
            success = all(r["success"] for r in results)
            failing = [s for r, s in zip(results, stats, strict=True) if not r["success"]]
            first = (failing or stats)[0]
            observed = first.get("observed_value")
            mismatched = (first.get("details") or {}).get("mismatched")
            if mismatched:  # column-set checks: say what is missing, not the whole column list
                observed = {k: v for k, v in mismatched.items() if v}
            if not success and observed is None:
                observed = _exception_message(results)
        yield ExpectationOutcome(
            table=table,
            suite=suite,
            expectation_type=config["type"],
            column=config["kwargs"].get("column"),
            success=bool(success),
            kwargs=kwargs,
            observed=observed,
            unexpected_count=unexpected,
            element_count=element_count,
            meta=config.get("meta") or {},
            failing_rows=failing_rows,
            failing_row_ids=row_ids,
            values_are_data=values_are_data and unexpected is not None,
        )


def _attach_failing_rows(
    results: list[dict[str, Any]], frame: pd.DataFrame, row_ids: tuple[str, ...]
) -> None:
    """Add `failing_rows` (the `row_ids` of up to _SAMPLE failing rows of this chunk) to each GX result.

    Only for expectations whose verdict on a row depends on that row's value alone: then exactly the
    rows holding one of GX's reported unexpected values fail (for uniqueness every copy does).
    """
    for result in results:
        stats = result.get("result") or {}
        config = result["expectation_config"]
        column = config["kwargs"].get("column")
        if not stats.get("unexpected_count") or config["type"] not in _VALUE_WISE or column not in frame:
            continue
        if config["kwargs"].get("row_condition") is not None:
            # only the rows meeting the condition were judged: take GX's own (sampled) index labels
            labels = [i for i in stats.get("partial_unexpected_index_list") or [] if i in frame.index]
            stats["failing_rows"] = _jsonable(frame.loc[labels, list(row_ids)].head(_SAMPLE).to_dict("records"))
            continue
        if config["type"] == "expect_column_values_to_not_be_null":
            mask = frame[column].isna()
        elif config["type"] == "expect_column_values_to_be_null":
            mask = frame[column].notna()
        else:  # nulls count as missing, never as unexpected, in the other value-wise checks
            values = [v for v in stats.get("partial_unexpected_list") or [] if not _is_missing(v)]
            mask = frame[column].isin(values)
        stats["failing_rows"] = _jsonable(frame.loc[mask, list(row_ids)].head(_SAMPLE).to_dict("records"))


# row keys that identify a person: never in a log line or the serving file
_PERSON_KEYS = frozenset({"customer_id", "primary_customer_id", "email", "phone", "anonymous_id", "user_id"})
_CODE_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{0,23}")


def _row_reference(row: dict[str, Any], level: str) -> str:
    """A failing row for a log ("log": its keys but person identifiers) or for the serving file ("public": its
    landing file and line, or its person_id)."""
    if level == "log":
        return " ".join(f"{k}={_short(v, 80)}" for k, v in row.items() if k not in _PERSON_KEYS)
    if row.get("source_file") is not None and row.get("line_no") is not None:
        return f"{row['source_file']}:{row['line_no']}"
    return f"person_id={row['person_id']}" if row.get("person_id") is not None else ""


def _is_code_like(value: Any) -> bool:
    """A value that cannot be personal data: a number, a flag, missing, or a short category-like code."""
    if value is None or isinstance(value, bool | int | float):
        return True
    return isinstance(value, str) and _CODE_LIKE.fullmatch(value) is not None


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _exception_message(results: list[dict[str, Any]]) -> str | None:
    """GX reports a failed metric (e.g. a missing column) as exception_info instead of a result."""
    for r in results:
        info = r.get("exception_info") or {}
        candidates = [info] if "exception_message" in info else list(info.values())
        for candidate in candidates:
            if isinstance(candidate, dict) and candidate.get("exception_message"):
                return "error: " + str(candidate["exception_message"]).strip().splitlines()[-1]
    return None


def _observed_values(sample: list[Any], unexpected: int, element_count: int) -> Any:
    if element_count == 1 and len(sample) == 1:
        return sample[0]  # a metrics frame: the value itself
    distinct: list[Any] = []
    for v in sample:
        if v not in distinct:
            distinct.append(v)
    return distinct  # distinct unexpected values among the first few


def _missing_table(table: str, suite: str, validation_dir: Path) -> SuiteOutcome:
    outcome = ExpectationOutcome(
        table=table,
        suite=suite,
        expectation_type="table_exists",
        column=None,
        success=False,
        kwargs={},
        observed="relation not found",
    )
    path = validation_dir / f"{suite}.json"
    path.write_text(
        json.dumps({"suite": suite, "table": table, "success": False, "expectations": [outcome.to_dict()]})
    )
    return SuiteOutcome(suite, table, False, (outcome,), 0, 0, datetime.now(UTC), 0.0, path)


# --- DuckDB side ---------------------------------------------------------------------------------


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _existing_relations(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ?", [schema]
    ).fetchall()
    return {r[0] for r in rows}


def _table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [schema, table],
    ).fetchall()
    return [r[0] for r in rows]


def _frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The inplace keyword")  # inside duckdb's conversion
        return con.execute(sql).df()


def _chunks(con: duckdb.DuckDBPyConnection, sql: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Stream a query as DataFrames of about `chunk_rows` rows; an empty table still yields one frame.

    Through Arrow record batches: strings arrive as Arrow-backed pandas strings without a round trip
    through Python objects (half the fetch time of `fetch_df_chunk` on the event history).
    """
    cursor = con.cursor()
    try:
        reader = cursor.sql(sql).to_arrow_reader(chunk_rows)
        empty = True
        for batch in reader:
            if batch.num_rows == 0:
                continue
            empty = False
            yield batch.to_pandas()
        if empty:
            yield reader.schema.empty_table().to_pandas()
    finally:
        cursor.close()


def _duplicated_keys(con: duckdb.DuckDBPyConnection, relation: str, key: str) -> pd.DataFrame:
    """All rows (just the key) whose key occurs more than once in the whole table, capped in keys."""
    k = _quote(key)
    return _frame(
        con,
        f"""
        select {k} from {relation}
        where {k} in (
            select {k} from {relation} where {k} is not null
            group by {k} having count(*) > 1 order by {k} limit {MAX_DUPLICATE_KEYS}
        )
        order by {k}
        """,
    )


def _profile_metrics(con: duckdb.DuckDBPyConnection, relation: str, columns: set[str]) -> pd.DataFrame:
    monetary = "monetary" if "monetary" in columns else "null::double"
    key = PROFILE_KEY if PROFILE_KEY in columns else "null"
    facts = [c for c in ("last_seen_at", "signup_at") if c in columns]
    after = (f"max(date_diff('day', as_of_date, cast(greatest({', '.join(facts)}) as date)))"
             if facts and "as_of_date" in columns else "null::bigint")
    return _frame(
        con,
        f"""
        select count(*) as row_count,
               avg({monetary})::double as monetary_mean,
               stddev_samp({monetary})::double as monetary_stddev,
               count(distinct {key}) as distinct_person_ids,
               {after} as days_after_as_of
        from {relation}
        """,
    )


def _future_tolerance_days() -> int:
    """The dbt var future_tolerance_days as the project declares it."""
    from .dbt_vars import project_var
    from .paths import get_paths

    return int(project_var(get_paths(), "future_tolerance_days"))


def _ensure_quality_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {QUALITY_SCHEMA}")
    con.execute(
        f"""
        create table if not exists {QUALITY_SCHEMA}.data_quality_runs (
            run_id varchar not null,
            suite varchar not null,
            success boolean not null,
            n_expectations integer not null,
            n_failed integer not null,
            failed_summary varchar,
            started_at timestamptz not null,
            duration_s double not null,
            result_path varchar,
            table_name varchar,
            n_rows bigint
        )
        """
    )
    # added with incremental validation; older warehouses get the column on their next gate run
    con.execute(
        f"alter table {QUALITY_SCHEMA}.data_quality_runs add column if not exists validated_from timestamp"
    )
    con.execute(
        f"alter table {QUALITY_SCHEMA}.data_quality_runs add column if not exists validated_through timestamp"
    )
    # the unredacted failures (raw sample values, row identifiers): warehouse only, never published;
    # an erasure deletes the rows that hold the person's identifiers
    con.execute(
        f"""
        create table if not exists {QUALITY_SCHEMA}.data_quality_samples (
            run_id varchar not null,
            suite varchar not null,
            table_name varchar not null,
            expectation_type varchar not null,
            column_name varchar,
            description varchar not null
        )
        """
    )
    con.execute(
        f"""
        create table if not exists {QUALITY_SCHEMA}.profile_baselines (
            run_id varchar not null,
            table_name varchar not null,
            schema_name varchar not null,
            recorded_at timestamptz not null,
            row_count bigint not null,
            monetary_mean double,
            monetary_stddev double,
            distinct_person_ids bigint
        )
        """
    )


def _record_runs(con: duckdb.DuckDBPyConnection, run_id: str, outcomes: list[SuiteOutcome]) -> None:
    # a re-run of the same run_id replaces its rows (tasks are transactions, never blind appends)
    con.execute("begin transaction")
    try:
        con.execute(f"delete from {QUALITY_SCHEMA}.data_quality_runs where run_id = ?", [run_id])
        con.execute(f"delete from {QUALITY_SCHEMA}.data_quality_samples where run_id = ?", [run_id])
        samples = [[run_id, o.suite, o.table, e.expectation_type, e.column, e.describe("full")]
                   for o in outcomes for e in o.failures if e.values_are_data or e.failing_rows]
        if samples:
            con.executemany(f"insert into {QUALITY_SCHEMA}.data_quality_samples values (?, ?, ?, ?, ?, ?)", samples)
        con.executemany(
            f"""
            insert into {QUALITY_SCHEMA}.data_quality_runs (run_id, suite, success, n_expectations, n_failed,
                failed_summary, started_at, duration_s, result_path, table_name, n_rows, validated_from,
                validated_through)
            values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                [
                    run_id,
                    o.suite,
                    o.success,
                    len(o.expectations),
                    len(o.failures),
                    o.failed_summary or None,
                    o.started_at,
                    o.duration_s,
                    str(o.result_path),
                    o.table,
                    o.n_rows,
                    o.validated_from,
                    o.validated_through,
                ]
                for o in outcomes
            ],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def _latest_baseline(con: duckdb.DuckDBPyConnection, run_id: str) -> ProfileBaseline | None:
    row = con.execute(
        f"""
        select run_id, row_count, monetary_mean from {QUALITY_SCHEMA}.profile_baselines
        where table_name = ? and run_id <> ?
        order by recorded_at desc limit 1
        """,
        [PROFILE_TABLE, run_id],
    ).fetchone()
    if row is None:
        return None
    return ProfileBaseline(run_id=row[0], row_count=int(row[1]), monetary_mean=float(row[2] or 0.0))


def _record_baseline(con: duckdb.DuckDBPyConnection, run_id: str, schema: str, stats: dict[str, Any]) -> None:
    con.execute("begin transaction")
    try:
        con.execute(f"delete from {QUALITY_SCHEMA}.profile_baselines where run_id = ?", [run_id])
        con.execute(
            f"insert into {QUALITY_SCHEMA}.profile_baselines values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                PROFILE_TABLE,
                schema,
                datetime.now(UTC),
                int(stats["row_count"]),
                _float_or_none(stats["monetary_mean"]),
                _float_or_none(stats["monetary_stddev"]),
                int(stats["distinct_person_ids"]),
            ],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


# --- small helpers -------------------------------------------------------------------------------


def resolve_tolerances(
    tolerance: float | None = None, mean_tolerance: float | None = None
) -> tuple[float, float]:
    """Drift tolerances: explicit arguments, else the environment, else DEFAULT_TOLERANCE (mean = row count)."""
    if tolerance is None:
        tolerance = _env_fraction(TOLERANCE_ENV, DEFAULT_TOLERANCE)
    if mean_tolerance is None:
        mean_tolerance = _env_fraction(MEAN_TOLERANCE_ENV, tolerance)
    for name, value in (("tolerance", tolerance), ("mean_tolerance", mean_tolerance)):
        if not value >= 0:  # also rejects NaN
            raise ValueError(f"{name} must be a fraction >= 0 (0.2 = +-20 %), got {value!r}")
    return tolerance, mean_tolerance


def _env_fraction(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"${name} must be a number such as 0.2, got {raw!r}") from None


def _float_or_none(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _short(value: Any, limit: int = 200) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        text = "[" + ", ".join(_short(v, 60) for v in value) + "]"
        return text if len(text) <= limit else text[: limit - 4] + "...]"
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _gate_summary(result: GateResult) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "success": result.success,
        "duration_s": result.duration_s,
        "baseline_recorded": result.baseline_recorded,
        "data_docs_index": str(result.data_docs_index) if result.data_docs_index else None,
        "suites": [
            {
                "suite": s.suite,
                "table": s.table,
                "success": s.success,
                "n_rows": s.n_rows,
                "n_chunks": s.n_chunks,
                "validated_from": s.validated_from.isoformat() if s.validated_from else None,
                "validated_through": s.validated_through.isoformat() if s.validated_through else None,
                "n_expectations": len(s.expectations),
                "n_failed": len(s.failures),
                "duration_s": s.duration_s,
                "result_path": str(s.result_path),
            }
            for s in result.suites
        ],
        "failures": [f.describe() for f in result.failures],
    }
