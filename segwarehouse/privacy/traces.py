"""Removing a person's rows from the tables dbt does not rebuild, and finding any trace left anywhere.

dbt rebuilds its own models from the cleaned landing zone; the tables Python writes (segment history, model
registry, gate results and their raw samples) are purged here by person id and by identifier. The checks
then look for the person's identifiers and person ids as whole tokens: in every text column of every
DuckDB file (by SQL: DuckDB compresses strings, so the bytes of its files prove nothing), in Parquet files
(by SQL) and in every other file (by bytes).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable
from pathlib import Path

import duckdb

from segwarehouse.core.sql import ident
from segwarehouse.privacy.matching import bytes_matcher

_TEXT_TYPES = ("VARCHAR",)
_NESTED = ("[]", "STRUCT", "MAP", "UNION", "JSON")
# free-text columns of Python-owned tables that may quote raw values: rewritten, not deleted
_QUOTING = {("quality", "data_quality_runs"): "failed_summary"}
_SAMPLES = ("quality", "data_quality_samples")


def token_pattern(needles: Iterable[str]) -> str | None:
    """An RE2 pattern (case-insensitive) for any needle as a whole token."""
    wanted = sorted({n.lower() for n in needles if len(n) >= 3})
    if not wanted:
        return None
    return (r"(?i)(^|[^a-z0-9._%+\-])(" + "|".join(re.escape(n) for n in wanted) + r")($|[^a-z0-9_\-])")


def purge_python_tables(con: duckdb.DuckDBPyConnection, person_ids: list[str], needles: list[str]) -> dict[str, int]:
    """Delete the persons' rows from every base table with a person id column; scrub quoted identifiers."""
    deleted: dict[str, int] = {}
    con.execute("create or replace temp table erase_persons as select unnest(?::varchar[]) as person_id",
                [person_ids])
    tables = con.execute(
        "select distinct c.table_schema, c.table_name, c.column_name from information_schema.columns c "
        "join information_schema.tables t using (table_catalog, table_schema, table_name) "
        "where c.column_name in ('person_id', 'old_person_id', 'new_person_id') and t.table_type = 'BASE TABLE' "
        "and t.table_catalog = current_database() order by 1, 2, 3").fetchall()
    by_table: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in tables:
        by_table.setdefault((schema, table), []).append(column)
    for (schema, table), columns in by_table.items():
        cond = " or ".join(f'"{c}" in (select person_id from erase_persons)' for c in columns)
        n = con.execute(f'delete from "{schema}"."{table}" where {cond}').fetchone()[0]
        if n:
            deleted[f"{schema}.{table}"] = int(n)
    # a person-map row keeps the id it had before its last rewrite, an experiment assignment the ids it was
    # inherited from or merged into: forget erased ids there too
    for schema, table, column in con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where column_name in ('previous_person_id', 'inherited_from', 'superseded_by') "
            "and table_catalog = current_database()").fetchall():
        con.execute(f'update "{schema}"."{table}" set "{column}" = null '
                    f'where "{column}" in (select person_id from erase_persons)')
    pattern = token_pattern(needles)
    present = {(s, t) for s, t in con.execute(
        "select table_schema, table_name from information_schema.tables where table_catalog = current_database()"
    ).fetchall()}
    if pattern and _SAMPLES in present:
        n = con.execute(f'delete from "{_SAMPLES[0]}"."{_SAMPLES[1]}" where regexp_matches(description, ?)',
                        [pattern]).fetchone()[0]
        if n:
            deleted[".".join(_SAMPLES)] = int(n)
    for (schema, table), column in _QUOTING.items():
        if pattern and (schema, table) in present:
            con.execute(f'update "{schema}"."{table}" set "{column}" = regexp_replace("{column}", ?, \'\\1[erased]\\3\', \'g\') '
                        f'where regexp_matches("{column}", ?)', [pattern, pattern])
    return deleted


def compact(src: Path, dst: Path) -> None:
    """Copy a DuckDB database into a new file: deleted rows do not survive in its free blocks."""
    dst.unlink(missing_ok=True)
    Path(f"{dst}.wal").unlink(missing_ok=True)
    with duckdb.connect() as con:
        con.execute("attach ? as old_db (read_only)", [str(src)])
        con.execute("attach ? as new_db", [str(dst)])
        con.execute("copy from database old_db to new_db")


