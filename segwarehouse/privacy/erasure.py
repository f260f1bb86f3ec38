"""Right to erasure as a transaction: plan, rebuild beside the live files, verify, swap, publish via the gate.

1. **plan** - the subject resolves through the identity graph to a person; the exact lines of theirs in the
   landing files are listed (matching.py). The warehouse must hold every accepted file as it is now (the line
   numbers refer to that content), else the erasure stops before changing anything.
2. **build** - the landing zone is mirrored with those lines removed (landing_copy.py) and the warehouse,
   copied, is rebuilt from the mirror with a full refresh; the person's rows in Python-owned tables are
   purged and the file compacted (traces.py). Nothing of the live files has changed yet.
3. **verify** - no identifier or person id of theirs is left in the new warehouse or the mirrored files.
4. **swap** - the rewritten landing files, then the warehouse, are renamed into place.
5. **publish** - the gate runs on the new warehouse; if it passes the serving file is republished, otherwise
   the person is removed from the current serving file (the last validated data, minus them).
6. **check** - run evidence is scrubbed and every remaining file is searched for the person.

A journal (`<data>/erasure/<subject HMAC>/journal.json`) records the plan and the step reached. A retry of
an erasure that failed or was killed before the swap starts again from the untouched files; one that
stopped during or after the swap finishes it. The journal holds the person's identifiers until the erasure
completes (the final check needs them); it is deleted then. The audit keeps only an HMAC of the subject.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from segwarehouse.core.paths import Paths
from segwarehouse.core.pii import pseudonymize
from segwarehouse.landing import ledger
from segwarehouse.privacy.landing_copy import FileChange, build_shadow, shadow_root, swap_in
from segwarehouse.privacy.matching import ErasureError, Person, parse_subject, plan_lines, resolve
from segwarehouse.privacy.schema import AUDIT_TABLE, ensure_tables
from segwarehouse.privacy.traces import (
    compact,
    duckdb_traces,
    file_traces,
    purge_python_tables,
    scrub_text_files,
)

log = logging.getLogger(__name__)

_CSV_SOURCES = ("crm_contacts", "shop_orders", "shop_order_items")
_DBT_PARSE_FILES = ("manifest.json", "semantic_manifest.json", "graph.gpickle", "graph_summary.json",
                    "partial_parse.msgpack")


@dataclass(frozen=True)
class Stages:
    """The pipeline stages an erasure drives (given by segwarehouse.pipeline, which composes stages)."""

    rebuild: Callable[[Paths, date], object]       # full-refresh build of the warehouse at `paths`
    validate: Callable[[Paths, str], bool]         # quality gate on `paths`; True when it passed
    publish: Callable[[Paths], bool]               # publish the validated warehouse; False: declined (older day)
    purge_serving: Callable[[Paths, list[str]], object]  # drop persons from the current serving file


@dataclass
class ErasureReport:
    subject_hmac: str
    persons: int
    identifiers: int
    raw_lines_removed: int
    raw_files_rewritten: int
    raw_files_removed: int = 0
    warehouse_rows_deleted: dict[str, int] = field(default_factory=dict)
    gate_passed: bool | None = None
    published: str = ""            # "republished" | "person removed from the last published data"
    evidence_files_scrubbed: int = 0
    leftover_files: list[str] = field(default_factory=list)
    resumed_from: str | None = None
    seconds: float = 0.0


def journal_dir(paths: Paths) -> Path:
    return paths.data / "erasure"


def erase_person(identifier: str, run_name: str, paths: Paths, stages: Stages) -> dict:
    """Erase the person behind an e-mail / customer id everywhere; raise ErasureError if anything is left."""
    t0 = time.perf_counter()
    subject = parse_subject(identifier)
    subject_hmac = pseudonymize(subject.id_value)
    for other in sorted(journal_dir(paths).glob("*/journal.json")):
        if other.parent.name != subject_hmac[:32]:
            _finish_other(paths, other, stages, run_name)
    journal = Journal.load(journal_dir(paths) / subject_hmac[:32] / "journal.json")
    if journal.state in ("swapping", "swapped"):
        report = _resume(paths, journal, stages, run_name)
    else:
        journal.discard_work(paths)
        report = _run(paths, subject, subject_hmac, journal, stages, run_name)
    return _conclude(paths, journal, report, run_name, t0)


def _conclude(paths: Paths, journal: Journal, report: ErasureReport, run_name: str, t0: float) -> dict:
    """Write the audit record; raise while anything of the person is left (the journal stays for a retry)."""
    report.seconds = round(time.perf_counter() - t0, 2)
    audit_dir = paths.runs / run_name
    audit_dir.mkdir(parents=True, exist_ok=True)
    (audit_dir / "erasure_audit.json").write_text(json.dumps(asdict(report), indent=2))
    if report.leftover_files:
        raise ErasureError("identifiers of the erased person are still in: " + ", ".join(report.leftover_files)
                           + f" (the journal {journal.path} stays; erase again after removing them)")
    journal.remove()
    return asdict(report)


def _run(paths: Paths, subject, subject_hmac: str, journal: Journal, stages: Stages, run_name: str) -> ErasureReport:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        _require_tables(con)
        as_of = con.execute("select max(as_of_date) from int_source_load_audit").fetchone()[0]
        _require_loaded(con, as_of)
        person = resolve(con, subject)
        plan = plan_lines(con, person)
        loaded = dict(con.execute(f"select source_file, loaded_hash from {ledger.LEDGER} "
                                  "where loaded_hash is not null").fetchall())
        headers = {r[0] for r in con.execute(
            f"select source_file from {ledger.LEDGER} where source_name in (select unnest(?::varchar[]))",
            [list(_CSV_SOURCES)]).fetchall()}
    if not person.person_ids and not plan:
        raise ErasureError(f"no person, landing line or record holds this {subject.id_type} "
                           "(nothing was changed; check the spelling)")
    token = uuid.uuid4().hex[:12]
    journal.start(subject_hmac, person, token, as_of)
    shadow = shadow_root(paths.raw, f"erasure-{token}")
    work = _work_paths(paths, shadow, token)
    try:
        changes = build_shadow(paths.raw, shadow, plan, loaded, headers)
        shutil.copyfile(paths.warehouse, work.warehouse)
        stages.rebuild(work, as_of)
        with duckdb.connect(str(work.warehouse)) as con:
            deleted = purge_python_tables(con, person.person_ids, person.needles)
            _audit_row(con, run_name, subject_hmac, person, changes)
        compacted = work.warehouse.with_name(work.warehouse.name + ".compact")
        compact(work.warehouse, compacted)
        traces = duckdb_traces(compacted, person.needles) + [
            f"landing {t}" for t in file_traces(shadow, person.needles)]
        if traces:
            raise ErasureError("the rebuilt warehouse or landing files still hold the person: " + "; ".join(traces))
        journal.built(changes, deleted, compacted)
    except BaseException:
        journal.discard_work(paths)
        journal.remove()
        raise
    return _swap_and_publish(paths, journal, stages, run_name)


def _resume(paths: Paths, journal: Journal, stages: Stages, run_name: str) -> ErasureReport:
    log.warning("resuming erasure %s from step %s", journal.subject_hmac[:12], journal.state)
    report = _swap_and_publish(paths, journal, stages, run_name)
    report.resumed_from = journal.state_before_resume
    return report


def _swap_and_publish(paths: Paths, journal: Journal, stages: Stages, run_name: str) -> ErasureReport:
    shadow = shadow_root(paths.raw, f"erasure-{journal.token}")
    if journal.state != "swapped":
        journal.set_state("swapping")
        swap_in(paths.raw, shadow, journal.changes)
        compacted = Path(journal.compacted)
        if compacted.exists():
            compacted.replace(paths.warehouse)
            Path(f"{paths.warehouse}.wal").unlink(missing_ok=True)
        journal.set_state("swapped")
    journal.discard_work(paths)
    passed = stages.validate(paths, f"{run_name}_gate")
    if passed and stages.publish(paths):
        published = "republished"
    else:
        stages.purge_serving(paths, journal.person_ids)
        published = ("person removed from the last published data (" + (
            "serving holds a later day than the warehouse rebuilt" if passed else "the gate did not pass")
            + ": nothing new published)")
    needles = journal.needles
    scrubbed = scrub_text_files(paths.runs, needles)
    # the warehouse and the landing files were searched before the swap (the same files are in place now);
    # dbt's parse of the project (manifest, graph) holds code and unit-test fixtures, never landed data
    parse = [paths.data / "dbt_target" / name for name in _DBT_PARSE_FILES]
    leftovers = file_traces(paths.data, needles, skip=[
        paths.data / "airflow", paths.truth, journal_dir(paths), paths.warehouse, paths.raw, *parse])
    changes = journal.changes
    return ErasureReport(
        subject_hmac=journal.subject_hmac, persons=len(journal.person_ids), identifiers=journal.n_identifiers,
        raw_lines_removed=sum(c.lines_removed for c in changes),
        raw_files_rewritten=sum(c.new_sha256 is not None for c in changes),
        raw_files_removed=sum(c.new_sha256 is None for c in changes),
        warehouse_rows_deleted=journal.deleted, gate_passed=passed, published=published,
        evidence_files_scrubbed=scrubbed, leftover_files=leftovers)


def _finish_other(paths: Paths, path: Path, stages: Stages, run_name: str) -> None:
    """Another subject's erasure stopped half way: finish it (after the swap) or drop its work (before)."""
    other = Journal.load(path)
    if other.state in ("swapping", "swapped"):
        name = f"{run_name}_resumed_{other.subject_hmac[:8]}"
        _conclude(paths, other, _resume(paths, other, stages, name), name, time.perf_counter())
    else:
        other.discard_work(paths)
        other.remove()


