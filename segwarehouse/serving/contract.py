"""The BI-facing contract of the serving file: pseudonymized profiles, documented views, Parquet exports.

`publish_serving_contract` is what `segwarehouse.pipeline.publish_serving` calls:

1. **pseudonymize** - the validated profile snapshot (`validated.dim_user_profile`, see
   `segwarehouse.serving.validated`) is read from the warehouse (READ_ONLY) into a private
   staging DuckDB file as `main.user_profile_public`, with every column of `PII_COLUMNS` replaced by
   `<column>_hmac` = keyed HMAC-SHA256 (`segwarehouse.core.pii.pseudonymize`, key from
   `SEGWAREHOUSE_PII_KEY`). The HMAC runs in Python (a DuckDB UDF on the staging connection only), so
   the key never appears in SQL text and raw PII never enters the serving file;
2. **publish** - `segwarehouse.serving.publish.publish` copies the other tables into a fresh file, then runs
   `publish_statements()`: copy the pseudonymized table in from the staging file, create empty stand-ins
   for segment/quality tables that do not exist yet (a first warehouse run has no ML tables; the views
   must exist anyway), and `VIEWS_SQL`; then the file is swapped in with one atomic rename;
3. **export** - each view is written to `<data>/serving/parquet/<view>.parquet`: all files go to a fresh
   hidden folder, then the `parquet` symlink is replaced atomically (`os.replace`) and older folders are
   deleted.

The views (`VIEW_COLUMNS`, documented in docs/bi.md) are the stable interface; the copied `segments.*` and
`quality.*` tables are published too but may change with the pipeline.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from segwarehouse.core.paths import Paths
from segwarehouse.core.pii import pii_key, pseudonymize
from segwarehouse.core.sql import column_definitions, literal
from segwarehouse.experiments import schema as experiments_schema
from segwarehouse.quality import schema as quality_schema
from segwarehouse.serving import person_keys
from segwarehouse.serving.publish import PublishResult, publish, serving_lock
from segwarehouse.serving.validated import LIVE_PROFILE, VALIDATED_PROFILE

log = logging.getLogger(__name__)

PROFILE_SOURCE = VALIDATED_PROFILE            # validated copy of the mart, raw PII: never copied as is
PUBLIC_PROFILE = "main.user_profile_public"   # its pseudonymized copy in the serving file
PII_COLUMNS = ("email", "phone", "first_name", "last_name")
_STAGE_ALIAS = "pii_stage"
_EXPORT_ALIAS = "serving_export"

# the only columns an activation export carries: pseudonymous keys and the segment, nothing else of the profile
ACTIVATION_COLUMNS = ["person_id", "primary_customer_id", "email_hmac", "phone_hmac", "segment_id", "segment_name",
                      "rule_segment_ids", "rule_segments", "model_version", "scoring_run_id", "scored_at",
                      "segment_key"]

EXPERIMENT_ASSIGNMENT_COLUMNS = [
    "experiment", "person_id", "primary_customer_id", "email_hmac", "variant", "is_control", "is_holdout",
    "segment_type", "segment_id", "segment_name", "assigned_date", "inherited_from", "has_marketing_consent",
    "is_active",
]
EXPERIMENT_RESULT_COLUMNS = [
    "experiment", "segment_type", "segment_id", "segment_name", "variant", "is_control", "is_holdout", "metric",
    "metric_kind", "is_primary", "window_days", "persons_assigned", "persons", "exposed", "conversions", "rate",
    "rate_ci_low", "rate_ci_high", "abs_lift", "abs_lift_ci_low", "abs_lift_ci_high", "rel_lift",
    "rel_lift_ci_low", "rel_lift_ci_high", "p_value", "p_value_holm", "is_significant", "mde_abs",
    "srm_p_value", "is_srm", "is_too_small", "warnings", "as_of_date", "is_final", "run_id", "computed_at",
]

# documented columns of every view (docs/bi.md; tests check the views against this)
VIEW_COLUMNS: dict[str, list[str]] = {
    "segment_summary": [
        "segment_id", "segment_name", "size", "share", "buyer_share", "top_traits",
        "mean_monetary", "mean_orders_per_month", "mean_avg_order_value", "mean_recency_days",
        "mean_engagement_score", "mean_page_views_per_week", "mean_tenure_days",
        "model_version", "run_id", "scored_at", "segment_key", "unassigned_persons",
    ],
    # plus every other column of dim_user_profile (docs/profile.md) except PII_COLUMNS
    "user_segments": [
        "person_id", "primary_customer_id", *(f"{c}_hmac" for c in PII_COLUMNS), "as_of_date",
        "lifecycle_stage", "engagement_score", "monetary", "orders_per_month",
        "segment_id", "segment_name", "segment_probability", "segment_distance", "feature_completeness",
        "model_version", "scoring_run_id", "scored_at", "rule_segment_ids", "rule_segments", "segment_key",
    ],
    "segment_history": [
        "person_id", "run_id", "scored_at", "as_of_date", "segment_id", "segment_name", "model_version",
        "probability", "distance", "segment_key",
    ],
    "model_registry": [
        "model_version", "run_id", "created_at", "algorithm", "k", "as_of_date", "n_rows_train",
        "n_rows_population", "silhouette", "ari_median", "min_segment_share", "metrics", "segment_names",
        "decision", "decision_reasons", "is_champion",
        "status", "noise_share", "compared_to", "comparison", "config_sha256", "artifact_format",
        "last_event", "last_event_at", "last_event_by", "last_event_reason",
    ],
    # the registry's audit trail: promotions, rollbacks, retirements, rejections, failed loads, renames
    "model_events": [
        "event_at", "event", "model_version", "from_model_version", "actor", "reason", "run_id", "segment_id",
        "old_name", "new_name",
    ],
    "data_quality_runs": [
        "run_id", "suite", "table_name", "success", "n_expectations", "n_failed", "failed_summary",
        "started_at", "duration_s", "n_rows",
    ],
    # segment activation (e-mail/ads audiences): consenting, scored persons only; pseudonymous keys only
    "activation_export": ACTIVATION_COLUMNS,
    # A/B experiments per segment (docs/experiments.md): who is in which arm, and the latest results
    "experiment_assignments": EXPERIMENT_ASSIGNMENT_COLUMNS,
    "experiment_results": EXPERIMENT_RESULT_COLUMNS,
}
VIEWS = list(VIEW_COLUMNS)

# profile columns averaged per segment in segment_summary
SUMMARY_MEANS = ("monetary", "orders_per_month", "avg_order_value", "recency_days", "engagement_score",
                 "page_views_per_week", "tenure_days")

VIEWS_SQL: list[str] = [
    f"""create or replace view main.user_segments as
