"""Write-audit-publish: BI reads a serving DuckDB file that only ever changes by one atomic rename.

The warehouse is written by dbt (write), checked by the quality gate (audit), and only then are the
tables readers need copied into a brand-new DuckDB file next to the serving file and swapped in with
`os.replace` (publish). Until that rename the previous serving file is untouched, so a failed build or
a failed gate leaves readers on the last good snapshot; a reader that already has the old file open
keeps its snapshot (POSIX keeps the unlinked inode alive), new connections see the new one.
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from segwarehouse.quality_gate import (
    DEFAULT_CHUNK_ROWS,
    DEFAULT_TABLES,
    DEFAULT_TOLERANCE,
    GateResult,
    validate_warehouse,
)

log = logging.getLogger(__name__)

_WAREHOUSE_ALIAS = "wh"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


@dataclass(frozen=True)
class PublishResult:
    """What was published where: table -> row count, views created, size and timing."""

    serving_path: Path
    tables: dict[str, int]
    views: int
    bytes: int
    duration_s: float


@dataclass(frozen=True)
class AuditPublishResult:
    gate: GateResult
    publish: PublishResult


def publish(
    warehouse_path: str | Path,
    serving_path: str | Path,
    tables: list[str],
    *,
    views_sql: list[str] | None = None,
    source_schema: str = "main",
) -> PublishResult:
    """Copy `tables` from the warehouse into a fresh DuckDB file and atomically replace `serving_path`.

    Table names may be `table` (read from `source_schema`) or `schema.table` (kept as is in the serving
    file). `views_sql` are statements run in the new file after the copy (e.g. `create view ...`).
    The warehouse is attached READ_ONLY; the temp file lives in the serving folder so the rename never
    crosses file systems, and it is removed on any failure.
    """
    if not tables:
        raise ValueError("publish needs at least one table")
    started = time.perf_counter()
    serving = Path(serving_path).resolve()
    warehouse = Path(warehouse_path).resolve()
    if serving == warehouse:
        raise ValueError("serving_path must differ from warehouse_path")
    serving.parent.mkdir(parents=True, exist_ok=True)
    tmp = serving.with_name(f".{serving.name}.{uuid.uuid4().hex}.tmp")
    counts: dict[str, int] = {}
    try:
        con = duckdb.connect(str(tmp))
        try:
            con.execute(f"attach '{_sql_string(str(warehouse))}' as {_WAREHOUSE_ALIAS} (read_only)")
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
    result = PublishResult(
        serving_path=serving,
        tables=counts,
        views=len(views_sql or []),
        bytes=serving.stat().st_size,
        duration_s=time.perf_counter() - started,
    )
    log.info("published %s to %s in %.2fs", counts, serving, result.duration_s)
    return result


def audit_and_publish(
    warehouse_path: str | Path,
    serving_path: str | Path,
    tables: list[str],
    *,
    run_id: str,
    runs_dir: str | Path,
    views_sql: list[str] | None = None,
    validate_tables: Sequence[str] = DEFAULT_TABLES,
    tolerance: float = DEFAULT_TOLERANCE,
    mean_tolerance: float | None = None,
    schema: str = "main",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> AuditPublishResult:
    """Run the quality gate, then publish; on a failed gate raise `QualityGateFailed` and publish nothing."""
    gate = validate_warehouse(
        warehouse_path,
        run_id,
        runs_dir,
        tables=validate_tables,
        tolerance=tolerance,
        mean_tolerance=mean_tolerance,
        schema=schema,
        chunk_rows=chunk_rows,
        raise_on_failure=True,
    )
    published = publish(warehouse_path, serving_path, tables, views_sql=views_sql, source_schema=schema)
    return AuditPublishResult(gate=gate, publish=published)


def _split(name: str, default_schema: str) -> tuple[str, str]:
    schema, _, table = name.rpartition(".")
    return (schema or default_schema), table


def _ident(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return f'"{name}"'


def _sql_string(value: str) -> str:
    return value.replace("'", "''")


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