def duckdb_traces(path: Path, needles: list[str], *, alias: str = "scanned") -> list[str]:
    """`schema.table.column` of every text column of a DuckDB file that holds one of the needles."""
    pattern = token_pattern(needles)
    if pattern is None:
        return []
    hits = []
    with duckdb.connect() as con:
        con.execute(f"attach ? as {alias} (read_only)", [str(path)])
        columns = con.execute(
            "select c.table_schema, c.table_name, c.column_name, c.data_type from information_schema.columns c "
            "join information_schema.tables t using (table_catalog, table_schema, table_name) "
            "where c.table_catalog = ? and t.table_type = 'BASE TABLE'", [alias]).fetchall()
        for schema, table, column, dtype in columns:
            if dtype not in _TEXT_TYPES and not any(k in dtype for k in _NESTED):
                continue
            value = _as_text(column, dtype)
            found = con.execute(
                f'select count(*) from {alias}."{schema}"."{table}" where regexp_matches({value}, ?)',
                [pattern]).fetchone()[0]
            if found:
                hits.append(f"{path.name}: {schema}.{table}.{column} ({found} rows)")
    return hits


def parquet_traces(path: Path, needles: list[str]) -> list[str]:
    pattern = token_pattern(needles)
    if pattern is None:
        return []
    with duckdb.connect() as con:
        columns = con.execute("describe select * from read_parquet(?)", [str(path)]).fetchall()
        text = [_as_text(c, t) for c, t, *_ in columns if t in _TEXT_TYPES or any(k in t for k in _NESTED)]
        if not text:
            return []
        cond = " or ".join(f"regexp_matches({c}, ?)" for c in text)
        found = con.execute(f"select count(*) from read_parquet(?) where {cond}",
                            [str(path), *([pattern] * len(text))]).fetchone()[0]
    return [f"{path.name} ({found} rows)"] if found else []


def _as_text(column: str, dtype: str) -> str:
    return ident(column) if dtype in _TEXT_TYPES else f"cast({ident(column)} as varchar)"


def file_traces(root: Path, needles: list[str], *, skip: Iterable[Path] = ()) -> list[str]:
    """Paths below `root` (relative) whose content holds one of the needles; DuckDB and Parquet by SQL."""
    skipped = [p.resolve() for p in skip]
    matches = bytes_matcher(needles)
    hits: list[str] = []
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        resolved = path.resolve()
        if any(resolved == s or s in resolved.parents for s in skipped):
            continue
        rel = str(path.relative_to(root))
        if _is_duckdb(path):
            hits += [f"{rel}: {h}" for h in duckdb_traces(path, needles)]
        elif path.suffix == ".parquet":
            hits += [f"{rel}: {h}" for h in parquet_traces(path, needles)]
        elif matches(_content(path)):
            hits.append(rel)
    return hits


def _content(path: Path) -> bytes:
    """A file's bytes; a gzip file's decompressed bytes (a compressed delivery the ledger rejected still holds
    whatever it holds)."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError):
            return data
    return data


def scrub_text_files(root: Path, needles: list[str]) -> int:
    """Replace the needles (whole tokens) by `[erased]` in the text files below `root` (run evidence)."""
    matches = bytes_matcher(needles)
    wanted = sorted({n.lower() for n in needles if len(n) >= 3})
    if not wanted or not root.exists():
        return 0
    pattern = re.compile(r"(?<![a-z0-9._%+\-])(?:" + "|".join(map(re.escape, wanted)) + r")(?![a-z0-9_\-]|\.[a-z0-9])",
                         re.IGNORECASE)
    n = 0
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file() or _is_duckdb(path) or path.suffix == ".parquet":
            continue
        data = path.read_bytes()
        if matches(data):
            path.write_text(pattern.sub("[erased]", data.decode("utf-8", errors="replace")), encoding="utf-8")
            n += 1
    return n


def _is_duckdb(path: Path) -> bool:
    if path.suffix not in (".duckdb", ".db"):
        return False
    with path.open("rb") as fh:
        head = fh.read(16)
    return head[8:12] == b"DUCK"
