"""The warehouse writer lock across processes: one holder at a time, freed when its holder dies, named on timeout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from segwarehouse.core.paths import Paths
from segwarehouse.core.writer_lock import WriterLockTimeout, lock_path, writer_lock

HOLD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from segwarehouse.core.paths import Paths
    from segwarehouse.core.writer_lock import writer_lock
    paths = Paths(home=Path(sys.argv[1]), data=Path(sys.argv[2]))
    with writer_lock(sys.argv[3], paths):
        print("held", flush=True)
        time.sleep(float(sys.argv[4]))
    print("released", time.time(), flush=True)
""")


def _holder(paths: Paths, name: str, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(paths.home), str(paths.data), name, str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.fixture
def paths(tmp_path) -> Paths:
    return Paths(home=Path(__file__).resolve().parents[2], data=tmp_path / "data")


def test_a_second_writer_waits_until_the_first_releases(paths):
    first = _holder(paths, "warehouse day 2026-03-01", 1.5)
    with writer_lock("score", paths, poll=0.05):
        entered = time.time()
    released = float(first.stdout.readline().split()[1])
    first.wait()
    assert entered >= released


def test_a_killed_holder_frees_the_lock_at_once(paths):
    holder = _holder(paths, "a build killed by the OOM killer", 600)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    t0 = time.monotonic()
    with writer_lock("next", paths, timeout=5, poll=0.05):
        assert time.monotonic() - t0 < 2
    assert lock_path(paths).exists()


def test_timeout_names_the_holder_and_the_setting(paths):
    holder = _holder(paths, "warehouse day 2026-03-02 backfill__x", 30)
    try:
        with pytest.raises(WriterLockTimeout, match=r"held by warehouse day 2026-03-02 backfill__x pid=\d+ after 1 s "
                                                    r"\(SEGWAREHOUSE_WRITER_LOCK_TIMEOUT\)"):
            with writer_lock("score", paths, timeout=1, poll=0.05):
                pass
    finally:
        holder.kill()
        holder.wait()


def test_reentrant_in_one_thread(paths):
    with writer_lock("run_day", paths, timeout=1):
        with writer_lock("build", paths, timeout=1):  # a composed step calling a stage that locks too
            pass
        with writer_lock("gate", paths, timeout=1):
            pass
