"""The quality gate: Great Expectations suites on frames DuckDB computes from the warehouse.

* Each suite runs once, through its own GX `ValidationDefinition` and `Checkpoint`, on one pandas frame:
  the rows of a staging relation loaded since its suite last passed (a `loaded_at` column: the day's
  delivery, not 20M events again), the profile mart's columns the suite reads, or a one-row frame of
  whole-table metrics (row count and mean against the last good run, days after as_of_date). GX evaluates
  `mostly`, counts and samples; column-set expectations run on a zero-row frame with every column.
* Failing rows are named from GX's own sample of failing row positions (`partial_unexpected_index_list`).
* Evidence: per-suite result JSON and a data-docs site under `<runs_dir>/<run_id>/validation/`, one row per
  suite in `quality.data_quality_runs` (no row values: it is published), the raw failures in
  `quality.data_quality_samples` (warehouse only), and a baseline of every passing run.
* dbt owns the warehouse's key, relationship and model rules (YAML tests, enforced contracts); the gate
  guards what is published: value bounds and sets, completeness, drift against the last good run.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import duckdb
import great_expectations as gx
import pandas as pd
import pyarrow as pa
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
from expectations.quarantine import (
    FILE_ROW_IDS,
    QUARANTINE_TABLE,
    SOURCE_ROW_IDS,
    file_quarantine_suite,
    source_quarantine_suite,
)
from expectations.thresholds import GateThresholds, load_thresholds
from segwarehouse.core.sql import ident
from segwarehouse.quality import schema as qs
from segwarehouse.quality.results import (
    ExpectationOutcome,
    GateResult,
    QualityGateFailed,
    SuiteOutcome,
    distinct,
    jsonable,
    short,
)

log = logging.getLogger(__name__)

DEFAULT_TABLES: tuple[str, ...] = (
    "stg_crm__contacts", "stg_web__events", "stg_shop__orders", "stg_shop__order_items", PROFILE_TABLE)
DEFAULT_TOLERANCE = 0.2
# deployments tune the drift bounds without code changes (the DAG calls validate_warehouse with defaults)
TOLERANCE_ENV = "SEGWAREHOUSE_GATE_TOLERANCE"
MEAN_TOLERANCE_ENV = "SEGWAREHOUSE_GATE_MEAN_TOLERANCE"
LOAD_COLUMN = "loaded_at"  # tables with it are validated load by load
CHUNK_ROWS_ENV = "SEGWAREHOUSE_GATE_CHUNK_ROWS"
DEFAULT_CHUNK_ROWS = 2_000_000
_SAMPLE = 20  # failing values and rows GX samples per expectation
_SHAPE = frozenset({"expect_table_columns_to_match_set", "expect_table_columns_to_match_ordered_list",
                    "expect_table_column_count_to_equal", "expect_table_column_count_to_be_between"})


def validate_warehouse(
    warehouse_path: str | Path,
    run_id: str,
    runs_dir: str | Path,
    *,
    tables: Sequence[str] = DEFAULT_TABLES,
    tolerance: float | None = None,
    mean_tolerance: float | None = None,
    schema: str = "main",
    raise_on_failure: bool = True,
    thresholds: GateThresholds | None = None,
) -> GateResult:
    """Validate `tables` of the warehouse with their GX suites; raise `QualityGateFailed` on any failure.

    `tolerance` bounds the profile's row count against the last good run (0.2 = +-20 %),
    `mean_tolerance` the mean of `monetary` (defaults to `tolerance`); when not given they come from
    $SEGWAREHOUSE_GATE_TOLERANCE / $SEGWAREHOUSE_GATE_MEAN_TOLERANCE, else `DEFAULT_TOLERANCE`.
    `thresholds` (default: the deployment's config/quality.yml, `expectations.thresholds`) set the `mostly`
    of completeness checks, the quarantine shares and the tolerances when neither argument nor environment
    does. Suites of sources the deployment does not deliver (landing.declared_sources) and expectations on
    columns empty in every row are not run: they are listed as skipped. With the default tables the shares of
    quarantined lines per source and per file are checked too.
    Opens the warehouse read-write: run it in the single-writer slot, after dbt.
    """
    thresholds = thresholds or _deployment_thresholds()
    chunk_rows = _chunk_rows()  # a bad setting stops the gate before it reads anything
    # explicit arguments, then the environment, then the config file, then the default
    if tolerance is None and not os.environ.get(TOLERANCE_ENV, "").strip():
        tolerance = thresholds.tolerance
    if mean_tolerance is None and not os.environ.get(MEAN_TOLERANCE_ENV, "").strip():
        mean_tolerance = thresholds.mean_tolerance
    tolerance, mean_tolerance = resolve_tolerances(tolerance, mean_tolerance)
    check_quarantine = tuple(tables) == DEFAULT_TABLES
    unknown = [t for t in tables if t not in ROW_SUITES]
    if unknown:
        raise ValueError(f"no suite for table(s) {unknown}; known: {sorted(ROW_SUITES)}")
    started = time.perf_counter()
    validation_dir = Path(runs_dir).resolve() / run_id / "validation"
    validation_dir.mkdir(parents=True, exist_ok=True)
    context = _context(validation_dir / "data_docs")
    source = context.data_sources.add_pandas("warehouse")
    outcomes: list[SuiteOutcome] = []
    baseline_stats: dict[str, Any] | None = None

    def run(suite: gx.ExpectationSuite, table: str, frame: pd.DataFrame | Iterator[pd.DataFrame],
            shape: pd.DataFrame | None = None, row_ids: tuple[str, ...] = ()) -> SuiteOutcome:
        return _run_suite(context, source, suite, table, frame, shape, row_ids, run_id, validation_dir)

    with duckdb.connect(str(warehouse_path)) as con:
        qs.ensure_tables(con)
        undelivered = not_delivered_tables(con)
        for table in tables:
            suite = thresholds.apply(ROW_SUITES[table](), table)
            if table in undelivered:
                outcomes.append(_skipped_suite(table, suite, undelivered[table], validation_dir))
                continue
            columns = _columns(con, schema, table)
            if not columns:
                outcomes.append(_missing_table(table, suite.name, validation_dir))
                continue
            relation = f"{ident(schema)}.{ident(table)}"
            suite, skipped = _without_absent_columns(con, relation, table, suite, columns, thresholds)
            _seeded_currencies(con, schema, suite)
            row_ids = tuple(c for c in ROW_IDS.get(table, ()) if c in columns)
            since, through = _load_scope(con, relation, table, suite.name, columns, run_id)
            rows = relation if since is None else (
                f"(select * from {relation} where {LOAD_COLUMN} > timestamp '{since.isoformat(sep=' ')}')")
            read = [c for c in columns if c in _referenced(suite) | set(row_ids)]
            query = f"select {', '.join(map(ident, read)) or '1 as _'} from {rows}"
            shape = _frame(con, f"select * from {relation} limit 0")
            if table == PROFILE_TABLE:  # one frame: its key suite reads every person_id at once
                frame = _frame(con, query)
                outcome = run(suite, table, frame, shape, row_ids)
            else:  # staging tables: a first run reads the whole history, so in chunks of bounded memory
                outcome = run(suite, table, _frames(con, query, chunk_rows), shape, row_ids)
            outcomes.append(replace(outcome, validated_from=since, validated_through=through, skipped=skipped))
            if table == PROFILE_TABLE:  # the published mart: its key and whole-table figures too
                keys = frame[[PROFILE_KEY]] if PROFILE_KEY in frame else pd.DataFrame({PROFILE_KEY: []})
                outcomes.append(run(dim_user_profile_keys_suite(), table, keys))
                metrics = _profile_metrics(con, relation, set(columns))
                metrics_suite = dim_user_profile_metrics_suite(
                    _latest_baseline(con, run_id, metrics.iloc[0]["as_of_date"]), tolerance=tolerance, mean_tolerance=mean_tolerance,
                    future_tolerance_days=_future_tolerance_days())
                outcomes.append(run(metrics_suite, table, metrics[["row_count", "monetary_mean", "days_after_as_of"]]))
                baseline_stats = metrics.iloc[0].to_dict()
        if check_quarantine and _columns(con, schema, QUARANTINE_TABLE):
            for suite, frame, ids, through in _quarantine_frames(con, schema, thresholds, run_id):
                outcomes.append(replace(run(suite, QUARANTINE_TABLE, frame, row_ids=ids), validated_through=through))
        success = all(o.success for o in outcomes)
        _record_runs(con, run_id, outcomes)
        recorded = success and baseline_stats is not None
        if recorded:
            _record_baseline(con, run_id, schema, baseline_stats)

    result = GateResult(run_id, success, tuple(outcomes), validation_dir, _build_docs(context), recorded,
                        time.perf_counter() - started)
    (validation_dir / "gate_result.json").write_text(json.dumps(_summary(result), indent=2))
    log.info("quality gate run %s: success=%s in %.2fs", run_id, success, result.duration_s)
    if not success and raise_on_failure:
        raise QualityGateFailed(result)
    return result


# --- GX ------------------------------------------------------------------------------------------


def _context(docs_dir: Path) -> Any:
    """An ephemeral GX context whose data-docs site is the run's folder."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    for name, site in dict(context.get_config().data_docs_sites or {}).items():
        context.delete_data_docs_site(name)  # the default site is a throw-away temp folder: remove it too
        default_dir = Path(site.get("store_backend", {}).get("base_directory", ""))
        if default_dir.is_absolute() and default_dir.is_dir() and not any(default_dir.iterdir()):
            default_dir.rmdir()
    context.add_data_docs_site("run_site", {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    return context


def _build_docs(context: Any) -> Path | None:
    try:
        url = context.build_data_docs(site_names=["run_site"]).get("run_site")
    except Exception:  # docs are evidence, not the verdict: never let rendering hide the gate's answer
        log.exception("building data docs failed")
        return None
    return Path(url.removeprefix("file://")) if url else None


def _run_suite(context: Any, source: Any, suite: gx.ExpectationSuite, table: str,
               frames: pd.DataFrame | Iterator[pd.DataFrame], shape: pd.DataFrame | None, row_ids: tuple[str, ...],
               run_id: str, validation_dir: Path) -> SuiteOutcome:
    """Validate `frames` (one frame, or the chunks of one) and the column-set expectations on `shape`.

    A first pass asks GX only for each expectation's verdict (BOOLEAN_ONLY: no sample of failing values or
    rows, the metrics that filter the whole frame again per expectation). The expectations that failed run
    once more with the full detail (SUMMARY: counts, sampled values and row positions) on the columns they
    read, so a failure reads as it would from a single SUMMARY pass. A table read in several chunks (a first
    run over a whole history) gets one SUMMARY pass per chunk instead: the counts add up, the samples come from
    the first chunks, and a `mostly` is decided on the whole table.
    """
    started_at = datetime.now(UTC)
    t0 = time.perf_counter()
    chunks = iter([frames]) if isinstance(frames, pd.DataFrame) else frames
    ahead = deque(islice(chunks, 2))  # a second chunk means the table is read in several

    def pending() -> Iterator[pd.DataFrame]:  # hands each chunk over without keeping it
        while ahead:
            yield ahead.popleft()
        yield from chunks

    rows = [e for e in suite.expectations if e.expectation_type not in _SHAPE]
    summary = len(ahead) > 1
    results: list[dict[str, Any]] = []
    per_chunk: list[list[tuple[ExpectationOutcome, dict[str, Any]]]] = []
    n_rows = 0
    for chunk in pending():
        name, members = (suite.name, rows) if not per_chunk else (  # later chunks: the same checks as new members
            f"{suite.name}__part{len(per_chunk) + 1}", [e.copy(update={"id": None}, deep=True) for e in rows])
        checked = _validated(context, source, name, members, chunk, summary, run_id, started_at, results)
        per_chunk.append([(_outcome(table, suite.name, r, chunk, row_ids), r.get("result") or {}) for r in checked])
        n_rows += len(chunk)
        del chunk
    expectations = [_merged([o for o, _ in parts], [stats for _, stats in parts], e)
                    for e, *parts in zip(rows, *per_chunk, strict=True)]
    if shape is not None and (part := [e for e in suite.expectations if e.expectation_type in _SHAPE]):
        expectations += [_outcome(table, suite.name, r, shape, row_ids) for r in _validated(
            context, source, f"{suite.name}__shape", part, shape, False, run_id, started_at, results)]
    outcome = SuiteOutcome(suite.name, table, all(e.success for e in expectations), tuple(expectations),
                           n_rows, started_at, time.perf_counter() - t0, validation_dir / f"{suite.name}.json")
    outcome.result_path.write_text(json.dumps({
        "run_id": run_id, "suite": suite.name, "table": table, "success": outcome.success, "n_rows": n_rows,
        "started_at": started_at.isoformat(), "duration_s": outcome.duration_s,
        "expectations": [e.to_dict() for e in expectations], "failed_summary": outcome.failed_summary,
        "gx_results": results}, indent=2, default=str))
    return outcome


def _validated(context: Any, source: Any, name: str, part: list[Any], data: pd.DataFrame, summary: bool,
               run_id: str, run_time: datetime, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """GX's result per expectation of `part` on `data`, in order: verdicts and the SUMMARY detail of those that
    failed, or SUMMARY for all (`summary`). The GX results are appended to `results`."""
    if not part:
        return []
    verdicts = _checkpoint(context, source, name, part, data, "SUMMARY" if summary else "BOOLEAN_ONLY",
                           run_id, run_time)
    results.append(verdicts)
    again_ids = {r["expectation_config"]["id"] for r in verdicts["results"] if not r["success"]}
    if summary or not again_ids:
        return verdicts["results"]
    # the same expectations again, as new suite members, for their counts and samples
    again = {e.id: e.copy(update={"id": None}, deep=True) for e in part if e.id in again_ids}
    detail = _checkpoint(context, source, f"{name}__detail", list(again.values()),
                         _columns_read(list(again.values()), data), "SUMMARY", run_id, run_time)
    results.append(detail)
    by_id = {r["expectation_config"]["id"]: r for r in detail["results"]}
    return [by_id[again[i].id] if (i := r["expectation_config"]["id"]) in again else r for r in verdicts["results"]]


def _merged(parts: list[ExpectationOutcome], stats: list[dict[str, Any]], expectation: Any) -> ExpectationOutcome:
    """One expectation's outcome over the chunks of a table (each a SUMMARY result): counts summed, samples in
    chunk order, and a `mostly` judged on the share of unexpected values in the whole (GX's rule: nulls
    excluded unless the expectation is about nulls)."""
    if len(parts) == 1:
        return parts[0]
    unexpected = sum(p.unexpected_count or 0 for p in parts) if parts[0].unexpected_count is not None else None
    elements = sum(p.element_count or 0 for p in parts) if unexpected is not None else None
    success = all(p.success for p in parts)
    mostly = getattr(expectation, "mostly", None) or 1.0
    if mostly < 1.0 and unexpected is not None:
        judged = sum((s.get("element_count") or 0) - (s.get("missing_count") or 0) for s in stats)
        success = judged == 0 or 1 - unexpected / judged >= mostly
    failing = [p for p in parts if not p.success or p.unexpected_count]
    observed = parts[0].observed
    if failing and isinstance(failing[0].observed, list):
        observed = distinct([v for p in failing if isinstance(p.observed, list) for v in p.observed])[:_SAMPLE]
    elif failing:
        observed = failing[0].observed
    return replace(parts[0], success=success, observed=observed, unexpected_count=unexpected,
                   element_count=elements,
                   failing_rows=tuple(r for p in parts for r in p.failing_rows)[:_SAMPLE],
                   failing_row_ids=tuple(r for p in parts for r in p.failing_row_ids)[:_SAMPLE])


def _checkpoint(context: Any, source: Any, name: str, expectations: list[Any], data: pd.DataFrame,
                result_format: str, run_id: str, run_time: datetime) -> dict[str, Any]:
    """One GX suite, validation definition and checkpoint over `data`; its validation result as JSON."""
    asset = source.add_dataframe_asset(name.removesuffix("_suite"))
    validation = context.validation_definitions.add(gx.ValidationDefinition(
        name=f"{name}_validation", data=asset.add_batch_definition_whole_dataframe("frame"),
        suite=context.suites.add(gx.ExpectationSuite(name, expectations=expectations))))
    checkpoint = context.checkpoints.add(gx.Checkpoint(
        name=f"{name}_checkpoint", validation_definitions=[validation],
        result_format={"result_format": result_format, "partial_unexpected_count": _SAMPLE,
                       "return_unexpected_index_query": False}))  # a query listing every failing index: unused
    run = checkpoint.run(batch_parameters={"dataframe": data}, run_id=RunIdentifier(run_name=run_id, run_time=run_time))
    # the data source's engine caches every batch it loaded: let each frame go once it is validated
    batches = source.get_execution_engine().batch_manager
    batches.batch_data_cache.clear()
    batches.reset_batch_cache()
    (result,) = run.run_results.values()
    return result.to_json_dict()


def _columns_read(expectations: list[Any], data: pd.DataFrame) -> pd.DataFrame:
    """`data` cut to the columns `expectations` read (same index: GX's row positions still name its rows);
    all of it when one reads the table as a whole (column sets)."""
    if any(not _read_by([e]) for e in expectations):
        return data
    read = _read_by(expectations)
    return data[[c for c in data.columns if c in read]]


def _outcome(table: str, suite: str, result: dict[str, Any], frame: pd.DataFrame,
             row_ids: tuple[str, ...]) -> ExpectationOutcome:
    """An ExpectationOutcome from one GX result; failing rows looked up from GX's sampled row positions."""
    config, stats = result["expectation_config"], result.get("result") or {}
    kwargs = {k: v for k, v in config["kwargs"].items() if k not in ("batch_id", "column")}
    unexpected = stats.get("unexpected_count")
    if unexpected is not None:
        sample = stats.get("partial_unexpected_list") or []
        observed = sample[0] if stats.get("element_count") == 1 and len(sample) == 1 else distinct(sample)
        labels = [i for i in stats.get("partial_unexpected_index_list") or [] if i in frame.index]
        rows = jsonable(frame.loc[labels, list(row_ids)].to_dict("records")) if row_ids and labels else []
    else:
        observed, rows = stats.get("observed_value"), []
        mismatched = (stats.get("details") or {}).get("mismatched")
        if mismatched:  # column-set checks: say what is missing, not the whole column list
            observed = {k: v for k, v in mismatched.items() if v}
        if not result["success"] and observed is None:
            observed = _exception_message(result)
    return ExpectationOutcome(
        table=table, suite=suite, expectation_type=config["type"], column=config["kwargs"].get("column"),
        success=bool(result["success"]), kwargs=kwargs, observed=observed, unexpected_count=unexpected,
        element_count=stats.get("element_count") if unexpected is not None else None,
        meta=config.get("meta") or {},
        failing_rows=tuple(" ".join(f"{k}={short(v, 80)}" for k, v in r.items()) for r in rows),
        failing_row_ids=tuple(tuple(r.items()) for r in rows),
        values_are_data=bool(row_ids) and unexpected is not None)


def _referenced(suite: gx.ExpectationSuite) -> set[str]:
    """Columns the suite's row-level expectations read (columns and row-condition columns)."""
    return _read_by(suite.expectations)


def _read_by(expectations: Sequence[Any]) -> set[str]:
    found: set[str] = set()
    for e in expectations:
        kwargs = e.configuration.kwargs
        for key in ("column", "column_A", "column_B", "column_list"):
            value = kwargs.get(key)
            found.update([value] if isinstance(value, str) else value or [])
        found.update(re.findall(r'"name":\s*"([^"]+)"', json.dumps(kwargs.get("row_condition"), default=str)))
    return found


def _exception_message(result: dict[str, Any]) -> str | None:
    """GX reports a failed metric (e.g. a missing column) as exception_info instead of a result."""
    info = result.get("exception_info") or {}
    for candidate in [info] if "exception_message" in info else list(info.values()):
        if isinstance(candidate, dict) and candidate.get("exception_message"):
            return "error: " + str(candidate["exception_message"]).strip().splitlines()[-1]
    return None


def _skipped_suite(table: str, suite: gx.ExpectationSuite, reason: str, validation_dir: Path) -> SuiteOutcome:
    """A suite not run (its source is not delivered): passes, with every expectation listed as skipped."""
    skipped = tuple(f"{table}.{getattr(e, 'column', None) or '*'}: {e.expectation_type} ({reason})"
                    for e in suite.expectations)
    path = validation_dir / f"{suite.name}.json"
    path.write_text(json.dumps({"suite": suite.name, "table": table, "success": True, "expectations": [],
                                "skipped": list(skipped)}, indent=2))
    return SuiteOutcome(suite.name, table, True, (), 0, datetime.now(UTC), 0.0, path, skipped=skipped)


def _missing_table(table: str, suite: str, validation_dir: Path) -> SuiteOutcome:
    outcome = ExpectationOutcome(table, suite, "table_exists", None, False, {}, "relation not found")
    path = validation_dir / f"{suite}.json"
    path.write_text(json.dumps({"suite": suite, "table": table, "success": False, "expectations": [outcome.to_dict()]}))
    return SuiteOutcome(suite, table, False, (outcome,), 0, datetime.now(UTC), 0.0, path)


# --- what the deployment has ----------------------------------------------------------------------

# staging relations of each delivered source (segwarehouse.landing.declared)
SOURCE_TABLES: dict[str, tuple[str, ...]] = {
    "contacts": ("stg_crm__contacts",),
    "events": ("stg_web__events",),
    "orders": ("stg_shop__orders", "stg_shop__order_items"),
}


def _deployment_thresholds() -> GateThresholds:
    from segwarehouse.core.paths import get_paths

    return load_thresholds(get_paths().gate_config)


def not_delivered_tables(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Staging tables of the sources the last landing scan recorded as not delivered -> why they are skipped."""
    from segwarehouse.landing.declared import DECLARED, recorded

    delivered = recorded(con)
    if delivered is None:
        return {}
    origin = con.execute(f"select min(origin) from {DECLARED}").fetchall()[0][0]
    return {table: f"source {group} not delivered ({origin}, {DECLARED})"
            for group, tables in SOURCE_TABLES.items() if group not in delivered for table in tables}


def _without_absent_columns(con: duckdb.DuckDBPyConnection, relation: str, table: str, suite: gx.ExpectationSuite,
                            columns: list[str], thresholds: GateThresholds
                            ) -> tuple[gx.ExpectationSuite, tuple[str, ...]]:
    """The suite without the expectations on columns this deployment does not have: declared absent in the
    config, or empty in every row of the table (all loads, not just the new one: a column that had values and
    stops having them is a broken export and is checked)."""
    read = sorted(c for c in _referenced(suite) if c in columns)
    declared = {c.partition(".")[2] for c in thresholds.absent_columns if c.partition(".")[0] == table}
    # exists() stops at the first row with a value: no scan of a populated column's history
    found = con.execute("select " + ", ".join([f"exists(from {relation})", *(
        f"exists(from {relation} where {ident(c)} is not null)" for c in read)])).fetchall()[0]
    empty = {c for c, has_value in zip(read, found[1:], strict=True) if not has_value} if found[0] else set()
    absent = declared | empty
    if not absent:
        return suite, ()
    kept, skipped = [], []
    for e in suite.expectations:
        column = getattr(e, "column", None)
        if column in absent:
            why = "declared absent in config" if column in declared else "column empty in every row"
            skipped.append(f"{table}.{column}: {e.expectation_type} ({why})")
        else:
            kept.append(e)
    return gx.ExpectationSuite(suite.name, expectations=kept), tuple(skipped)


def _seeded_currencies(con: duckdb.DuckDBPyConnection, schema: str, suite: gx.ExpectationSuite) -> None:
    """Currency sets follow the deployment's seeds/fx_rates.csv (the currencies staging accepts)."""
    if not _columns(con, schema, "fx_rates"):
        return
    seeded = sorted(r[0] for r in con.execute(f"select currency from {ident(schema)}.fx_rates").fetchall())
    for e in suite.expectations:
        if getattr(e, "column", None) == "currency" and getattr(e, "value_set", None) is not None:
            e.value_set = seeded


def _quarantine_frames(con: duckdb.DuckDBPyConnection, schema: str, thresholds: GateThresholds, run_id: str
                       ) -> list[tuple[gx.ExpectationSuite, pd.DataFrame, tuple[str, ...], datetime | None]]:
    """(suite, frame, row ids) of the per-source and per-file quarantine checks. Per source: every line loaded so
    far; per file: the files loaded since the file suite last passed (a reload rewrites all of a file's lines)."""
    audit = f"{ident(schema)}.{ident(QUARANTINE_TABLE)}"
    sources = _frame(con, f"""
        select source_name, lines_in, rejected, rejected / lines_in::double as rejected_share
        from {audit} where lines_in > 0 order by source_name""")
    files_suite = file_quarantine_suite(thresholds.max_rejected_share_per_file)
    since = con.execute(f"select max(validated_through) from {qs.RUNS} where suite = ? and success and run_id <> ?",
                        [files_suite.name, run_id]).fetchall()[0][0]
    bases = {"crm_contacts": "base_crm__contact_lines", "web_events": "base_web__event_lines",
             "shop_orders": "base_shop__order_lines", "shop_order_items": "base_shop__order_item_lines"}
    loaded = f"loaded_at > timestamp '{since.isoformat(sep=' ')}'" if since else "true"
    parts = [f"select '{name}' as source_name, source_file, count(*) as lines, "
             f"count(*) filter (where reject_reason is not null) as rejected from {ident(schema)}.{ident(base)} "
             f"where {loaded} group by source_file"
             for name, base in bases.items() if _columns(con, schema, base)]
    through = con.execute(" union all ".join(
        f"select max(loaded_at) from {ident(schema)}.{ident(b)}" for b in bases.values()
        if _columns(con, schema, b)).join(("select max(m) from (", ") t(m)"))).fetchall()[0][0] if parts else None
    files = _frame(con, f"""
        select source_name, source_file, lines, rejected, rejected / lines::double as rejected_share
        from ({' union all '.join(parts)}) where lines >= {int(thresholds.min_file_lines)}
        order by source_name, source_file""") if parts else pd.DataFrame(
        {"source_name": [], "source_file": [], "rejected_share": []})
    return [(source_quarantine_suite(thresholds.max_rejected_share_per_source), sources, SOURCE_ROW_IDS, None),
            (files_suite, files, FILE_ROW_IDS, through)]


# --- DuckDB side ---------------------------------------------------------------------------------


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position", [schema, table]).fetchall()]


def _frames(con: duckdb.DuckDBPyConnection, sql: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """A query as DataFrames of at most `chunk_rows` rows (at least one, maybe empty), converted as `_frame`."""
    reader = con.sql(sql).to_arrow_reader(chunk_rows)
    schema = pa.schema([_widened(f) for f in reader.schema])
    empty = True
    for batch in reader:
        empty = False
        yield pa.Table.from_batches([batch]).cast(schema).to_pandas()
    if empty:
        yield schema.empty_table().to_pandas()


def _chunk_rows() -> int:
    """Rows per frame of a staging table ($SEGWAREHOUSE_GATE_CHUNK_ROWS): bounds the gate's memory when it
    validates a whole history (GX copies a frame per expectation); a day's load is one chunk."""
    raw = os.environ.get(CHUNK_ROWS_ENV, "").strip()
    try:
        value = int(raw) if raw else DEFAULT_CHUNK_ROWS
    except ValueError:
        raise ValueError(f"${CHUNK_ROWS_ENV} must be a whole number of rows, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"${CHUNK_ROWS_ENV} must be at least 1, got {value}")
    return value


def _frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    """A query as a DataFrame through Arrow (strings stay Arrow-backed: no Python objects in between), numbers
    as int64 / float64: GX compares only those dtypes vectorised (int32 or decimal columns value by value)."""
    table = con.sql(sql).to_arrow_table()
    return table.cast(pa.schema([_widened(f) for f in table.schema])).to_pandas()


def _widened(field: pa.Field) -> pa.Field:
    if pa.types.is_integer(field.type):
        return field.with_type(pa.int64())
    if pa.types.is_floating(field.type) or pa.types.is_decimal(field.type):
        return field.with_type(pa.float64())
    return field


def _load_scope(con: duckdb.DuckDBPyConnection, relation: str, table: str, suite: str, columns: list[str],
                run_id: str) -> tuple[datetime | None, datetime | None]:
    """(validated_from, validated_through) for an append-only table: the rows loaded after its suite's last
    passing validation; (None, ...) = every row (first run, empty or rebuilt table, no load column)."""
    if LOAD_COLUMN not in columns:
        return None, None
    through = con.execute(f"select max({ident(LOAD_COLUMN)}) from {relation}").fetchall()[0][0]
    since = con.execute(f"select max(validated_through) from {qs.RUNS} where table_name = ? and suite = ? "
                        "and success and run_id <> ?", [table, suite, run_id]).fetchall()[0][0]
    if since is None or through is None or since > through:
        return None, through
    return since, through


def _profile_metrics(con: duckdb.DuckDBPyConnection, relation: str, columns: set[str]) -> pd.DataFrame:
    monetary = "monetary" if "monetary" in columns else "null::double"
    key = PROFILE_KEY if PROFILE_KEY in columns else "null"
    facts = [c for c in ("last_seen_at", "signup_at") if c in columns]
    after = (f"max(date_diff('day', as_of_date, cast(greatest({', '.join(facts)}) as date)))"
             if facts and "as_of_date" in columns else "null::bigint")
    return con.execute(f"""
        select count(*) as row_count, avg({monetary})::double as monetary_mean,
               stddev_samp({monetary})::double as monetary_stddev, count(distinct {key}) as distinct_person_ids,
               {after} as days_after_as_of, {"max(as_of_date)" if "as_of_date" in columns else "null::date"} as as_of_date
        from {relation}""").df()


def _future_tolerance_days() -> int:
    """The dbt var future_tolerance_days as the project declares it."""
    from segwarehouse.core.paths import get_paths
    from segwarehouse.warehouse.dbt_vars import project_var

    return int(project_var(get_paths(), "future_tolerance_days"))


def _record_runs(con: duckdb.DuckDBPyConnection, run_id: str, outcomes: list[SuiteOutcome]) -> None:
    """The run's rows (a re-run of the same run_id replaces them) and its raw failure samples."""
    samples = [[run_id, o.suite, o.table, e.expectation_type, e.column, e.describe("full")]
               for o in outcomes for e in o.failures if e.values_are_data or e.failing_rows]
    con.execute("begin transaction")
    try:
        for table in (qs.RUNS, qs.SAMPLES):
            con.execute(f"delete from {table} where run_id = ?", [run_id])
        con.executemany(f"""insert into {qs.RUNS} (run_id, suite, success, n_expectations, n_failed,
                failed_summary, started_at, duration_s, result_path, table_name, n_rows, validated_from,
                validated_through, skipped_summary) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [[run_id, o.suite, o.success, len(o.expectations), len(o.failures), o.failed_summary or None,
              o.started_at, o.duration_s, str(o.result_path), o.table, o.n_rows, o.validated_from,
              o.validated_through, "\n".join(o.skipped) or None] for o in outcomes])
        if samples:
            con.executemany(f"insert into {qs.SAMPLES} values (?, ?, ?, ?, ?, ?)", samples)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def _latest_baseline(con: duckdb.DuckDBPyConnection, run_id: str, as_of: Any) -> ProfileBaseline | None:
    """The last good run of a day up to `as_of`: a re-run of an older day compares with the days before it,
    not with a later day's profiles (baselines without a day, from older versions, count as the earliest)."""
    as_of = None if pd.isna(as_of) else pd.Timestamp(as_of).date()
    rows = con.execute(f"""select run_id, row_count, monetary_mean from {qs.BASELINES}
                           where table_name = ? and run_id <> ? and (as_of_date <= ? or as_of_date is null or ? is null)
                           order by as_of_date desc nulls last, recorded_at desc limit 1""",
                       [PROFILE_TABLE, run_id, as_of, as_of]).fetchall()
    return ProfileBaseline(rows[0][0], int(rows[0][1]), float(rows[0][2] or 0.0)) if rows else None


def _record_baseline(con: duckdb.DuckDBPyConnection, run_id: str, schema: str, stats: dict[str, Any]) -> None:
    con.execute(f"delete from {qs.BASELINES} where run_id = ?", [run_id])
    as_of = None if pd.isna(stats.get("as_of_date")) else pd.Timestamp(stats["as_of_date"]).date()
    con.execute(f"insert into {qs.BASELINES} by name select ? as run_id, ? as table_name, ? as schema_name, "
                "? as recorded_at, ? as row_count, ? as monetary_mean, ? as monetary_stddev, "
                "? as distinct_person_ids, ? as as_of_date", [
        run_id, PROFILE_TABLE, schema, datetime.now(UTC), int(stats["row_count"]), _number(stats["monetary_mean"]),
        _number(stats["monetary_stddev"]), int(stats["distinct_person_ids"]), as_of])


# --- small helpers -------------------------------------------------------------------------------


def resolve_tolerances(tolerance: float | None = None, mean_tolerance: float | None = None) -> tuple[float, float]:
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


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _summary(result: GateResult) -> dict[str, Any]:
    return {
        "run_id": result.run_id, "success": result.success, "duration_s": result.duration_s,
        "baseline_recorded": result.baseline_recorded,
        "data_docs_index": str(result.data_docs_index) if result.data_docs_index else None,
        "suites": [{"suite": s.suite, "table": s.table, "success": s.success, "n_rows": s.n_rows,
                    "validated_from": s.validated_from.isoformat() if s.validated_from else None,
                    "validated_through": s.validated_through.isoformat() if s.validated_through else None,
                    "n_expectations": len(s.expectations), "n_failed": len(s.failures), "duration_s": s.duration_s,
                    "skipped": list(s.skipped), "result_path": str(s.result_path)} for s in result.suites],
        "failures": [f.describe() for f in result.failures],
    }
