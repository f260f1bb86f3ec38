"""Deterministic, stored assignment of persons to experiment arms (set-based SQL in DuckDB).

* **bucket** = the first 15 hex digits of md5(`<salt>:<person_id>`) as an integer / 16^15, uniform in [0, 1):
  the same person and salt always give the same bucket, in SQL and in Python (`bucket`). Buckets below the
  holdout share go to `holdout`, the rest are split by the variants' shares in the order they are listed.
* **stored**: an assignment is written once and never recomputed, so changing shares or targets later
  does not move anyone; re-running a day assigns nobody twice.
* **eligibility** is decided on the assignment day, before the split: persons in a target ML segment or rule
  segment, with marketing consent when any variant is a marketing action. The segment is recorded as the
  person's stratum; results are read per stratum, never by the segment a person drifted to afterwards.
* **merges**: when identity resolution merges persons, the merged-away ids get `superseded_by`; the surviving
  person id keeps its own assignment. A surviving id that had none (a new id) inherits the assignment of its
  earliest-assigned predecessor (ties: smallest person id), with `inherited_from` naming it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

import duckdb

from segwarehouse.experiments.config import Experiment
from segwarehouse.experiments.schema import ensure_tables, qualified

_BUCKET_DIGITS = 15
_BUCKET_SCALE = 16**_BUCKET_DIGITS
MAX_MERGE_HOPS = 20


def bucket(salt: str, person_id: str) -> float:
    """The assignment bucket of a person in [0, 1) (the SQL in `_bucket_sql` computes the same number)."""
    digest = hashlib.md5(f"{salt}:{person_id}".encode(), usedforsecurity=False).hexdigest()
    return int(digest[:_BUCKET_DIGITS], 16) / _BUCKET_SCALE


def arm_for(experiment: Experiment, u: float) -> str:
    """The arm a bucket falls in (same thresholds as `_arm_sql`)."""
    edge = 0.0
    arms = experiment.arms()
    for name, share in arms:
        edge += share
        if u < edge:
            return name
    return arms[-1][0]


def _bucket_sql(person_column: str) -> str:
    return (f"(('0x' || substr(md5($salt || ':' || {person_column}), 1, {_BUCKET_DIGITS}))::bigint"
            f" / {float(_BUCKET_SCALE)!r})")


def _arm_sql(experiment: Experiment, bucket_column: str) -> str:
    edge, cases = 0.0, []
    arms = experiment.arms()
    for name, share in arms[:-1]:
        edge += share
        cases.append(f"when {bucket_column} < {edge!r} then '{name}'")
    return f"case {' '.join(cases)} else '{arms[-1][0]}' end"


def as_of_date(con: duckdb.DuckDBPyConnection) -> date:
    """The data date of the warehouse: the profiles' as_of_date."""
    row = con.execute("select max(as_of_date) from validated.dim_user_profile").fetchone()
    if not row or row[0] is None:
        raise ValueError("validated.dim_user_profile is empty: no day has been validated and published yet")
    return row[0]


def follow_merges(con: duckdb.DuckDBPyConnection, experiment: Experiment, now: datetime) -> int:
    """Supersede assignments of person ids that merged into others; survivors without one inherit it."""
    has_history = con.execute("select count(*) from information_schema.tables where table_schema = 'main' "
                              "and table_name = 'person_id_history'").fetchone()[0]
    if not has_history:
        return 0
    table = qualified("assignments")
    moved = 0
    for _ in range(MAX_MERGE_HOPS):  # a chain of merges between two refreshes takes one hop per pass
        con.execute(f"""create or replace temp table _moves as
            select a.person_id as old_person_id, min(h.new_person_id) as new_person_id
            from {table} a
            join main.person_id_history h on h.old_person_id = a.person_id and h.change_type = 'merge'
            where a.experiment = $experiment and a.superseded_by is null
              and a.person_id not in (select person_id from validated.dim_user_profile)
            group by a.person_id""", {"experiment": experiment.name})
        n = con.execute("select count(*) from _moves").fetchone()[0]
        if not n:
            break
        # survivors with no current assignment inherit the earliest-assigned predecessor's arm
        con.execute(f"""
            delete from {table} where experiment = $experiment and person_id in (
                select m.new_person_id from _moves m
                where not exists (select 1 from {table} t where t.experiment = $experiment
                                  and t.person_id = m.new_person_id and t.superseded_by is null))""",
                    {"experiment": experiment.name})
        con.execute(f"""
            insert into {table} (experiment, person_id, variant, bucket, segment_type, segment_id, segment_name,
                                 assigned_date, assigned_at, run_id, inherited_from)
            select $experiment, m.new_person_id,
                   arg_min(a.variant, (a.assigned_date, a.person_id)), arg_min(a.bucket, (a.assigned_date, a.person_id)),
                   arg_min(a.segment_type, (a.assigned_date, a.person_id)),
                   arg_min(a.segment_id, (a.assigned_date, a.person_id)),
                   arg_min(a.segment_name, (a.assigned_date, a.person_id)),
                   min(a.assigned_date), arg_min(a.assigned_at, (a.assigned_date, a.person_id)),
                   arg_min(a.run_id, (a.assigned_date, a.person_id)), min(a.person_id)
            from _moves m
            join {table} a on a.experiment = $experiment and a.person_id = m.old_person_id
            where not exists (select 1 from {table} t where t.experiment = $experiment
                              and t.person_id = m.new_person_id)
            group by m.new_person_id""", {"experiment": experiment.name})
        con.execute(f"""update {table} set superseded_by = m.new_person_id, superseded_at = $now
                        from _moves m
                        where {table}.experiment = $experiment and {table}.person_id = m.old_person_id""",
                    {"experiment": experiment.name, "now": now})
        moved += n
    con.execute("drop table if exists _moves")
    return moved


