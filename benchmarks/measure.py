"""Wall time and peak RSS of a command's whole process tree (sampled), for the benchmarks."""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from dataclasses import dataclass

import psutil


@dataclass
class Measurement:
    name: str
    seconds: float
    peak_rss_mb: float
    rows: int | None = None
    cpu_seconds: float | None = None  # user + system CPU of the whole process tree (robust to other load)
    load_avg: float | None = None  # 1-minute load average when the stage ended (> cores: shared machine)
    output: str = ""  # the command's stdout + stderr (not reported; stages parse what they need from it)
    runs: list[float] | None = None  # wall seconds of every run when the stage was repeated (seconds = median)

    @property
    def rows_per_s(self) -> float | None:
        return round(self.rows / self.seconds) if self.rows and self.seconds else None

    def as_dict(self) -> dict:
        return {"stage": self.name, "seconds": round(self.seconds, 2), "peak_rss_mb": round(self.peak_rss_mb),
                "rows": self.rows, "rows_per_s": self.rows_per_s,
                "cpu_seconds": None if self.cpu_seconds is None else round(self.cpu_seconds, 1),
                "load_avg": None if self.load_avg is None else round(self.load_avg, 1),
                "runs": None if self.runs is None else [round(r, 2) for r in self.runs]}


def median_of(runs: list[Measurement]) -> Measurement:
    """One measurement for repeated runs of a stage: the run with the median wall time (its CPU, load and
    output), the largest peak RSS of all runs, and every run's wall time in `runs`."""
    if not runs:
        raise ValueError("no runs to summarize")
    ordered = sorted(runs, key=lambda m: m.seconds)
    mid = ordered[(len(ordered) - 1) // 2]
    return Measurement(mid.name, mid.seconds, max(m.peak_rss_mb for m in runs), rows=mid.rows,
                       cpu_seconds=mid.cpu_seconds, load_avg=mid.load_avg, output=mid.output,
                       runs=[m.seconds for m in runs] if len(runs) > 1 else None)


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_measured(name: str, cmd: list[str], env: dict[str, str] | None = None, interval: float = 0.1) -> Measurement:
    """Run `cmd`, sampling the RSS of it and all its children; raise with its output if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        try:
            ps = psutil.Process(proc.pid)
            while not stop.is_set():
                peak = max(peak, _tree_rss(ps))
                time.sleep(interval)
        except psutil.Error:
            pass

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    stop.set()
    sampler.join()
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise RuntimeError(f"benchmark stage {name} failed ({proc.returncode}):\n{out[-4000:]}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return Measurement(name, seconds, peak / 2**20, cpu_seconds=cpu, load_avg=os.getloadavg()[0], output=out)
