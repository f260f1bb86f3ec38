"""Property test: random landing zones with good, bad, duplicate, late, renamed, compressed, hidden and linked
files; the real dbt build and the real erasure run on each.

Invariants:
* every entry under the landing zone is in the file ledger with a status (links, compressed and misplaced
  files rejected, hidden ones ignored); nothing from outside the zone or from a rejected file is read;
* every line of every accepted file is accounted for: one base row per data line (an empty file: one row);
* erasing a person removes exactly the lines that carry their identifiers, in every copy of a file, and
  touches nothing else; when a copy the warehouse cannot read (compressed, hidden) holds them, the erasure
  fails naming it and leaves the landing zone as it was.

The persons' e-mails and ids are look-alikes of each other (an@, joan@, jan@; C1, C12), which substring
matching confuses. To keep an example to seconds, the build covers the models an erasure needs (staging,
quarantine, audit, identity: dbt's own selection with the data tests) and the erasure's gate and publish are
the identity: the full pipeline's erasure is tested in tests/privacy.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from segwarehouse.core.paths import Paths
from segwarehouse.privacy import ErasureError, Stages, erase_person
from segwarehouse.warehouse.dbt import run_dbt

pytestmark = pytest.mark.slow

SELECT = ["+int_person_map", "+person_id_history", "+int_source_load_audit", "+int_quarantine_rows"]
DAYS = ["2026-01-01", "2026-01-02", "2026-01-03"]
EMAILS = ["an@x.org", "joan@x.org", "jan@x.org", "ann@x.org"]
IDS = ["C1", "C12", "C2", "C21"]
CONTACTS = ("customer_id,email,phone,first_name,last_name,birth_date,gender,city,country,signup_at,"
            "marketing_consent,loyalty_tier,income_bracket,interests,updated_at")
ORDERS = "order_id,customer_id,email,ordered_at,currency,amount,status,store_channel,updated_at"
ITEMS = "order_id,line_number,product_id,category,quantity,unit_price"
HOME = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Line:
    text: str
    person: int | None  # whose identifiers it carries (None: nobody's)
    is_header: bool = False


def _ts(day: str) -> str:
    return f"{day}T10:00:00+00:00"


@st.composite
def zones(draw):
    n = draw(st.integers(2, 4))
    emails = draw(st.permutations(EMAILS))[:n]
    ids = draw(st.permutations(IDS))[:n]
    files: dict[str, list[Line]] = {}

    def put(path: str, header: str | None, line: Line) -> None:
        files.setdefault(path, [Line(header, None, is_header=True)] if header else []).append(line)

    for i in range(n):
        day = draw(st.sampled_from(DAYS))
        put(f"crm/contacts/date={day}/contacts.csv", CONTACTS, Line(",".join(
            [ids[i], emails[i], f"+49 30 55{i:05d}", "Ann", "Lee", "1980-01-01", "F", "Rome", "IT", _ts(day), "true",
             "gold", "", "", _ts(day)]), i))
        for k in range(draw(st.integers(0, 2))):
            oday = draw(st.sampled_from(DAYS))
            order = f"O-{ids[i]}-{k}"
            put(f"shop/orders/date={oday}/orders.csv", ORDERS,
                Line(f"{order},{ids[i]},{emails[i]},{_ts(oday)},EUR,10.00,completed,web,{_ts(oday)}", i))
            put(f"shop/order_items/date={oday}/order_items.csv", ITEMS, Line(f"{order},1,P1,tech,1,10.00", i))
        for k in range(draw(st.integers(0, 3))):
            eday = draw(st.sampled_from(DAYS))
            event = {"event_id": f"e-{ids[i]}-{k}", "anonymous_id": f"anon-{ids[i]}", "event_type": "page_view",
                     "page_url": "/", "device": "mobile", "channel": "direct", "event_at": _ts(eday)}
            if k == 0:
                event.update(event_type="login", user_id=ids[i])
            put(f"web/events/date={eday}/events.jsonl", None, Line(json.dumps(event), i))
        if draw(st.booleans()):  # a malformed line of theirs: quarantined, still theirs
            put(f"crm/contacts/date={day}/contacts.csv", CONTACTS, Line(f"{ids[i]},{emails[i]},broken", i))
    put(f"web/events/date={DAYS[-1]}/events.jsonl", None, Line(json.dumps(
        {"event_id": "e-nobody", "anonymous_id": "anon-nobody", "event_type": "page_view", "page_url": "/",
         "device": "mobile", "channel": "direct", "event_at": _ts(DAYS[-1])}), None))
    extras = draw(st.lists(st.sampled_from(["duplicate", "renamed", "gzip", "hidden", "link", "empty", "blank"]),
                           max_size=4, unique=True))
    return n, emails, ids, files, extras


def _write(raw: Path, outside: Path, files: dict[str, list[Line]], extras: list[str]) -> dict[str, list[Line]]:
    """Write the zone; return the accepted files' lines (copies included) by path."""
    accepted = dict(files)
    events = sorted(p for p in files if p.startswith("web/events"))
    for path, lines in files.items():
        (raw / path).parent.mkdir(parents=True, exist_ok=True)
        (raw / path).write_text("\n".join(line.text for line in lines) + "\n")
    first = events[0]
    for extra in extras:
        folder = (raw / first).parent
        if extra == "duplicate":  # the same export delivered twice under another name
            accepted[f"{first[:-len('events.jsonl')]}events_again.jsonl"] = files[first]
            (folder / "events_again.jsonl").write_bytes((raw / first).read_bytes())
        elif extra == "renamed":  # re-delivered a day later
            target = f"web/events/date={DAYS[-1]}/redelivered.jsonl"
            (raw / target).parent.mkdir(parents=True, exist_ok=True)
            (raw / target).write_bytes((raw / first).read_bytes())
            accepted[target] = files[first]
        elif extra == "gzip":
            (folder / "events.jsonl.gz").write_bytes(gzip.compress((raw / first).read_bytes()))
        elif extra == "hidden":
            (folder / ".events.jsonl.uploading").write_bytes((raw / first).read_bytes())
        elif extra == "link":
            target = outside / "outside.jsonl"
            target.write_text(json.dumps({"event_id": "e-OUTSIDE", "anonymous_id": "anon-outside",
                                          "event_type": "page_view", "event_at": _ts(DAYS[0])}) + "\n")
            (folder / "linked.jsonl").symlink_to(target)
        elif extra == "empty":
            (folder / "empty.jsonl").write_bytes(b"")
            accepted[f"{first[:-len('events.jsonl')]}empty.jsonl"] = []
        elif extra == "blank":
            (folder / "blank.jsonl").write_bytes(b"\n\n")
            accepted[f"{first[:-len('events.jsonl')]}blank.jsonl"] = []
    return accepted


