"""Write-audit-publish outside the DAG too: nothing is published from a warehouse whose latest gate did not pass.

Every publish path (the DAGs' publish tasks, `segwarehouse publish`, the erasure's republish) goes through
`require_passed_gate`. The latest gate run is the run in `quality.data_quality_runs` that started last; it
passed when every one of its suites did. Overriding is deliberate: `segwarehouse publish --allow-failed-gate`
or `SEGWAREHOUSE_PUBLISH_WITHOUT_GATE=1` for the scheduled tasks, and the publication then says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from segwarehouse.quality import schema as qs

OVERRIDE_ENV = "SEGWAREHOUSE_PUBLISH_WITHOUT_GATE"
OVERRIDE_HINT = (f"fix the data and run `segwarehouse gate --date <as-of date>` until it passes, or publish this "
                 f"warehouse deliberately anyway with `segwarehouse publish --allow-failed-gate` "
                 f"(scheduled tasks: {OVERRIDE_ENV}=1)")


class GateNotPassed(RuntimeError):
    """Publication refused: the warehouse's latest gate run failed or no gate ever ran on it."""


@dataclass(frozen=True)
class GateRun:
    run_id: str
    success: bool
    started_at: datetime
    failed_suites: tuple[str, ...]
    evidence: str | None

    def as_dict(self) -> dict:
        return {"run_id": self.run_id, "success": self.success, "started_at": self.started_at.isoformat(),
                "failed_suites": list(self.failed_suites), "evidence": self.evidence}


def latest_gate_run(con: duckdb.DuckDBPyConnection) -> GateRun | None:
    """The gate run that started last (None: the gate never ran on this warehouse)."""
    exists = con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                         [qs.SCHEMA, qs.RUNS.split(".")[1]]).fetchall()[0][0]
    if not exists:
        return None
    rows = con.execute(f"""
        with latest as (select run_id from {qs.RUNS} group by run_id order by max(started_at) desc limit 1)
        select run_id, bool_and(success), min(started_at),
               list(suite order by suite) filter (where not success), min(result_path)
        from {qs.RUNS} where run_id = (select run_id from latest) group by run_id""").fetchall()
    if not rows:
        return None
    row = rows[0]
    evidence = str(Path(row[4]).parent) if row[4] else None
    return GateRun(row[0], bool(row[1]), row[2], tuple(row[3] or ()), evidence)


def override_requested(explicit: bool | None = None) -> bool:
    """The explicit flag, else $SEGWAREHOUSE_PUBLISH_WITHOUT_GATE (1/true/yes)."""
    if explicit is not None:
        return explicit
    return os.environ.get(OVERRIDE_ENV, "").strip().lower() in {"1", "true", "yes"}


def require_passed_gate(warehouse: Path, *, allow_failed_gate: bool | None = None) -> dict:
    """Raise GateNotPassed unless the latest gate run on `warehouse` passed (or the override is given).

    Returns what the publication records about its gate: the run, and whether the check was overridden.
    """
    with duckdb.connect(str(warehouse), read_only=True) as con:
        run = latest_gate_run(con)
    if run is not None and run.success:
        return {"gate_run": run.run_id, "gate_passed": True, "gate_overridden": False}
    overridden = override_requested(allow_failed_gate)
    if run is None:
        problem = f"no quality gate run is recorded in {warehouse}"
    else:
        problem = (f"the latest quality gate run {run.run_id!r} (started {run.started_at:%Y-%m-%d %H:%M:%S %Z}) "
                   f"failed in suite(s) {', '.join(run.failed_suites)}"
                   + (f"; evidence: {run.evidence}" if run.evidence else ""))
    if not overridden:
        raise GateNotPassed(f"refusing to publish: {problem}. To publish: {OVERRIDE_HINT}")
    return {"gate_run": run.run_id if run else None, "gate_passed": False, "gate_overridden": True,
            "gate_problem": problem}