with rules as (
    select person_id,
           list(segment_id order by segment_id) as rule_segment_ids,
           string_agg(segment_name, ', ' order by segment_id) as rule_segments
    from segments.rule_segment_assignments
    group by person_id
)
select p.*,
       a.segment_id, a.segment_name, a.probability as segment_probability, a.distance as segment_distance,
       a.feature_completeness, a.model_version, a.run_id as scoring_run_id, a.scored_at,
       coalesce(r.rule_segment_ids, []::varchar[]) as rule_segment_ids,
       coalesce(r.rule_segments, '') as rule_segments, a.segment_key
from {PUBLIC_PROFILE} p
left join segments.segment_assignments a on a.person_id = p.person_id
left join rules r on r.person_id = p.person_id""",
    f"""create or replace view main.segment_summary as
with persons as (
    select count(*) as n,
           count(*) filter (where scoring_run_id is not null and segment_id is null) as unassigned
    from main.user_segments
),
sizes as (
    select segment_id, any_value(segment_name) as segment_name, any_value(segment_key) as segment_key,
           count(*) as size,
           {", ".join(f"avg({c}) as mean_{c}" for c in SUMMARY_MEANS)},
           any_value(model_version) as model_version, any_value(scoring_run_id) as run_id,
           max(scored_at) as scored_at
    from main.user_segments
    where segment_id is not null
    group by segment_id
)
select s.segment_id, s.segment_name, s.size, s.size / persons.n as share, sp.buyer_share, sp.top_traits,
       {", ".join(f"s.mean_{c}" for c in SUMMARY_MEANS)},
       s.model_version, s.run_id, s.scored_at, s.segment_key, persons.unassigned as unassigned_persons
from sizes s
cross join persons
left join segments.segment_profiles sp on sp.run_id = s.run_id and sp.segment_id = s.segment_id
order by s.segment_id""",
    """create or replace view main.segment_history as
select person_id, run_id, scored_at, as_of_date, segment_id, segment_name, model_version, probability, distance,
       segment_key
from segments.segment_history""",
    """create or replace view main.model_registry as