def _build(paths: Paths, *, full_refresh: bool = False) -> None:
    run_dbt(["build", *(["--full-refresh"] if full_refresh else []), "--select", *SELECT,
             "--indirect-selection", "cautious", "--exclude-resource-type", "unit_test"],
            paths=paths, vars={"as_of_date": DAYS[-1]})


BASE = {"crm/contacts": "base_crm__contact_lines", "web/events": "base_web__event_lines",
        "shop/orders": "base_shop__order_lines", "shop/order_items": "base_shop__order_item_lines"}


# a fixed set of examples (derandomize) so CI is repeatable; no shrinking: an example costs seconds of dbt,
# and the failing example is printed as drawn
@settings(max_examples=5, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(zone=zones(), victim=st.integers(0, 3))
def test_every_file_and_line_is_accounted_for_and_erasure_removes_exactly_the_persons_lines(
        zone, victim, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SEGWAREHOUSE_PII_KEY", "property-tests-only-key")
    n, emails, _, files, extras = zone
    victim %= n
    root = tmp_path_factory.mktemp("zone")
    raw, outside = root / "data" / "raw", root / "outside"
    raw.mkdir(parents=True)
    outside.mkdir()
    accepted = _write(raw, outside, files, extras)
    paths = Paths(home=HOME, data=root / "data")
    run_dbt(["seed"], paths=paths)
    _build(paths)

    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        ledger = dict(con.execute("select source_file, status from landing.file_ledger").fetchall())
        on_disk = {str(p.relative_to(raw)) for p in raw.rglob("*")
                   if (p.is_file() or p.is_symlink()) and ".segwarehouse" not in p.parts}
        assert set(ledger) == on_disk
        assert {f for f in accepted} == {f for f, s in ledger.items() if s in ("loaded", "reloaded")}
        for path, status in ledger.items():
            name = Path(path).name
            if name.endswith(".gz") or name == "linked.jsonl":
                assert status == "rejected", path
            if name.startswith("."):
                assert status == "ignored", path
        for path, lines in accepted.items():
            base = BASE["/".join(path.split("/")[:2])]
            data_lines = [line for line in lines if not line.is_header]
            expected = len(data_lines) or 1  # an empty delivery keeps one (quarantined) row
            if base != "base_web__event_lines" and not data_lines:
                expected = 0  # a header-only CSV is a valid "nothing today"
            got = con.execute(f"select count(*) from {base} where source_file = ?", [path]).fetchone()[0]
            assert got == expected, path
        assert con.execute("select count(*) from base_web__event_lines where event_id = 'e-OUTSIDE'").fetchone()[0] == 0

    before = {p: (raw / p).read_bytes() for p in accepted}
    unreadable_copy = ("gzip" in extras or "hidden" in extras) and any(
        line.person == victim for line in files[sorted(p for p in files if p.startswith("web/events"))[0]])
    stages = Stages(rebuild=lambda work, as_of: _build(work, full_refresh=True), validate=lambda p, r: True,
                    publish=lambda p: True, purge_serving=lambda p, ids: None)
    if unreadable_copy:
        with pytest.raises(ErasureError, match=r"events\.jsonl\.gz|\.events\.jsonl\.uploading"):
            erase_person(emails[victim], "erase", paths, stages)
        # found while checking the rebuilt copy, before anything was swapped in: nothing changed
        assert {p: (raw / p).read_bytes() for p in accepted} == before
        return
    report = erase_person(emails[victim], "erase", paths, stages)
    removed = 0
    for path, lines in accepted.items():
        kept = [line.text for line in lines if line.person != victim]
        removed += len(lines) - len(kept)
        now = (raw / path).read_bytes() if (raw / path).exists() else None
        if len(kept) == len(lines):
            assert now == before[path], f"{path} changed although it holds nothing of the person"
        elif path.startswith("web/events") and not [t for t in kept if t]:
            assert now is None, f"{path}: an events file of only their lines is removed"
        else:
            assert now is not None
            assert [t for t in now.decode().split("\n") if t] == [t for t in kept if t], path
    assert report["raw_lines_removed"] == removed
    assert report["leftover_files"] == []
    # a link's target outside the zone is never read nor written
    if "link" in extras:
        assert json.loads((outside / "outside.jsonl").read_text())["event_id"] == "e-OUTSIDE"
