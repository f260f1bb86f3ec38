"""Write-audit-publish: BI reads a serving DuckDB file that only ever changes by one atomic rename.

The warehouse is written by dbt (write), checked by the quality gate (audit), and only then are the
tables readers need copied into a brand-new DuckDB file next to the serving file and swapped in with
`os.replace` (publish). Until that rename the previous serving file is untouched, so a failed build or
a failed gate leaves readers on the last good snapshot; a reader that already has the old file open
keeps its snapshot (POSIX keeps the unlinked inode alive), new connections see the new one.

A publish holds an exclusive `flock` on the serving folder (`serving_lock`; no lock file is left behind). The
kernel drops the lock when its holder dies, even by SIGKILL, so the next publisher knows that the temp files
it finds next to the serving file belong to a dead publish and removes them (`remove_stale_files`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from segwarehouse.core.sql import ident, literal

log = logging.getLogger(__name__)

_WAREHOUSE_ALIAS = "wh"


class PublishAborted(RuntimeError):
    """The new serving file did not hold what was audited; the old serving file was left in place."""


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_HELD_LOCKS: set[Path] = set()  # serving files whose lock this process holds (the lock is re-entrant)


def remove_stale_files(serving: str | Path) -> list[str]:
    """Delete temp/stage files of earlier publishes of `serving` (call only while holding `serving_lock`)."""
    serving = Path(serving).resolve()
    removed = []
    for path in serving.parent.glob(f".{serving.name}.*"):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path.name)
    if removed:
        log.warning("removed %d file(s) left by an interrupted publish: %s", len(removed), removed)
    return removed


@contextmanager
def serving_lock(serving: str | Path) -> Iterator[None]:
    """Hold the exclusive publish lock of `serving` (blocks while another process publishes it).

    On entry, files left by publishes that died (temp copies, pseudonymized stage files, WALs) are
    removed. Re-entrant within one process.
    """
    serving = Path(serving).resolve()
    if serving in _HELD_LOCKS:
        yield
        return
    serving.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(serving.parent, os.O_RDONLY)  # flock on the folder: released by the kernel when we die
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        _HELD_LOCKS.add(serving)
        try:
            remove_stale_files(serving)
            yield
        finally:
            _HELD_LOCKS.discard(serving)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class PublishResult:
    """What was published where: table -> row count, views created, size and timing."""

    serving_path: Path
    tables: dict[str, int]
    views: int
    bytes: int
    duration_s: float


def publish(
    warehouse_path: str | Path,
    serving_path: str | Path,
    tables: list[str],
    *,
    views_sql: list[str] | None = None,
    source_schema: str = "main",
    expected_rows: Mapping[str, int] | None = None,
) -> PublishResult:
    """Copy `tables` from the warehouse into a fresh DuckDB file and atomically replace `serving_path`.

    Table names may be `table` (read from `source_schema`) or `schema.table` (kept as is in the serving
    file). `views_sql` are statements run in the new file after the copy (e.g. `create view ...`).
    `expected_rows` (table name as given -> rows) guards "publish what was audited": a copied table
    with another row count raises `PublishAborted` before the swap. The warehouse is attached
    READ_ONLY; the temp file lives in the serving folder so the rename never crosses file systems,
    and it is removed on any failure.
    """
    if not tables:
        raise ValueError("publish needs at least one table")
    started = time.perf_counter()
    serving = Path(serving_path).resolve()
    warehouse = Path(warehouse_path).resolve()
    if serving == warehouse:
        raise ValueError("serving_path must differ from warehouse_path")
    serving.parent.mkdir(parents=True, exist_ok=True)
    with serving_lock(serving):
        counts = _publish_locked(warehouse, serving, tables, views_sql, source_schema, expected_rows)
    result = PublishResult(
        serving_path=serving,
        tables=counts,
        views=len(views_sql or []),
        bytes=serving.stat().st_size,
        duration_s=time.perf_counter() - started,
    )
    log.info("published %s to %s in %.2fs", counts, serving, result.duration_s)
    return result


def _publish_locked(warehouse: Path, serving: Path, tables: list[str], views_sql: list[str] | None,
                    source_schema: str, expected_rows: Mapping[str, int] | None) -> dict[str, int]:
    tmp = serving.with_name(f".{serving.name}.{uuid.uuid4().hex}.tmp")
    counts: dict[str, int] = {}
    try:
        con = duckdb.connect(str(tmp))
        try:
            con.execute(f"attach {literal(str(warehouse))} as {_WAREHOUSE_ALIAS} (read_only)")
            # qualify with the new file's catalog: a schema may share its name (e.g. "segments")
            catalog = _ident(con.execute("select current_database()").fetchone()[0])
            for name in tables:
                schema, table = _split(name, source_schema)
                target_schema = schema if "." in name else "main"
                if target_schema != "main":
                    con.execute(f"create schema if not exists {catalog}.{_ident(target_schema)}")
                target = f"{catalog}.{_ident(target_schema)}.{_ident(table)}"
                con.execute(
                    f"create table {target} as select * from {_WAREHOUSE_ALIAS}.{_ident(schema)}.{_ident(table)}"
                )
                row = con.execute(f"select count(*) from {target}").fetchone()
                counts[name] = int(row[0]) if row else 0
            con.execute(f"detach {_WAREHOUSE_ALIAS}")
            changed = {
                name: (rows, counts.get(name))
                for name, rows in (expected_rows or {}).items()
                if counts.get(name) != rows
            }
            if changed:
                raise PublishAborted(
                    "warehouse changed between audit and publish (table: audited rows, rows now): "
                    + ", ".join(f"{n}: {a}, {b}" for n, (a, b) in changed.items())
                )
            for statement in views_sql or []:
                con.execute(statement)
            con.execute("checkpoint")
        finally:
            con.close()
        _fsync(tmp)
        tmp.replace(serving)  # os.replace: atomic on POSIX and Windows
        _fsync_dir(serving.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
        raise
    return counts


def _split(name: str, default_schema: str) -> tuple[str, str]:
    schema, _, table = name.rpartition(".")
    return (schema or default_schema), table


def _ident(name: str) -> str:
    """A quoted identifier of a table the caller names (plain identifiers only)."""
    if not _NAME.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return ident(name)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # not supported on every platform; the rename itself is still atomic
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
