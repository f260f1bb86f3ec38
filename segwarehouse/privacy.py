"""Right to erasure: remove one person from landing files, warehouse, published file and segment history.

The audit record keeps only a keyed HMAC of the identifier (key from SEGWAREHOUSE_PII_KEY), never the PII.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from .paths import Paths

_PII_KEY_ENV = "SEGWAREHOUSE_PII_KEY"
_BASE_TABLES = {  # base line table -> identifier columns it parsed from each line
    "base_crm__contact_lines": ("customer_id", "email", "phone"),
    "base_web__event_lines": ("anonymous_id", "user_id"),
    "base_shop__order_lines": ("customer_id", "email"),
}


class ErasureError(RuntimeError):
    """The identifier is malformed or unknown, or identifiers were still found after erasure."""


@dataclass
class ErasureReport:
    subject_hmac: str
    persons: int
    identifiers: int
    raw_lines_removed: int
    raw_files_rewritten: int
    warehouse_rows_deleted: dict[str, int] = field(default_factory=dict)
    leftover_files: list[str] = field(default_factory=list)
    seconds: float = 0.0


def pii_key() -> bytes:
    """The HMAC key for pseudonymising PII; never a literal in code."""
    key = os.environ.get(_PII_KEY_ENV)
    if not key:
        raise ErasureError(f"{_PII_KEY_ENV} is not set: it keys the HMAC that pseudonymises PII")
    return key.encode()


def pseudonymize(value: str, key: bytes | None = None) -> str:
    """Keyed HMAC-SHA256 of a normalised identifier (hex)."""
    return hmac.new(key or pii_key(), value.strip().lower().encode(), hashlib.sha256).hexdigest()


def _node_for(identifier: str) -> str:
    value = identifier.strip()
    if len(value) < 3 or any(c in value for c in "\n\r\x00"):
        raise ErasureError(f"not an email or customer id: {identifier!r}")
    return f"email:{value.lower()}" if "@" in value else f"customer_id:{value}"


def _identifiers(con: duckdb.DuckDBPyConnection, node: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Person ids (current and historical) and (type, value) identifiers of the person behind `node`."""
    persons = [r[0] for r in con.execute(
        "select distinct person_id from int_person_map where node_key = ?", [node]).fetchall()]
    if not persons:
        return [], [tuple(node.split(":", 1))]
    history = [r[0] for r in con.execute(
        "select old_person_id from person_id_history where new_person_id in (select unnest(?::varchar[]))",
        [persons]).fetchall()]
    ids = con.execute(
        "select id_type, id_value from int_person_map where person_id in (select unnest(?::varchar[])) "
        "and not is_guard_rejected", [persons]).fetchall()
    return sorted(set(persons + history)), sorted(set(ids) | {tuple(node.split(":", 1))})


def _lines_to_remove(con: duckdb.DuckDBPyConnection, ids: list[tuple[str, str]]) -> dict[str, set[int]]:
    """Landing-zone lines (file -> line numbers) that carry any of the identifiers."""
    con.execute("create or replace temp table erase_ids (id_type varchar, id_value varchar)")
    con.executemany("insert into erase_ids values (?, ?)", ids)
    parts = []
    for table, cols in _BASE_TABLES.items():
        conds = []
        for col in cols:
            id_type = {"user_id": "customer_id"}.get(col, col)
            conds.append(f"{col} in (select id_value from erase_ids where id_type = '{id_type}')")
        parts.append(f"select source_file, line_no from {table} where {' or '.join(conds)}")
    parts.append("""select source_file, line_no from base_shop__order_item_lines where order_id in (
        select order_id from base_shop__order_lines where customer_id in (select id_value from erase_ids where id_type = 'customer_id')
        or email in (select id_value from erase_ids where id_type = 'email'))""")
    # quarantined lines are matched on their raw text (they may not have parsed)
    parts.append("""select source_file, line_no from int_quarantine_rows q
        where exists (select 1 from erase_ids where contains(lower(q.raw_line), lower(erase_ids.id_value)))""")
    out: dict[str, set[int]] = {}
    for source_file, line_no in con.execute(" union ".join(parts)).fetchall():
        out.setdefault(source_file, set()).add(int(line_no))
    return out


def _rewrite(path: Path, drop: set[int]) -> int:
    lines = path.read_bytes().split(b"\n")
    kept = [line for i, line in enumerate(lines, start=1) if i not in drop]
    tmp = path.with_name(f".{path.name}.erasing")
    tmp.write_bytes(b"\n".join(kept))
    tmp.replace(path)
    return len(lines) - len(kept)


def _compact(db_path: Path) -> None:
    """Rewrite a DuckDB file so that deleted rows do not survive in free blocks."""
    tmp = db_path.with_name(f".{db_path.name}.compact")
    tmp.unlink(missing_ok=True)
    with duckdb.connect() as con:
        con.execute(f"attach '{db_path}' as old_db (read_only)")
        con.execute(f"attach '{tmp}' as new_db")
        con.execute("copy from database old_db to new_db")
    tmp.replace(db_path)
    Path(f"{db_path}.wal").unlink(missing_ok=True)


