"""The file ledger: every file under the landing zone, its size, content hash and what became of it.

A scan walks the landing zone without following symbolic links and classifies each entry:

* **accepted** - a regular file `<source folder>/date=YYYY-MM-DD/<name><extension>`; the warehouse reads it.
  Its status says what the warehouse did with it: `new` (not loaded yet), `changed` (content differs from
  the loaded version), `loaded`, `reloaded` (loaded again because its content changed);
* **rejected** - looks like a delivery but is never read, with the reason: a symbolic link (file or folder,
  wherever it points), a bad partition name (`date=latest`, `date=2026-13-45`), a compressed or other
  unexpected file type, a file outside a partition or nested below one, a name with control characters;
* **ignored** - not a delivery: hidden entries (in-flight uploads), marker files (`_SUCCESS`), folders that
  are not a source;
* **missing** - listed before, gone now (its lines stay in the warehouse until a full refresh).

Changes are detected by content: the SHA-256 of a file is computed again whenever its stat signature
(device, inode, size, mtime and ctime in ns) differs from the scanned one. ctime cannot be set from user
space, so a copy that keeps an older mtime (`cp -p`, `scp -p`, `rsync -t`) is still hashed again.

The ledger lives in the warehouse (schema `landing`, landing/schema.py): `file_ledger` (one row per path),
`file_ledger_events` (what changed when) and `full_refresh_pending`. dbt's base models read the list of
files to parse from `file_ledger` (a dbt source), so lineage and listing are one thing.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from segwarehouse.landing.schema import EVENTS, LEDGER, PENDING, ensure_tables
from segwarehouse.landing.sources import BY_FOLDER

# our own work folder inside the landing zone (an erasure's rewritten files): never listed, never read
WORK_DIR = ".segwarehouse"
ACCEPTED = ("new", "changed", "loaded", "reloaded")
_PARTITION = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_COMPRESSED = (".gz", ".gzip", ".zip", ".bz2", ".xz", ".zst", ".zstd", ".lz4", ".snappy", ".7z", ".tar")
_SHOWN = 5  # files named per reason in messages

_COLUMNS = ("source_file", "source_name", "delivery_date", "size_bytes", "content_hash", "status", "reason",
            "loaded_hash", "first_seen_at", "changed_at", "scanned_at", "stat_key")
_EVENT_COLUMNS = ("event_at", "source_file", "event", "content_hash", "size_bytes", "reason")
_UPSERT = f"""
    insert into {LEDGER} ({", ".join(_COLUMNS)})
    select {", ".join(_COLUMNS)} from scanned_files
    on conflict (source_file) do update set
        source_name = excluded.source_name, delivery_date = excluded.delivery_date,
        size_bytes = excluded.size_bytes, content_hash = excluded.content_hash,
        status = excluded.status, reason = excluded.reason, scanned_at = excluded.scanned_at,
        stat_key = excluded.stat_key,
        changed_at = case when file_ledger.content_hash is distinct from excluded.content_hash
                or file_ledger.status <> excluded.status
              then excluded.scanned_at else file_ledger.changed_at end"""


class LedgerError(RuntimeError):
    """The landing zone cannot be scanned (its root is missing, a link, or unreadable)."""


@dataclass(frozen=True)
class Found:
    """One entry found under the landing zone and how it is classified."""

    source_file: str
    source_name: str | None
    delivery_date: date | None
    kind: str            # accepted | ignored | rejected
    reason: str | None
    size_bytes: int | None = None
    stat_key: str | None = None
    path: Path | None = None   # set for regular files (hashed)


@dataclass(frozen=True)
class ScanSummary:
    """Files per status after a scan, and the rows whose content changed since the previous scan."""

    files: int
    by_status: dict[str, int]
    hashed: int
    changed: list[str]

    def as_dict(self) -> dict:
        return {"files": self.files, "by_status": self.by_status, "hashed": self.hashed,
                "changed": self.changed[:_SHOWN], "n_changed": len(self.changed)}


def walk(root: Path) -> list[Found]:
    """Classify every entry under `root` (never following a link below it; the root itself is the configured
    location and may be one); files of WORK_DIR are skipped."""
    if not root.is_dir():
        raise LedgerError(f"the landing zone {root} does not exist or is not a folder")
    return sorted(_walk(root, ()), key=lambda f: f.source_file)


def _walk(folder: Path, parts: tuple[str, ...]) -> Iterator[Found]:
    try:
        entries = list(os.scandir(folder))
    except OSError as exc:
        yield _entry(parts or (".",), "rejected", f"folder cannot be read: {exc.strerror}")
        return
    for entry in entries:
        rel = (*parts, entry.name)
        if not parts and entry.name == WORK_DIR:
            continue
        if _CONTROL.search(entry.name):
            yield _entry(rel, "rejected", "name holds a control character (newline, tab, ...)")
        elif entry.is_symlink():
            yield _entry(rel, "rejected", "symbolic link: never followed (links may point outside the landing zone)")
        elif entry.name.startswith("."):
            yield _entry(rel, "ignored", "hidden entry (uploads in flight use hidden names)")
        elif entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path), rel)
        elif not entry.is_file(follow_symlinks=False):
            yield _entry(rel, "rejected", "not a regular file (a pipe, socket or device)")
        else:
            yield _classify_file(rel, Path(entry.path), entry.stat(follow_symlinks=False))


def _entry(rel: tuple[str, ...], kind: str, reason: str) -> Found:
    source = BY_FOLDER.get("/".join(rel[:2])) if len(rel) > 2 else None
    day = _partition_date(rel[2]) if source and len(rel) > 3 else None
    return Found("/".join(rel).rstrip("/"), source.name if source else None, day, kind, reason)


def _partition_date(name: str) -> date | None:
    match = _PARTITION.match(name)
    if not match:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


def _classify_file(rel: tuple[str, ...], path: Path, st: os.stat_result) -> Found:
    stat_key = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"
    source = BY_FOLDER.get("/".join(rel[:2])) if len(rel) > 2 else None
    day = _partition_date(rel[2]) if source and len(rel) > 3 else None
    name = rel[-1]

    def found(kind: str, reason: str | None) -> Found:
        return Found("/".join(rel), source.name if source else None, day, kind, reason, st.st_size, stat_key, path)

    if source is None:
        folders = ", ".join(sorted(BY_FOLDER))
        return found("ignored", f"not under a source folder ({folders})")
    if len(rel) == 3:
        return found("rejected", f"not in a date=YYYY-MM-DD partition of {source.folder}")
    if day is None:
        return found("rejected", f"bad partition folder name {rel[2]!r}: expected date=YYYY-MM-DD (a real date)")
    if len(rel) > 4:
        return found("rejected", f"nested folder inside partition {rel[2]}: files must sit directly in it")
    if name.startswith("_"):
        return found("ignored", "marker file (name starts with _)")
    lower = name.lower()
    if lower.endswith(_COMPRESSED):
        return found("rejected", f"compressed file: not read; deliver it uncompressed as *{source.extension}")
    if not lower.endswith(source.extension) or lower == source.extension:
        return found("rejected", f"unexpected file type: {source.folder} holds *{source.extension} files")
    return found("accepted", None)


def file_sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def scan(con: duckdb.DuckDBPyConnection, root: Path, *, workers: int = 2) -> ScanSummary:
    """Walk `root`, hash what changed, and write the ledger (one transaction). Returns what it found."""
    ensure_tables(con)
    found = walk(root)
    previous = {r[0]: r[1:] for r in con.execute(
        f"select source_file, content_hash, stat_key, status, loaded_hash, reason from {LEDGER}").fetchall()}
    to_hash = [f for f in found if f.path is not None and (f.source_file not in previous
               or previous[f.source_file][1] != f.stat_key or previous[f.source_file][0] is None)]
    hashes = _hash_all(to_hash, workers)
    now = datetime.now(UTC).replace(tzinfo=None)
    rows, events, changed = [], [], []
    seen = set()
    for f in found:
        seen.add(f.source_file)
        old = previous.get(f.source_file)
        content_hash = hashes.get(f.source_file) or (old[0] if old and f.path is not None else None)
        loaded_hash = old[3] if old else None
        if f.kind == "accepted":
            if loaded_hash is None:
                status, reason = "new", None
            elif loaded_hash == content_hash:
                status = old[2] if old[2] in ("loaded", "reloaded") else "loaded"
                reason = old[4] if status == old[2] else None
            else:
                status, reason = "changed", "content differs from the loaded version: it is parsed again"
        else:
            status, reason = f.kind, f.reason
        if old is None:
            events.append((now, f.source_file, "found" if f.kind == "accepted" else f.kind, content_hash,
                           f.size_bytes, reason))
        elif old[0] != content_hash and content_hash is not None:
            changed.append(f.source_file)
            events.append((now, f.source_file, "changed", content_hash, f.size_bytes, reason))
        elif old[2] == "missing":
            events.append((now, f.source_file, "returned", content_hash, f.size_bytes, reason))
        elif (old[2] in ACCEPTED) != (f.kind == "accepted") or (f.kind != "accepted" and old[4] != reason):
            events.append((now, f.source_file, f.kind if f.kind != "accepted" else "found", content_hash,
                           f.size_bytes, reason))
        rows.append((f.source_file, f.source_name, f.delivery_date, f.size_bytes, content_hash, status, reason,
                     loaded_hash, now, now, now, f.stat_key if f.path else None))
    gone = [(path, old) for path, old in previous.items() if path not in seen]
    con.execute("begin transaction")
    try:
        if rows:
            con.register("scanned_files", _table(rows, _COLUMNS))
            con.execute(_UPSERT)
            con.unregister("scanned_files")
        for path, old in gone:
            if old[2] != "missing":
                reason = ("no longer in the landing zone: its lines stay in the warehouse until a full refresh"
                          if old[3] else "no longer in the landing zone")
                con.execute(f"update {LEDGER} set status = 'missing', reason = ?, changed_at = ?, scanned_at = ? "
                            "where source_file = ?", [reason, now, now, path])
                events.append((now, path, "missing", old[0], None, reason))
        _insert_events(con, events)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    by_status: dict[str, int] = {}
    for (status, n) in con.execute(f"select status, count(*) from {LEDGER} group by status").fetchall():
        by_status[status] = int(n)
    return ScanSummary(files=len(found), by_status=by_status, hashed=len(hashes), changed=changed)


def _table(rows: list[tuple], columns: tuple[str, ...]) -> pa.Table:
    """Rows as an Arrow table, for one set-based insert (executemany costs a statement per row)."""
    return pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)})


def _insert_events(con: duckdb.DuckDBPyConnection, events: list[tuple]) -> None:
    if events:
        con.register("ledger_events", _table(events, _EVENT_COLUMNS))
        con.execute(f"insert into {EVENTS} ({', '.join(_EVENT_COLUMNS)}) select * from ledger_events")
        con.unregister("ledger_events")


def _hash_all(files: list[Found], workers: int) -> dict[str, str]:
    """SHA-256 of each file (threads: hashlib releases the GIL while hashing)."""
    if not files:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        digests = pool.map(lambda f: file_sha256(f.path), files)
        return {f.source_file: d for f, d in zip(files, digests, strict=True)}


def full_refresh_reasons(con: duckdb.DuckDBPyConnection, as_of: date, lookback_days: int) -> list[str]:
    """Why an incremental build as of `as_of` would give another warehouse than a full one (none: it won't).

    * a full refresh that started earlier did not finish (the models after it are stale);
    * the warehouse holds deliveries after `as_of` (a past day is re-run): rebuilt as of that day;
    * files new or changed in partitions before the incremental window (the latest loaded delivery minus
      `lookback_days`), which the incremental models do not re-read.
    """
    ensure_tables(con)
    reasons = [f"a full refresh as of {d} started at {at:%Y-%m-%d %H:%M:%S} did not finish ({why})"
               for d, why, at in con.execute(f"select as_of_date, reason, set_at from {PENDING}").fetchall()]
    later = con.execute(
        f"""select max(delivery_date), count(*) from {LEDGER}
            where loaded_hash is not null and delivery_date > ?""", [as_of]).fetchone()
    if later[1]:
        reasons.append(f"the warehouse holds {later[1]} file(s) delivered after {as_of} (up to {later[0]}): "
                       f"rebuilding it from the deliveries up to {as_of}")
    latest = con.execute(f"select max(delivery_date) from {LEDGER} where loaded_hash is not null").fetchone()[0]
    if latest is not None:
        window = min(latest, as_of) - timedelta(days=lookback_days)
        old = [r[0] for r in con.execute(
            f"""select source_file from {LEDGER}
                where status in ('new', 'changed') and delivery_date < ? order by source_file""",
            [window]).fetchall()]
        if old:
            reasons.append(f"{len(old)} new or changed file(s) in partitions before {window} (the latest loaded "
                           f"delivery {latest} minus the {lookback_days}-day lookback): "
                           + ", ".join(old[:_SHOWN]) + (", ..." if len(old) > _SHOWN else ""))
    return reasons


def set_pending(con: duckdb.DuckDBPyConnection, as_of: date, reasons: Iterable[str]) -> None:
    ensure_tables(con)
    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute(f"delete from {PENDING}")
    con.executemany(f"insert into {PENDING} values (?, ?, ?)", [(as_of, r[:500], now) for r in reasons])


def clear_pending(con: duckdb.DuckDBPyConnection) -> None:
    ensure_tables(con)
    con.execute(f"delete from {PENDING}")


def mark_loaded(con: duckdb.DuckDBPyConnection, source_names: Iterable[str], as_of: date, *,
                full_refresh: bool) -> int:
    """Record that the warehouse now holds the accepted files of `source_names` delivered up to `as_of`.

    Call after dbt built those sources' base models. A full refresh also forgets what it dropped: files
    delivered after `as_of` and files that are gone. Returns the number of files loaded or re-loaded.
    """
    names = sorted(set(source_names))
    if not names:
        return 0
    ensure_tables(con)
    now = datetime.now(UTC).replace(tzinfo=None)
    todo = "" if full_refresh else "and loaded_hash is distinct from content_hash"
    which = f"""source_name in (select unnest(?::varchar[])) and status in ('new', 'changed', 'loaded', 'reloaded')
                and delivery_date <= ? {todo}"""
    event = "case when loaded_hash is not null and loaded_hash <> content_hash then 'reloaded' else 'loaded' end"
    con.execute("begin transaction")
    try:
        loaded = con.execute(f"select source_file, content_hash, size_bytes, {event} from {LEDGER} where {which}",
                             [names, as_of]).fetchall()
        con.execute(
            f"""update {LEDGER} set status = {event}, loaded_hash = content_hash, loaded_at = ?, changed_at = ?,
                    reason = case when {event} = 'reloaded' then 'content changed: parsed again, its lines replaced' end
                where {which}""", [now, now, names, as_of])
        _insert_events(con, [(now, path, ev, h, size, None) for path, h, size, ev in loaded])
        if full_refresh:
            con.execute(
                f"""update {LEDGER} set loaded_hash = null, loaded_at = null,
                        status = case when status = 'missing' then status else 'new' end
                    where source_name in (select unnest(?::varchar[])) and loaded_hash is not null
                      and (status = 'missing' or delivery_date > ?)""", [names, as_of])
        con.execute(
            f"""update {LEDGER} set reason = 'delivered after the warehouse''s as_of_date ' || ?::varchar
                    || ': not loaded yet'
                where source_name in (select unnest(?::varchar[])) and status = 'new' and delivery_date > ?""",
            [as_of, names, as_of])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return len(loaded)


def rows(con: duckdb.DuckDBPyConnection, statuses: Iterable[str] | None = None) -> list[dict]:
    """Ledger rows (all, or those with one of `statuses`) as dicts, by path."""
    ensure_tables(con)
    where = "" if statuses is None else "where status in (select unnest(?::varchar[]))"
    params = [] if statuses is None else [list(statuses)]
    cur = con.execute(f"select * from {LEDGER} {where} order by source_file", params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
