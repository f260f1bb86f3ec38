"""What landed for a delivery day: files per source, checked before the warehouse runs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from segwarehouse.core.paths import Paths
from segwarehouse.landing.sources import SOURCES

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
    return paths.raw / SOURCES[source].folder / f"date={day.isoformat()}"


def check_landing(paths: Paths, day: date) -> LandedDay:
    """Count the day's files per source; raise LandingError when a required source has none or is empty.

    Symbolic links are not counted: the warehouse never reads them (segwarehouse.landing.ledger).
    """
    files: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for key, source in SOURCES.items():
        folder = partition_dir(paths, key, day)
        found = [] if not folder.is_dir() or folder.is_symlink() else sorted(
            f for f in folder.glob(f"*{source.extension}") if f.is_file() and not f.is_symlink())
        files[key] = len(found)
        sizes[key] = sum(f.stat().st_size for f in found)
        if key in REQUIRED_SOURCES:
            if not found:
                raise LandingError(f"no {key} files for {day}: expected {folder}/*{source.extension}")
            empty = [f.name for f in found if f.stat().st_size == 0]
            if empty:
                raise LandingError(f"empty {key} file(s) for {day} in {folder}: {', '.join(empty)}")
    return LandedDay(day.isoformat(), files, sizes)