select r.model_version, r.run_id, r.created_at, r.algorithm, r.k, r.as_of_date, r.n_rows_train,
       r.n_rows_population,
       try_cast(json_extract_string(r.metrics, '$.silhouette') as double) as silhouette,
       try_cast(json_extract_string(r.metrics, '$.ari_median') as double) as ari_median,
       try_cast(json_extract_string(r.metrics, '$.min_segment_share') as double) as min_segment_share,
       r.metrics, r.segment_names, r.decision, r.decision_reasons,
       coalesce(r.model_version = c.model_version, false) as is_champion,
       r.status, r.noise_share, r.compared_to, r.comparison, r.config_sha256, r.artifact_format,
       e.event as last_event, e.event_at as last_event_at, e.actor as last_event_by, e.reason as last_event_reason
from segments.model_registry r
left join (select model_version from segments.model_aliases where alias = 'champion') c
    on c.model_version = r.model_version
left join (
    select model_version, event, event_at, actor, reason,
           row_number() over (partition by model_version order by event_at desc) as n
    from segments.model_events
    where event not in ('segment_named', 'segment_renamed')
) e on e.model_version = r.model_version and e.n = 1""",
    """create or replace view main.model_events as
select event_at, event, model_version, from_model_version, actor, reason, run_id, segment_id, old_name, new_name
from segments.model_events""",
    """create or replace view main.data_quality_runs as
select run_id, suite, table_name, success, n_expectations, n_failed, failed_summary, started_at, duration_s,
       n_rows
from quality.data_quality_runs""",
    # marketing consent is enforced here, not left to each query: a person without `has_marketing_consent`
    # (false wins when merged contacts disagree, docs/profile.md) never appears in the activation export
    f"""create or replace view main.activation_export as
select {", ".join(ACTIVATION_COLUMNS)}
from main.user_segments
where has_marketing_consent is true and segment_id is not null""",
    # queries written before the pseudonymized profile read `dim_user_profile`: same rows, PII as *_hmac
    f"create or replace view main.dim_user_profile as select * from {PUBLIC_PROFILE}",
    # current assignments only (an id merged into another is superseded); is_active: the experiment runs on the
    # data date and the person may get its variants (consent where a variant is a marketing action)
    f"""create or replace view main.experiment_assignments as
select a.experiment, a.person_id, p.primary_customer_id, p.email_hmac, a.variant,
       a.variant = d.control_variant as is_control, a.variant = 'holdout' as is_holdout,
       a.segment_type, a.segment_id, a.segment_name, a.assigned_date, a.inherited_from,
       p.has_marketing_consent,
       coalesce(p.as_of_date between d.start_date and d.end_date
                and (not d.requires_consent or p.has_marketing_consent), false) as is_active
from experiments.assignments a
join experiments.definitions d on d.experiment = a.experiment
join {PUBLIC_PROFILE} p on p.person_id = a.person_id
where a.superseded_by is null""",
    # the latest refresh of each experiment
    f"""create or replace view main.experiment_results as
