"""Which sources a deployment delivers: declared in `config/sources.yml`, else detected in the landing zone.

A deployment may have any subset of CRM contacts, web events and shop orders (docs/own-data.md). The answer
is recorded in `landing.declared_sources` on every scan, and everything downstream reads it from there: the
landing check requires only delivered sources that land daily, the gate skips the suites of sources not
delivered, the ML stage picks its default features from the columns that are populated.

`config/sources.yml` (every key optional):

    sources: [contacts, orders]   # delivered sources (contacts | events | orders); default: detected
    daily: []                     # sources that must land every delivery day; default: [events] if delivered
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from segwarehouse.landing.schema import SCHEMA
from segwarehouse.landing.sources import SOURCES

DECLARED = f"{SCHEMA}.declared_sources"
# a delivered source and the landing-zone sources it is made of (order lines come with the orders)
SOURCE_GROUPS: dict[str, tuple[str, ...]] = {
    "contacts": ("contacts",),
    "events": ("events",),
    "orders": ("orders", "order_items"),
}
DEFAULT_DAILY = ("events",)  # web analytics lands every day; CRM and shop files only when there is activity
_KEYS = {"sources", "daily"}


class SourcesConfigError(ValueError):
    """config/sources.yml is not what docs/own-data.md describes: names the file, key and what is allowed."""


@dataclass(frozen=True)
class SourceDeclaration:
    """What a deployment delivers and where that came from (`config` file or `detected`)."""

    delivered: tuple[str, ...]
    daily: tuple[str, ...]
    origin: str
    config_path: str | None = None

    def landing_sources(self) -> tuple[str, ...]:
        """The landing-zone source keys of the delivered sources (orders -> orders, order_items)."""
        return tuple(s for group in self.delivered for s in SOURCE_GROUPS[group])

    def as_dict(self) -> dict:
        return asdict(self)


def _names(value: object, key: str, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SourcesConfigError(f"{path}: `{key}` must be a list of source names ({', '.join(SOURCE_GROUPS)})")
    unknown = [v for v in value if v not in SOURCE_GROUPS]
    if unknown:
        raise SourcesConfigError(f"{path}: `{key}` names unknown source(s) {unknown}; known: {list(SOURCE_GROUPS)}")
    return tuple(dict.fromkeys(value))


def read_config(path: Path) -> dict[str, tuple[str, ...]]:
    """The keys config/sources.yml sets ({} when the file does not exist)."""
    import yaml

    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise SourcesConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SourcesConfigError(f"{path}: expected a mapping with keys {sorted(_KEYS)}")
    unknown = set(data) - _KEYS
    if unknown:
        raise SourcesConfigError(f"{path}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    out = {key: _names(data[key], key, path) for key in _KEYS if key in data}
    if not out.get("sources", True):
        raise SourcesConfigError(f"{path}: `sources` is empty: a deployment delivers at least one source")
    return out


def detect(raw: Path) -> tuple[str, ...]:
    """Sources with at least one data file in some delivery partition of the landing zone (links not counted)."""
    found = []
    for group, keys in SOURCE_GROUPS.items():
        source = SOURCES[keys[0]]
        folder = raw / source.folder
        if folder.is_dir() and any(f.is_file() and not f.is_symlink()
                                   for f in folder.glob(f"date=*/*{source.extension}")):
            found.append(group)
    return tuple(found)


def declaration(raw: Path, config_path: Path) -> SourceDeclaration:
    """The deployment's sources: `sources` of the config file, else those detected under `raw`."""
    config = read_config(config_path)
    if "sources" in config:
        delivered, origin = config["sources"], "config"
    else:
        delivered, origin = detect(raw), "detected"
    daily = config.get("daily", tuple(s for s in DEFAULT_DAILY if s in delivered))
    not_delivered = [s for s in daily if s not in delivered]
    if not_delivered:
        raise SourcesConfigError(f"{config_path}: `daily` names {not_delivered}, which `sources` does not deliver")
    return SourceDeclaration(delivered, daily, origin, str(config_path) if config else None)


def record(con: duckdb.DuckDBPyConnection, decl: SourceDeclaration) -> None:
    """Replace `landing.declared_sources`: one row per source, delivered or not."""
    con.execute(f"create schema if not exists {SCHEMA}")
    con.execute(f"""create table if not exists {DECLARED} (
        source varchar primary key, delivered boolean not null, daily boolean not null, origin varchar not null,
        landing_sources varchar[] not null, recorded_at timestamp not null)""")
    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute(f"delete from {DECLARED}")
    con.executemany(f"insert into {DECLARED} values (?, ?, ?, ?, ?, ?)", [
        [group, group in decl.delivered, group in decl.daily, decl.origin, list(keys), now]
        for group, keys in SOURCE_GROUPS.items()])


def recorded(con: duckdb.DuckDBPyConnection) -> tuple[str, ...] | None:
    """The delivered sources of the last scan (None: no scan recorded them yet)."""
    exists = con.execute("select count(*) from information_schema.tables where table_schema = ? "
                         "and table_name = 'declared_sources'", [SCHEMA]).fetchall()[0][0]
    if not exists:
        return None
    return tuple(r[0] for r in con.execute(f"select source from {DECLARED} where delivered order by source").fetchall())