def _work_paths(paths: Paths, shadow: Path, token: str) -> Paths:
    warehouse = paths.warehouse.with_name(f".{paths.warehouse.name}.erasure-{token}")
    return Paths(home=paths.home, data=paths.data, raw_dir=shadow, warehouse_file=warehouse)


def _require_tables(con: duckdb.DuckDBPyConnection) -> None:
    have = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    missing = {"int_person_map", "person_id_history", "int_quarantine_rows", "int_source_load_audit",
               "file_ledger"} - have
    if missing:
        raise ErasureError(f"the warehouse has no {', '.join(sorted(missing))}: build it before erasing")


def _require_loaded(con: duckdb.DuckDBPyConnection, as_of: date) -> None:
    """Every accepted landing file up to the warehouse's as_of_date must be loaded as it is (line numbers refer
    to the loaded content). Later deliveries are mirrored unchanged; the check before the swap fails naming
    one if it holds the person (build it, then erase again)."""
    pending = [r[0] for r in con.execute(
        f"select source_file from {ledger.LEDGER} where status in ('new', 'changed') and delivery_date <= ? "
        "order by 1", [as_of]).fetchall()]
    if pending:
        raise ErasureError(
            f"{len(pending)} landing file(s) are not loaded as they are now ({', '.join(pending[:5])}"
            + (", ..." if len(pending) > 5 else "") + "): build the latest delivery first, then erase "
            "(an erasure can only find a person's lines in files the warehouse holds)")