select {", ".join(f"r.{c}" for c in EXPERIMENT_RESULT_COLUMNS)}
from experiments.results r
join (select experiment, arg_max(run_id, computed_at) as run_id from experiments.results group by experiment) latest
    on latest.experiment = r.experiment and latest.run_id = r.run_id""",
]

# the tables the views read; a warehouse without one yet (no ML or gate run) gets an empty stand-in
VIEW_SOURCES = ("segments.segment_assignments", "segments.segment_profiles", "segments.rule_segment_assignments",
                "segments.segment_history", "segments.model_registry", "segments.model_aliases",
                "segments.model_events", "quality.data_quality_runs",
                *(experiments_schema.qualified(t) for t in experiments_schema.TABLES))


@dataclass(frozen=True)
class ServingPublication:
    """The publish result plus the pseudonymized profile rows, the views and the Parquet folder."""

    publish: PublishResult
    profile_rows: int
    views: list[str]
    parquet_dir: Path
    parquet_rows: dict[str, int]
    duration_s: float

    def as_dict(self) -> dict:
        return {"serving": str(self.publish.serving_path),
                "tables": {**self.publish.tables, PUBLIC_PROFILE: self.profile_rows},
                "views": self.views, "parquet": str(self.parquet_dir), "parquet_rows": self.parquet_rows,
                "bytes": self.publish.bytes, "seconds": round(self.duration_s, 2)}


def parquet_dir(paths: Paths) -> Path:
    """Where the per-view Parquet exports live (a symlink to the current export folder)."""
    return paths.data / "serving" / "parquet"


def build_public_profile(warehouse: str | Path, target: str | Path, key: bytes | None = None) -> int:
    """Write `main.user_profile_public` (PII columns -> `<col>_hmac`) into a new DuckDB file `target`."""
    key = key or pii_key()
    target = Path(target)
    target.unlink(missing_ok=True)
    with duckdb.connect(str(target)) as con:
        con.create_function("pii_hmac", lambda value: pseudonymize(value, key), ["VARCHAR"], "VARCHAR",
                            side_effects=False)
        con.execute(f"attach {literal(str(Path(warehouse).resolve()))} as wh (read_only)")
        schema, table = PROFILE_SOURCE.split(".")
        columns = [r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_catalog = 'wh' "
            "and table_schema = ? and table_name = ? order by ordinal_position", [schema, table]).fetchall()]
        if not columns:
            raise ValueError(f"{warehouse} has no {PROFILE_SOURCE}: no day has passed the quality gate and been "
                             "published yet (segwarehouse build, or the warehouse_daily DAG)")
        select = ", ".join(f'pii_hmac("{c}") as "{c}_hmac"' if c in PII_COLUMNS else f'"{c}"' for c in columns)
        con.execute(f"create table {PUBLIC_PROFILE} as select {select} from wh.{schema}.{table}")
        con.execute("detach wh")
        rows = con.execute(f"select count(*) from {PUBLIC_PROFILE}").fetchone()[0]
        con.execute("checkpoint")
    return int(rows)


def _owner_ddl(schema: str, table: str) -> str:
    """The column definitions of a view source, from the module that owns its schema."""
    from ml.warehouse import TABLES as SEGMENT_TABLES

    if schema == experiments_schema.SCHEMA:
        return experiments_schema.ddl(table)
    return quality_schema.ddl(table) if schema == quality_schema.SCHEMA else SEGMENT_TABLES[table]


def publish_statements(stage: Path, tables: list[str]) -> list[str]:
    """Statements run inside the new serving file: pseudonymized profile, stand-ins, then `VIEWS_SQL`.

    A view source the warehouse lacks becomes an empty table; one copied from a warehouse an older version
    wrote gets the columns its owner defines since (as nulls), so every view has its documented columns."""
    statements = [
        f"attach {literal(str(stage))} as {_STAGE_ALIAS} (read_only)",
        f"create table {PUBLIC_PROFILE} as select * from {_STAGE_ALIAS}.{PUBLIC_PROFILE}",
        *person_keys.copy_statements(_STAGE_ALIAS, PUBLIC_PROFILE),
        f"detach {_STAGE_ALIAS}",
    ]
    for name in VIEW_SOURCES:
        schema, table = name.split(".")
        ddl = _owner_ddl(schema, table)
        if name in tables:
            statements += [f"alter table {name} add column if not exists {col} "
                           f"{col_type.replace('primary key', '').replace('not null', '')}"
                           for col, col_type in column_definitions(ddl)]
        else:
            statements += [f"create schema if not exists {schema}", f"create table if not exists {name} ({ddl})"]
    return statements + VIEWS_SQL


def publish_serving_contract(paths: Paths, tables: list[str], *, key: bytes | None = None) -> ServingPublication:
    """Pseudonymize, publish `tables` + the profile + the views atomically, then export the views to Parquet.

    `tables` must not contain the profile mart or its validated copy (raw PII); the validated copy is published
    only as `main.user_profile_public`. Raises if `SEGWAREHOUSE_PII_KEY` is not set (nothing is published then).
    """
    for raw in (LIVE_PROFILE, VALIDATED_PROFILE):
        if raw in tables or raw.split(".")[1] in tables:
            raise ValueError(f"{raw} holds raw PII; it is published only as {PUBLIC_PROFILE}")
    started = time.perf_counter()
    key = key or pii_key()
    serving = Path(paths.serving).resolve()
    serving.parent.mkdir(parents=True, exist_ok=True)
    stage = serving.with_name(f".{serving.name}.public.{uuid.uuid4().hex}.duckdb")
    # one publisher at a time; files of a publish that died (SIGKILL) are removed on entry
    with serving_lock(serving):
        try:
            rows = build_public_profile(paths.warehouse, stage, key)
            person_keys.build_person_keys(paths.warehouse, stage, key)
            result = publish(paths.warehouse, serving, tables, views_sql=publish_statements(stage, tables))
        finally:
            stage.unlink(missing_ok=True)
            Path(f"{stage}.wal").unlink(missing_ok=True)
        target, counts = export_parquet(serving, parquet_dir(paths))
    done = ServingPublication(result, rows, VIEWS, target, counts, time.perf_counter() - started)
    log.info("published serving contract to %s (%s profiles) and %s in %.2fs", serving, rows, target,
             done.duration_s)
    return done


def remove_persons(paths: Paths, person_ids: list[str]) -> dict[str, int]:
    """Republish the current serving file without the rows of `person_ids` (an erasure whose gate did not
    pass: serving keeps the last validated data, minus the erased person). Atomic like a publish; the
    Parquet exports are written again. Returns rows deleted per table."""
    serving = Path(paths.serving).resolve()
    if not serving.exists():
        return {}
    deleted: dict[str, int] = {}
    with serving_lock(serving):
        tmp = serving.with_name(f".{serving.name}.{uuid.uuid4().hex}.tmp")
        try:
            with duckdb.connect() as con:
                con.execute("attach ? as old_serving (read_only)", [str(serving)])
                con.execute("attach ? as new_serving", [str(tmp)])
                con.execute("copy from database old_serving to new_serving")
                con.execute("detach old_serving")
                con.execute("create temp table gone as select unnest(?::varchar[]) as person_id", [person_ids])
                tables = con.execute(
                    "select c.table_schema, c.table_name from information_schema.columns c "
                    "join information_schema.tables t using (table_catalog, table_schema, table_name) "
                    "where c.table_catalog = 'new_serving' and c.column_name = 'person_id' "
                    "and t.table_type = 'BASE TABLE'").fetchall()
                for schema, table in tables:
                    n = con.execute(f'delete from new_serving."{schema}"."{table}" '
                                    "where person_id in (select person_id from gone)").fetchone()[0]
                    if n:
                        deleted[f"{schema}.{table}"] = int(n)
                con.execute("checkpoint new_serving")
            # the copy's free blocks may still hold the deleted rows: compact into the file that is swapped in
            final = serving.with_name(f".{serving.name}.{uuid.uuid4().hex}.tmp")
            with duckdb.connect() as con:
                con.execute("attach ? as src (read_only)", [str(tmp)])
                con.execute("attach ? as dst", [str(final)])
                con.execute("copy from database src to dst")
            tmp.unlink()
            final.replace(serving)
        finally:
            for leftover in serving.parent.glob(f".{serving.name}.*.tmp*"):
                leftover.unlink(missing_ok=True)
        export_parquet(serving, parquet_dir(paths))
    return deleted


def export_parquet(serving: str | Path, target: str | Path, views: list[str] | None = None) -> tuple[Path, dict[str, int]]:
    """Write `<target>/<view>.parquet` for each view of the serving file; swap the folder in atomically.

    `target` is a symlink to a hidden sibling folder `.parquet-<stamp>-<id>`; the new folder is filled
    completely, then a fresh symlink replaces `target` with `os.replace` (atomic) and the older folders
    are deleted. A reader that resolved the old folder and has a file open keeps reading it.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = target.with_name(f".{target.name}-{time.time_ns()}-{uuid.uuid4().hex[:8]}")
    folder.mkdir()
    counts: dict[str, int] = {}
    try:
        # attach, not connect(path): a connection this process already holds on the path would be reused
        # by DuckDB's instance cache and read the replaced file (or fail on a different configuration)
        with duckdb.connect() as con:
            con.execute(f"attach {literal(str(serving))} as {_EXPORT_ALIAS} (read_only)")
            for view in views or VIEWS:
                out = folder / f"{view}.parquet"
                con.execute(f"copy (select * from {_EXPORT_ALIAS}.main.{view}) to {literal(str(out))} "
                            "(format parquet, compression zstd)")
                counts[view] = int(con.execute(f"select count(*) from {_EXPORT_ALIAS}.main.{view}").fetchone()[0])
        link = target.with_name(f".{target.name}.link-{uuid.uuid4().hex[:8]}")
        link.symlink_to(folder.name)
        if target.exists() and not target.is_symlink():  # a real folder from an older layout
            target.rename(target.with_name(f".{target.name}-legacy-{uuid.uuid4().hex[:8]}"))
        link.replace(target)  # os.replace: atomic
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    for old in target.parent.glob(f".{target.name}-*"):
        if old != folder and old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
    for link in target.parent.glob(f".{target.name}.link-*"):  # left by an export killed before its swap
        link.unlink(missing_ok=True)
    return target, counts