def scan_for(root: Path, needles: list[str], skip: tuple[str, ...] = ("airflow",)) -> list[str]:
    """Files under `root` that still contain any needle (case-insensitive bytes)."""
    wanted = [n.lower().encode() for n in needles if len(n) >= 3]
    hits = []
    for path in root.rglob("*"):
        if not path.is_file() or any(part in skip for part in path.relative_to(root).parts):
            continue
        data = path.read_bytes().lower()
        if any(n in data for n in wanted):
            hits.append(str(path.relative_to(root)))
    return hits


def erase_person(identifier: str, run_name: str, paths: Paths) -> dict:
    """Erase the person behind an email / customer id everywhere; raise if any identifier survives."""
    from .dbt_runner import run_dbt
    from .pipeline import publish_serving

    t0 = time.perf_counter()
    node = _node_for(identifier)
    subject = pseudonymize(node.split(":", 1)[1])
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        persons, ids = _identifiers(con, node)
        drop = _lines_to_remove(con, ids)
        as_of = con.execute("select max(as_of_date) from dim_user_profile").fetchone()[0]
    raw_root = paths.raw.resolve()
    for f in drop:
        if not (raw_root / f).resolve().is_relative_to(raw_root):
            raise ErasureError(f"refusing to rewrite {f}: outside the landing zone {raw_root}")
    removed = sum(_rewrite(raw_root / f, lines) for f, lines in drop.items())

    # rebuild every dbt model from the cleaned landing zone, then purge what dbt does not own
    run_dbt(["build", "--full-refresh"], paths=paths, vars={"as_of_date": str(as_of)})
    deleted: dict[str, int] = {}
    with duckdb.connect(str(paths.warehouse)) as con:
        con.execute("create or replace temp table erase_persons as select unnest(?::varchar[]) as person_id", [persons])
        tables = con.execute(
            "select c.table_schema, c.table_name from information_schema.columns c join information_schema.tables t "
            "using (table_schema, table_name) where c.column_name in ('person_id', 'old_person_id') "
            "and t.table_type = 'BASE TABLE'").fetchall()
        for schema, table in tables:
            cond = ("old_person_id in (select person_id from erase_persons) or new_person_id in "
                    "(select person_id from erase_persons)" if table == "person_id_history"
                    else "person_id in (select person_id from erase_persons)")
            n = con.execute(f'delete from "{schema}"."{table}" where {cond}').fetchone()[0]
            if n:
                deleted[f"{schema}.{table}"] = int(n)
        # the person map keeps the id a row had before its last rewrite, experiment assignments the ids they
        # were inherited from or merged into: forget erased ids there too
        for schema, table, column in con.execute(
                "select table_schema, table_name, column_name from information_schema.columns "
                "where column_name in ('previous_person_id', 'inherited_from', 'superseded_by')").fetchall():
            con.execute(f'update "{schema}"."{table}" set "{column}" = null '
                        f'where "{column}" in (select person_id from erase_persons)')
        con.execute("""create table if not exists main.privacy_erasure_audit (
            erased_at timestamp, run_name varchar, subject_hmac varchar, persons integer, identifiers integer,
            raw_lines_removed integer)""")
        con.execute("insert into main.privacy_erasure_audit values (?, ?, ?, ?, ?, ?)",
                    [datetime.now(UTC).replace(tzinfo=None), run_name, subject, len(persons), len(ids), removed])
    _compact(paths.warehouse)
    publish_serving(paths)

    needles = [v for _, v in ids] + persons
    _scrub_run_evidence(paths.runs, needles)
    leftovers = scan_for(paths.data, needles, skip=("airflow", "truth"))
    report = ErasureReport(subject, len(persons), len(ids), removed, len(drop), deleted, leftovers,
                           round(time.perf_counter() - t0, 2))
    audit_dir = paths.runs / run_name
    audit_dir.mkdir(parents=True, exist_ok=True)
    (audit_dir / "erasure_audit.json").write_text(json.dumps(asdict(report), indent=2))
    if leftovers:
        raise ErasureError(f"identifiers of the erased person are still in: {', '.join(leftovers)}")
    return asdict(report)


def _scrub_run_evidence(runs: Path, needles: list[str]) -> None:
    """Validation evidence may quote unexpected values: replace any identifier of the person in it."""
    if not runs.exists():
        return
    for path in scan_for(runs, needles, skip=()):
        full = runs / path
        text = full.read_text(encoding="utf-8", errors="replace")
        for needle in needles:
            text = _replace_ci(text, needle, "[erased]")
        full.write_text(text, encoding="utf-8")


def _replace_ci(text: str, needle: str, repl: str) -> str:
    import re

    return re.sub(re.escape(needle), repl, text, flags=re.IGNORECASE)
