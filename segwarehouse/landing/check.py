"""What landed for a delivery day: files per source, checked before the warehouse runs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from segwarehouse.core.paths import Paths
from segwarehouse.landing.declared import SOURCE_GROUPS, declaration, detect
from segwarehouse.landing.sources import SOURCES


class LandingError(RuntimeError):
    """The day's files are not (completely) there: names the folder that is missing or empty."""


@dataclass(frozen=True)
class LandedDay:
    day: str
    files: dict[str, int]
    bytes: dict[str, int]
    delivered: tuple[str, ...] = ()  # the deployment's sources (landing.declared)
    required: tuple[str, ...] = ()   # those that must land every day

    def as_dict(self) -> dict:
        return asdict(self)


def partition_dir(paths: Paths, source: str, day: date) -> Path:
    return paths.raw / SOURCES[source].folder / f"date={day.isoformat()}"


def check_landing(paths: Paths, day: date) -> LandedDay:
    """Count the day's files per source; raise LandingError when a required source has none or is empty.

    Required are the delivered sources that land daily (config/sources.yml, else detected: web events when
    there are any); a source the config declares but the landing zone has never received fails too.
    Symbolic links are not counted: the warehouse never reads them (segwarehouse.landing.ledger).
    """
    decl = declaration(paths.raw, paths.sources_config)
    if decl.origin == "config":
        never = [s for s in decl.delivered if s not in detect(paths.raw)]
        if never:
            raise LandingError(f"{decl.config_path} declares {never} but the landing zone {paths.raw} holds no "
                               f"file of {'it' if len(never) == 1 else 'them'}: deliver the files or remove "
                               "the source from the declaration")
    required = {s for group in decl.daily for s in SOURCE_GROUPS[group][:1]}
    files: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for key, source in SOURCES.items():
        folder = partition_dir(paths, key, day)
        found = [] if not folder.is_dir() or folder.is_symlink() else sorted(
            f for f in folder.glob(f"*{source.extension}") if f.is_file() and not f.is_symlink())
        files[key] = len(found)
        sizes[key] = sum(f.stat().st_size for f in found)
        if key in required:
            if not found:
                raise LandingError(f"no {key} files for {day}: expected {folder}/*{source.extension}")
            empty = [f.name for f in found if f.stat().st_size == 0]
            if empty:
                raise LandingError(f"empty {key} file(s) for {day} in {folder}: {', '.join(empty)}")
    return LandedDay(day.isoformat(), files, sizes, decl.delivered, decl.daily)