def _audit_row(con: duckdb.DuckDBPyConnection, run_name: str, subject_hmac: str, person: Person,
               changes: list[FileChange]) -> None:
    ensure_tables(con)
    con.execute(f"insert into {AUDIT_TABLE} values (?, ?, ?, ?, ?, ?)",
                [datetime.now(UTC).replace(tzinfo=None), run_name, subject_hmac, len(person.person_ids),
                 len(person.identifiers), sum(c.lines_removed for c in changes)])


class Journal:
    """The erasure's plan and progress on disk (written atomically at every step)."""

    def __init__(self, path: Path, data: dict):
        self.path = path
        self.data = data
        self.state_before_resume = data.get("state")

    @classmethod
    def load(cls, path: Path) -> Journal:
        data = json.loads(path.read_text()) if path.exists() else {"state": "new"}
        return cls(path, data)

    @property
    def state(self) -> str:
        return self.data.get("state", "new")

    @property
    def token(self) -> str:
        return self.data["token"]

    @property
    def subject_hmac(self) -> str:
        return self.data["subject_hmac"]

    @property
    def person_ids(self) -> list[str]:
        return self.data["person_ids"]

    @property
    def needles(self) -> list[str]:
        return self.data["needles"]

    @property
    def n_identifiers(self) -> int:
        return self.data["n_identifiers"]

    @property
    def changes(self) -> list[FileChange]:
        return [FileChange(**c) for c in self.data.get("changes", [])]

    @property
    def deleted(self) -> dict[str, int]:
        return self.data.get("deleted", {})

    @property
    def compacted(self) -> str:
        return self.data["compacted"]

    def start(self, subject_hmac: str, person: Person, token: str, as_of: date) -> None:
        self.data = {"state": "planned", "subject_hmac": subject_hmac, "token": token,
                     "person_ids": person.person_ids, "needles": person.needles,
                     "n_identifiers": len(person.identifiers), "as_of_date": str(as_of),
                     "started_at": datetime.now(UTC).isoformat()}
        self._write()

    def built(self, changes: list[FileChange], deleted: dict[str, int], compacted: Path) -> None:
        self.data.update(state="built", changes=[c.as_dict() for c in changes], deleted=deleted,
                         compacted=str(compacted))
        self._write()

    def set_state(self, state: str) -> None:
        self.data["state"] = state
        self._write()

    def discard_work(self, paths: Paths) -> None:
        """Remove the mirror and the work copies of the warehouse (never the live files)."""
        token = self.data.get("token")
        if not token:
            return
        shutil.rmtree(shadow_root(paths.raw, f"erasure-{token}"), ignore_errors=True)
        for path in paths.warehouse.parent.glob(f".{paths.warehouse.name}.erasure-{token}*"):
            path.unlink(missing_ok=True)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
        if self.path.parent.exists() and not any(self.path.parent.iterdir()):
            self.path.parent.rmdir()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(json.dumps(self.data, indent=2, default=str))
        tmp.replace(self.path)
