"""What landed for a delivery day: files per source, checked before the warehouse runs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from .generator import SOURCES
from .paths import Paths

REQUIRED_SOURCES = ("events",)  # web analytics lands every day; CRM and shop files only when there is activity


class LandingError(RuntimeError):
    """The day's files are not (completely) there: names the folder that is missing or empty."""


@dataclass(frozen=True)
class LandedDay:
    day: str
    files: dict[str, int]
    bytes: dict[str, int]

    def as_dict(self) -> dict:
        return asdict(self)


def partition_dir(paths: Paths, source: str, day: date) -> Path:
    folder, _ = SOURCES[source]
    return paths.raw / folder / f"date={day.isoformat()}"


def check_landing(paths: Paths, day: date) -> LandedDay:
    """Count the day's files per source; raise LandingError when a required source has none or is empty."""
    files: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for source, (_, name) in SOURCES.items():
        folder = partition_dir(paths, source, day)
        found = sorted(folder.glob(f"*{Path(name).suffix}")) if folder.is_dir() else []
        files[source] = len(found)
        sizes[source] = sum(f.stat().st_size for f in found)
        if source in REQUIRED_SOURCES:
            if not found:
                raise LandingError(f"no {source} files for {day}: expected {folder}/*{Path(name).suffix}")
            empty = [f.name for f in found if f.stat().st_size == 0]
            if empty:
                raise LandingError(f"empty {source} file(s) for {day} in {folder}: {', '.join(empty)}")
    return LandedDay(day.isoformat(), files, sizes)
