"""Keeps the index of the current serving file, and swaps in a new one after every publish.

A publish replaces the serving file with one atomic rename (segwarehouse/publish.py). A watcher thread
stats the path every `interval` seconds; when the file behind it changed (inode, size or mtime), it builds
a complete index of the new file and then swaps the reference in one assignment. Requests always read one
complete index, old or new: nothing fails during a publish, and a file that cannot be read (a publish of an
older layout, a damaged copy) leaves the previous index serving and is reported by `/readyz`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from segwarehouse.api.index import PersonIndex

log = logging.getLogger(__name__)


def file_signature(path: Path) -> tuple | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class ServingStore:
    def __init__(self, serving: str | Path, interval: float = 0.5) -> None:
        self.serving = Path(serving)
        self.interval = interval
        self.index: PersonIndex | None = None
        self.last_error: str | None = f"{self.serving}: not loaded yet"
        self.loads = 0
        self._failed_signature: tuple | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> bool:
        """Load the serving file if it changed since the current index; True when a new index was swapped in."""
        signature = file_signature(self.serving)
        if signature is None:
            if self.index is None:
                self.last_error = f"serving file {self.serving} does not exist yet (nothing published)"
            return False
        if self.index is not None and self.index.signature == signature:
            return False
        if signature == self._failed_signature:
            return False  # the same unreadable file: wait for the next publish
        try:
            index = PersonIndex.load(self.serving, signature)
        except Exception as exc:
            self._failed_signature = signature
            self.last_error = f"cannot read {self.serving}: {type(exc).__name__}: {exc}"
            log.error("segment API: %s; still serving the previous publish", self.last_error)
            return False
        # the file may have been replaced while it was read: the next poll sees the new signature and reloads
        self.index = index
        self.last_error = None
        self.loads += 1
        log.info("segment API: loaded %s (%d persons, %d keys) in %.2fs", self.serving, index.persons, index.keys,
                 index.build_seconds)
        return True

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="serving-watcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _watch(self) -> None:
        try:  # Linux: a thread has its own nice value; building an index yields the CPU to requests
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except (AttributeError, OSError):
            pass
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.refresh()
            except Exception:  # never let the watcher die; the error is in last_error or the log
                log.exception("segment API: watcher error")
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))