def _eligible_sql(experiment: Experiment, segments_schema: str) -> str:
    targets = experiment.targets
    s = f'"{segments_schema}"'
    if targets.model_segments == "all":
        model_filter = "true"
    elif targets.model_segments:
        model_filter = f"segment_id in ({', '.join(str(int(i)) for i in targets.model_segments)})"
    else:
        model_filter = "false"
    rules = list(targets.rule_segments)
    rule_list = "[" + ", ".join(f"'{r}'" for r in rules) + "]::varchar[]"  # validated identifiers
    consent = "and p.has_marketing_consent is true" if experiment.requires_consent else ""
    return f"""
        with model as (
            select person_id, segment_id::varchar as segment_id, segment_name
            from {s}.segment_assignments where {model_filter}
        ),
        rules as (
            select person_id,
                   arg_min(segment_id, list_position({rule_list}, segment_id)) as segment_id,
                   arg_min(segment_name, list_position({rule_list}, segment_id)) as segment_name
            from {s}.rule_segment_assignments
            where list_contains({rule_list}, segment_id)
            group by person_id
        )
        select p.person_id,
               case when model.person_id is not null then 'model' else 'rule' end as segment_type,
               coalesce(model.segment_id, rules.segment_id) as segment_id,
               coalesce(model.segment_name, rules.segment_name) as segment_name
        from validated.dim_user_profile p
        left join model on model.person_id = p.person_id
        left join rules on rules.person_id = p.person_id
        where (model.person_id is not null or rules.person_id is not null) {consent}"""


def assign(con: duckdb.DuckDBPyConnection, experiment: Experiment, *, segments_schema: str, run_id: str,
           today: date | None = None, now: datetime | None = None) -> dict[str, int]:
    """Follow merges, then assign the eligible persons who have no assignment yet (within the run dates).

    `today` is the data date (default: the profiles' as_of_date). Returns counts of what changed.
    """
    ensure_tables(con)
    today = today or as_of_date(con)
    now = now or datetime.now(UTC)
    moved = follow_merges(con, experiment, now)
    inside = experiment.start_date <= today <= experiment.end_date or (
        experiment.retrospective and today >= experiment.start_date)
    if not inside:
        return {"merged": moved, "assigned": 0}
    assigned_date = experiment.start_date if experiment.retrospective else today
    table = qualified("assignments")
    before = con.execute(f"select count(*) from {table} where experiment = ?", [experiment.name]).fetchone()[0]
    con.execute(f"""
        insert into {table} (experiment, person_id, variant, bucket, segment_type, segment_id, segment_name,
                             assigned_date, assigned_at, run_id)
        select $experiment, e.person_id, {_arm_sql(experiment, 'e.bucket')}, e.bucket, e.segment_type,
               e.segment_id, e.segment_name, $assigned_date, $now, $run_id
        from (select *, {_bucket_sql('person_id')} as bucket from ({_eligible_sql(experiment, segments_schema)})) e
        where not exists (select 1 from {table} t where t.experiment = $experiment and t.person_id = e.person_id)""",
                {"experiment": experiment.name, "salt": experiment.assignment_salt, "assigned_date": assigned_date,
                 "now": now, "run_id": run_id})
    after = con.execute(f"select count(*) from {table} where experiment = ?", [experiment.name]).fetchone()[0]
    return {"merged": moved, "assigned": after - before}


def window_end(assigned: date, window_days: int) -> date:
    """Last day of a person's outcome window: the `window_days` days after the assignment day."""
    return assigned + timedelta(days=window_days)
