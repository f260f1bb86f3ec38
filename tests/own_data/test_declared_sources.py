"""Which sources a deployment delivers: detected in the landing zone or declared in config/sources.yml, and the
landing check that follows from it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from segwarehouse.core.paths import Paths
from segwarehouse.landing import LandingError, check_landing
from segwarehouse.landing.declared import SourcesConfigError, declaration

DAY = date(2026, 3, 1)


def _land(raw: Path, folder: str, name: str, day: date = DAY, text: str = "x\n") -> None:
    path = raw / folder / f"date={day}" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def zone(tmp_path, monkeypatch) -> Paths:
    monkeypatch.setenv("SEGWAREHOUSE_SOURCES_CONFIG", str(tmp_path / "sources.yml"))
    return Paths(home=Path(__file__).resolve().parents[2], data=tmp_path / "data")


def test_transactions_only_zone_needs_no_web_events(zone):
    _land(zone.raw, "shop/orders", "orders.csv")
    decl = declaration(zone.raw, zone.sources_config)
    assert decl.delivered == ("orders",)
    assert decl.daily == ()
    assert decl.origin == "detected"
    landed = check_landing(zone, DAY)
    assert landed.files["orders"] == 1
    assert landed.files["events"] == 0
    assert landed.required == ()
    # a quiet shop day (no orders file) is not an error either: shop files land only when there are orders
    assert check_landing(zone, date(2026, 3, 2)).files["orders"] == 0


def test_web_events_detected_are_required_daily(zone):
    _land(zone.raw, "web/events", "events.jsonl")
    assert check_landing(zone, DAY).required == ("events",)
    with pytest.raises(LandingError, match="no events files for 2026-03-02"):
        check_landing(zone, date(2026, 3, 2))


def test_declared_sources_override_detection(zone):
    _land(zone.raw, "web/events", "events.jsonl")
    _land(zone.raw, "shop/orders", "orders.csv")
    zone.sources_config.write_text("sources: [orders]\n")  # web files are a leftover: not this deployment's
    decl = declaration(zone.raw, zone.sources_config)
    assert decl.delivered == ("orders",)
    assert decl.origin == "config"
    assert decl.landing_sources() == (
        "orders", "order_items")
    assert check_landing(zone, date(2026, 3, 2)).required == ()
    zone.sources_config.write_text("sources: [orders, contacts]\ndaily: [orders]\n")
    with pytest.raises(LandingError, match=r"declares \['contacts'\] but the landing zone .* holds no file"):
        check_landing(zone, DAY)


@pytest.mark.parametrize(("text", "match"), [
    ("sources: [orders, clicks]\n", r"unknown source\(s\) \['clicks'\]"),
    ("sources: []\n", "delivers at least one source"),
    ("sources: orders\n", "must be a list"),
    ("sources: [orders]\ndaily: [events]\n", r"`daily` names \['events'\], which `sources` does not deliver"),
    ("source: [orders]\n", r"unknown key\(s\) \['source'\]"),
])
def test_bad_declaration_names_file_and_key(zone, text, match):
    zone.sources_config.write_text(text)
    with pytest.raises(SourcesConfigError, match=match):
        declaration(zone.raw, zone.sources_config)
