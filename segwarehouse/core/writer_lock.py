"""One writer at a time across processes: an exclusive `flock` on a file next to the warehouse.

Every write path (a day's build -> gate -> publish, scoring, retraining, erasure, the CLI's writing commands)
runs inside `writer_lock`, whatever started it (the scheduler, `airflow dags test`, the CLI), so a day's
build, gate and publish are one critical section that nothing else interleaves with. The kernel releases the
lock when the holding process exits however it exits (exception, SIGKILL, OOM), so a dead writer never leaves
a stale lock. Re-entrant within one thread: a composed step may call stages that take the lock themselves.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from segwarehouse.core.paths import Paths, get_paths

log = logging.getLogger(__name__)

_HELD: dict[tuple[Path, int], int] = {}  # (lock file, thread id) -> nesting depth


class WriterLockTimeout(TimeoutError):
    """The lock stayed held by another writer for longer than the caller would wait."""


def lock_path(paths: Paths) -> Path:
    return paths.warehouse.parent / "writer.lock"


def lock_holder(paths: Paths) -> str | None:
    """Who holds (or last held) the lock, as written by its holder; for messages and humans."""
    owner = lock_path(paths).with_suffix(".owner")
    return owner.read_text().strip() if owner.exists() else None


def _timeout() -> float:
    return float(os.environ.get("SEGWAREHOUSE_WRITER_LOCK_TIMEOUT", "3600"))


@contextmanager
def writer_lock(holder: str, paths: Paths | None = None, *, timeout: float | None = None,
                poll: float = 1.0) -> Iterator[None]:
    """Hold the warehouse writer lock for the block; wait up to `timeout` s (SEGWAREHOUSE_WRITER_LOCK_TIMEOUT,
    default 3600) for another writer, then raise WriterLockTimeout naming the holder."""
    paths = paths or get_paths()
    path = lock_path(paths).resolve()
    key = (path, threading.get_ident())
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    timeout = _timeout() if timeout is None else timeout
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    t0 = time.monotonic()
    announced = False
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - t0
                if waited >= timeout:
                    raise WriterLockTimeout(f"warehouse writer lock {path} still held by "
                                            f"{lock_holder(paths) or 'unknown'} after {waited:.0f} s "
                                            "(SEGWAREHOUSE_WRITER_LOCK_TIMEOUT)") from None
                if not announced:
                    log.info("%s waits for the warehouse writer lock %s, held by %s", holder, path,
                             lock_holder(paths) or "unknown")
                    announced = True
                time.sleep(poll)
        path.with_suffix(".owner").write_text(f"{holder} pid={os.getpid()}\n")
        if announced:
            log.info("%s took the writer lock after %.0f s", holder, time.monotonic() - t0)
        _HELD[key] = 1
        try:
            yield
        finally:
            del _HELD[key]
    finally:
        os.close(fd)
