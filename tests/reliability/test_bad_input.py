"""Bad input in the landing zone, run through the real dbt build: every bad line is quarantined with the rule
it broke (or the build fails naming the file), every good line arrives, and the load audit balances.

A small generated landing zone gets hand-written extra files in its last delivery day: empty and
header-only files, a header missing a column, CRLF line endings, malformed CSV/JSON lines, wrong types, missing keys, huge
values, unicode, SQL-looking strings, a file name with a quote, and re-delivered copies of earlier files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from devtools.generator import GeneratorConfig, generate
from segwarehouse.core.paths import Paths
from segwarehouse.landing import LandingError, check_landing
from segwarehouse.warehouse.dbt import DbtRunFailed, run_dbt

pytestmark = pytest.mark.slow

DAY = "2026-01-14"  # last delivery day of the generated zone (14 days from 2026-01-01)
CONTACTS = ("customer_id,email,phone,first_name,last_name,birth_date,gender,city,country,signup_at,"
            "marketing_consent,loyalty_tier,income_bracket,interests,updated_at")
ORDERS = "order_id,customer_id,email,ordered_at,currency,amount,status,store_channel,updated_at"
ITEMS = "order_id,line_number,product_id,category,quantity,unit_price"
TS = "2026-01-14T10:00:00+01:00"
LONG = "x" * 10_000
SQL_1 = "'); drop table stg_crm__contacts; --"
SQL_2 = "' or 1=1 --"
UNICODE_FIRST = "😀 Zoë"          # emoji + precomposed
UNICODE_LAST = "שָׁלוֹם"           # right-to-left with combining points
UNICODE_CITY = "A\u030are"         # combining ring above


def _contact(cid: str, *, email: str = "x@example.com", first: str = "Ann", last: str = "Lee",
             birth: str = "1980-05-01", city: str = "Berlin", consent: str = "true", updated: str = TS,
             signup: str = TS) -> str:
    def q(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"') else v
    return ",".join([cid, q(email), "+49 30 1234567", q(first), q(last), birth, "F", q(city), "DE", signup, consent,
                     "gold", "50-100k", "fashion|outdoor", updated])


def _order(oid: str, amount: str, *, email: str = "buyer@example.com", currency: str = "EUR",
           status: str = "completed") -> str:
    return ",".join([oid, "", email, TS, currency, amount, status, "web", TS])


def _event(**fields) -> str:
    base = {"event_id": "e-bad-0", "anonymous_id": "a-bad", "user_id": None, "session_hint": None,
            "event_type": "page_view", "page_url": "/", "product_id": None, "category": None,
            "search_query": None, "order_id": None, "campaign_id": None, "device": "desktop",
            "channel": "direct", "event_at": "2026-01-14T10:00:00Z"}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not ...}, ensure_ascii=False)


def _compact_event(**fields) -> str:
    """An event as the exports write it: every key in the documented order, no blanks between tokens."""
    return json.dumps(json.loads(_event(**fields)), separators=(",", ":"))


# (folder, file name, lines; None = write 0 bytes) and per data line what must happen:
# "good:<key>" (in staging under that key) or the quarantine reason it must get (prefix)
CASES: list[tuple[str, str, list[str] | None, dict[int, str]]] = [
    ("crm/contacts", "bad_contacts.csv", [
        CONTACTS,
        _contact("CX01", email="zoë.😀@exämple.com", first=UNICODE_FIRST, last=UNICODE_LAST, city=UNICODE_CITY),
        _contact("CX02", email=f"{SQL_2}@example.com", first=SQL_1, last=SQL_2),
        _contact("CX03", first=LONG, last=LONG, city=LONG),
        _contact("CX04", birth="99999-12-31"),
        _contact("CX05", updated="yesterday"),
        "CX06,a@b.c,only three fields",
        'CX07,"unclosed quote,+49 1,Bo,Bu,1980-01-01,F,Rome,IT,' + TS + ",true,gold,,," + TS,
        _contact(""),
        _contact("CX09", consent="maybe"),
        _contact("CX10", updated="2026-13-45T99:00:00Z"),
        _contact("CX11", birth="31/12/1980"),
        _contact("CX12", first='Anna, "Mia"', city="Washington, D.C."),  # quoted fields: comma, doubled quote
    ], {2: "good:CX01", 3: "good:CX02", 4: "good:CX03", 5: "good:CX04", 6: "unparseable updated_at",
        7: "malformed line: 3 fields", 8: "malformed line: unbalanced double quote", 9: "missing customer_id",
        10: "good:CX09", 11: "unparseable updated_at", 12: "good:CX11", 13: "good:CX12"}),
    # CRLF line endings (folded per file): no field or quarantined line keeps the CR
    ("crm/contacts", "crlf_contacts.csv", [
        CONTACTS, _contact("CX40", city="Oslo"), _contact("CX41", updated="yesterday"),
    ], {2: "good:CX40", 3: "unparseable updated_at"}),
    # a spreadsheet export: a UTF-8 byte-order mark before the header; impossible version and sign-up times
    ("crm/contacts", "bom_contacts.csv", [
        "\ufeff" + CONTACTS, _contact("CX50"), _contact("CX51", updated="-infinity"),
        _contact("CX52", updated="2099-01-01T00:00:00Z"), _contact("CX53", signup="1900-01-01T00:00:00Z"),
        _contact("CX54", updated="1989-12-31T23:59:59Z"),
    ], {2: "good:CX50", 3: "updated_at before 1990-01-01", 4: "future updated_at", 5: "good:CX53",
        6: "updated_at before 1990-01-01"}),
    ("crm/contacts", "missing_column.csv", [
        CONTACTS.replace(",gender", ""),
        _contact("CX20").replace(",F,", ",", 1),
        _contact("CX21").replace(",F,", ",", 1),
    ], {2: "header mismatch", 3: "header mismatch"}),
    ("crm/contacts", "empty.csv", None, {1: "empty file: no header line"}),
    ("crm/contacts", "header_only.csv", [CONTACTS], {}),
    ("crm/contacts", "o'brien; drop table x.csv", [CONTACTS, _contact("CX30", last="O'Brien")], {2: "good:CX30"}),
    ("shop/orders", "bad_orders.csv", [
        ORDERS,
        _order("OX01", "1e308"),
        _order("OX02", "-1e308"),
        _order("OX03", "12abc"),
        _order("OX04", "10.00", email=f"{SQL_1}@example.com"),
        _order("OX05", "10.00", currency="XXX"),
        _order("OX06", "10.00", status=LONG),
        _order("OX07", "99999999999999.99", email="zoë.😀@exämple.com"),
        _order("OX08", "10.00").replace(TS, "not a time", 1),
        _order("OX09", "NaN"),
        _order("OX10", "-inf"),
        _order("OX11", "1_000"),
        _order("OX12", "10.00").replace(TS, "-infinity", 1),
        _order("OX13", "10.00").replace(TS, "1900-01-01T00:00:00Z", 1),
        _order("OX14", "10.00").replace(TS, "infinity", 1),
        _order("OX15", "10.00").replace(TS, "2026-01-14T10:00:00", 1),  # no offset: read as UTC, counted
    ], {2: "amount out of range", 3: "amount out of range", 4: "unparseable amount", 5: "good:OX04",
        6: "unknown currency XXX", 7: "unknown status x", 8: "good:OX07", 9: "unparseable ordered_at",
        10: "amount is not a finite number", 11: "amount is not a finite number", 12: "unparseable amount",
        13: "ordered_at before 1990-01-01", 14: "ordered_at before 1990-01-01", 15: "future ordered_at",
        16: "good:OX15"}),
    ("shop/orders", "empty.csv", None, {1: "empty file: no header line"}),
    ("web/events", "empty.jsonl", None, {1: "empty file: no event lines"}),
    # the documented key order: the repeated-key check's shortcut for it must still see an extra key
    ("web/events", "compact_events.jsonl", [
        _compact_event(event_id="e-compact-1"),
        _compact_event(event_id="e-compact-2")[:-1] + ',"event_id":"e-compact-3"}',
        "{" + ",".join(reversed(_compact_event(event_id="e-compact-4", device="mobile")[1:-1].split(","))) + ',"device":"tv"}',
        "  " + _compact_event(event_id="e-compact-5"),
        "{" + ",".join(reversed(_compact_event(event_id="e-compact-6")[1:-1].split(","))) + "}",
    ], {1: "good:e-compact-1", 2: "duplicate JSON key", 3: "duplicate JSON key", 4: "good:e-compact-5",
        5: "good:e-compact-6"}),
    ("web/events", "crlf_events.jsonl", [_event(event_id="e-crlf-1"), "not json"],
     {1: "good:e-crlf-1", 2: "malformed JSON line"}),
    ("shop/order_items", "bad_items.csv", [
        ITEMS,
        "OX04,1,P1,tech,2,5.00",
        "OX04,99999999999999999999,P1,tech,2,5.00",
        "OX04,2,P1,tech,1e10,5.00",
        "OX04,3,P1,tech,1,-1",
        "OX04,4,P1",
        "OX04,5,P1,tech,1_0,5.00",
        "OX04,6,P1,tech,1,nan",
    ], {2: "good:OX04|1", 3: "unparseable line_number", 4: "quantity missing or not positive",
        5: "unit_price missing or negative", 6: "malformed line: 3 fields", 7: "quantity missing or not positive",
        8: "unit_price missing or negative"}),
    ("web/events", "bad_events.jsonl", [
        _event(event_id="e-bad-1", event_at=...),
        _event(event_id=...),
        _event(event_id=1e300, anonymous_id="a-huge"),
        _event(event_id="e-bad-4", event_type=["page_view"]),
        "[1, 2, 3]",
        '{"event_id": "e-bad-6", "event_type": "page_view",',
        _event(event_id="e-bad-7", page_url="/" + LONG, search_query=f"{SQL_1} {UNICODE_FIRST} {UNICODE_LAST}",
               event_type="search"),
        "null",
        _event(event_id="e-bad-9", event_at=1767225600),
        _event(event_id="e-bad-10", anonymous_id=12345678901234567890123456789),
        _event(event_id="e-bad-11", event_at="-infinity"),
        _event(event_id="e-bad-12", event_at="infinity"),
        _event(event_id="e-bad-13", event_at="1900-01-01T00:00:00Z"),
        _event(event_id="e-bad-14")[:-1] + ', "event_id": "e-bad-15"}',
        _event(event_id="e-bad-16", event_at="2026-01-14T10:00:00"),  # no offset: read as UTC, counted
    ], {1: "unparseable event_at", 2: "missing event_id", 3: "good:1e+300", 4: "unknown event_type",
        5: "malformed JSON line", 6: "malformed JSON line", 7: "good:e-bad-7", 8: "malformed JSON line",
        9: "unparseable event_at", 10: "good:e-bad-10", 11: "event_at before 1990-01-01", 12: "future event_at",
        13: "event_at before 1990-01-01", 14: "duplicate JSON key", 15: "good:e-bad-16"}),
]
# (folder, file, source) copied from an earlier day into DAY: every line is a duplicate
REDELIVERED = [("crm/contacts", "contacts.csv"), ("shop/orders", "orders.csv"), ("web/events", "events.jsonl")]
SOURCE_OF = {"crm/contacts": "crm_contacts", "shop/orders": "shop_orders", "shop/order_items": "shop_order_items",
             "web/events": "web_events"}
GOOD_KEY = {"crm_contacts": ("stg_crm__contacts", "customer_id"), "shop_orders": ("stg_shop__orders", "order_id"),
            "shop_order_items": ("stg_shop__order_items", "order_id || '|' || line_number"),
            "web_events": ("stg_web__events", "event_id")}


@pytest.fixture(scope="module")
def bad_zone(tmp_path_factory) -> tuple[Paths, duckdb.DuckDBPyConnection]:
    data = tmp_path_factory.mktemp("bad_input")
    generate(GeneratorConfig(users=300, days=14, seed=11), data / "raw", data / "truth")
    raw = data / "raw"
    for folder, name, lines, _ in CASES:
        target = raw / folder / f"date={DAY}" / name
        newline = "\r\n" if "crlf" in name else "\n"
        target.write_bytes(b"" if lines is None else (newline.join(lines) + newline).encode("utf-8"))
    for folder, name in REDELIVERED:
        shutil.copy(raw / folder / "date=2026-01-05" / name,
                    raw / folder / f"date={DAY}" / name.replace(".", "_redelivered."))
    paths = Paths(home=Path(__file__).resolve().parents[2], data=data)
    run_dbt(["build"], paths=paths)  # seeds, models and every data test (balance, empty files) must pass
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    yield paths, con
    con.close()


def _case_ids() -> list[str]:
    return [f"{folder}/{name}" for folder, name, _, _ in CASES]


@pytest.mark.parametrize(("folder", "name", "lines", "expected"), CASES, ids=_case_ids())
def test_each_line_is_good_or_quarantined_with_its_rule(bad_zone, folder, name, lines, expected):
    _, con = bad_zone
    source = SOURCE_OF[folder]
    file = f"{folder}/date={DAY}/{name}"
    quarantined = dict(con.execute(
        "select line_no, reason from int_quarantine_rows where source_file = ? and action = 'rejected'",
        [file]).fetchall())
    table, key = GOOD_KEY[source]
    for line_no, outcome in expected.items():
        if outcome.startswith("good:"):
            assert line_no not in quarantined, (file, line_no, quarantined.get(line_no))
            found = con.execute(f"select count(*) from {table} where {key} = ?", [outcome[5:]]).fetchone()[0]
            assert found == 1, f"{file}:{line_no} ({outcome}) is not in {table}"
        else:
            assert quarantined.get(line_no, "").startswith(outcome), (file, line_no, quarantined.get(line_no))
    # nothing else from this file is quarantined, and no line of it is unaccounted for
    assert set(quarantined) == {n for n, o in expected.items() if not o.startswith("good:")}
    base = {"crm_contacts": "base_crm__contact_lines", "shop_orders": "base_shop__order_lines",
            "shop_order_items": "base_shop__order_item_lines", "web_events": "base_web__event_lines"}[source]
    read = con.execute(f"select count(*) from {base} where source_file = ?", [file]).fetchone()[0]
    assert read == len(expected)


def test_values_arrive_verbatim(bad_zone):
    _, con = bad_zone
    rows = dict(con.execute("select customer_id, first_name || '|' || last_name || '|' || city || '|' || email "
                            "from stg_crm__contacts where customer_id in ('CX01', 'CX02', 'CX03', 'CX12', 'CX30')").fetchall())
    assert rows["CX01"] == f"{UNICODE_FIRST}|{UNICODE_LAST}|{UNICODE_CITY}|zoë.😀@exämple.com"
    assert rows["CX02"] == f"{SQL_1}|{SQL_2}|Berlin|{SQL_2}@example.com"
    assert rows["CX03"] == f"{LONG}|{LONG}|{LONG}|x@example.com"
    assert rows["CX12"] == 'Anna, "Mia"|Lee|Washington, D.C.|x@example.com'
    assert rows["CX30"].startswith("Ann|O'Brien|")
    assert con.execute("select country || '|' || city from stg_crm__contacts where customer_id = 'CX40'").fetchone()[0] \
        == "DE|Oslo"
    crlf_lines = dict(con.execute("select split_part(source_file, '/', -1), raw_line from int_quarantine_rows "
                                  "where source_file like '%/crlf_%' and action = 'rejected'").fetchall())
    assert crlf_lines == {"crlf_contacts.csv": _contact("CX41", updated="yesterday"), "crlf_events.jsonl": "not json"}
    # the tables the SQL-looking strings name still exist and hold rows
    assert con.execute("select count(*) from stg_crm__contacts").fetchone()[0] > 200
    query = con.execute("select search_query from stg_web__events where event_id = 'e-bad-7'").fetchone()[0]
    assert query == f"{SQL_1} {UNICODE_FIRST} {UNICODE_LAST}"
    # field-level problems keep the row and say what was nulled
    nulled = dict(con.execute("select raw_line[:4], reason from int_quarantine_rows where action = 'field_nulled' "
                              "and source_file like '%bad_contacts.csv'").fetchall())
    assert nulled == {"CX04": "impossible age (birth_date nulled)",  # year 99999 parses, then is out of range
                      "CX11": "unparseable birth_date (nulled)",
                      "CX09": "unrecognised marketing_consent (treated as no consent)"}
    assert con.execute("select has_marketing_consent from stg_crm__contacts where customer_id = 'CX09'").fetchone()[0] is False


def test_implausible_sign_up_is_nulled_and_offsetless_times_are_counted(bad_zone):
    _, con = bad_zone
    # a sign-up before timestamp_floor keeps the contact, without the sign-up, and says so
    assert con.execute("select signup_at from stg_crm__contacts where customer_id = 'CX53'").fetchone()[0] is None
    assert con.execute("select reason from int_quarantine_rows where raw_line like 'CX53,%' and action = 'field_nulled'"
                       ).fetchone()[0] == "implausible signup_at (nulled)"
    # the generator writes every timestamp with an offset: the hand-written lines without one are the count
    counted = dict(con.execute("select source_name, times_without_offset from int_source_load_audit").fetchall())
    assert counted == {"crm_contacts": 0, "web_events": 1, "shop_orders": 1, "shop_order_items": 0}
    assert con.execute("select event_at from stg_web__events where event_id = 'e-bad-16'").fetchone()[0] \
        == __import__("datetime").datetime(2026, 1, 14, 10, 0)


def test_redelivered_files_are_duplicates_not_new_rows(bad_zone):
    _, con = bad_zone
    for folder, name in REDELIVERED:
        copy = f"{folder}/date={DAY}/{name.replace('.', '_redelivered.')}"
        original = f"{folder}/date=2026-01-05/{name}"
        base, key = {"crm/contacts": ("base_crm__contact_lines", "customer_id"),
                     "shop/orders": ("base_shop__order_lines", "order_id"),
                     "web/events": ("base_web__event_lines", "event_id")}[folder]
        n_copy, n_orig = (con.execute(f"select count(*) filter (where reject_reason is null) from {base} "
                                      "where source_file = ?", [f]).fetchone()[0] for f in (copy, original))
        assert n_copy == n_orig > 0
        # every key stays unique in staging
        table = {"crm/contacts": "stg_crm__contacts", "shop/orders": "stg_shop__orders",
                 "web/events": "stg_web__events"}[folder]
        assert con.execute(f"select count(*) - count(distinct {key}) from {table}").fetchone()[0] == 0
    # the re-delivered events are recognised as copies: the first delivery stays
    copies = con.execute("select count(*) from base_web__event_redeliveries where source_file = ?",
                         [f"web/events/date={DAY}/events_redelivered.jsonl"]).fetchone()[0]
    assert copies == n_copy


def test_rows_lost_is_zero(bad_zone):
    """lines in = good + quarantined + duplicates, with duplicates counted independently of the audit model."""
    _, con = bad_zone
    audit = {r[0]: r[1:] for r in con.execute(
        "select source_name, lines_in, rejected, duplicates_or_superseded, good_rows from int_source_load_audit").fetchall()}
    for source, (base, key) in {"crm_contacts": ("base_crm__contact_lines", "customer_id"),
                                "shop_orders": ("base_shop__order_lines", "order_id"),
                                "shop_order_items": ("base_shop__order_item_lines", "order_id || '|' || line_number"),
                                "web_events": ("base_web__event_lines", "event_id")}.items():
        lines_in, rejected, dups, good = audit[source]
        valid, distinct = con.execute(f"select count(*) filter (where reject_reason is null), "
                                      f"count(distinct {key}) filter (where reject_reason is null) from {base}").fetchone()
        quarantined = con.execute("select count(*) from int_quarantine_rows where source_name = ? and action = 'rejected'",
                                  [source]).fetchone()[0]
        assert rejected == quarantined
        assert good == distinct
        assert dups == valid - distinct
        assert lines_in == good + quarantined + dups, source


def test_empty_jsonl_delivery_is_a_clear_landing_error(bad_zone):
    paths, _ = bad_zone
    with pytest.raises(LandingError, match=r"empty events file\(s\) for 2026-01-14 .*empty\.jsonl"):
        check_landing(paths, __import__("datetime").date(2026, 1, 14))


def test_non_utf8_file_fails_the_build_naming_the_file(tmp_path):
    raw = tmp_path / "raw" / "crm" / "contacts" / f"date={DAY}"
    raw.mkdir(parents=True)
    (raw / "latin1.csv").write_bytes((CONTACTS + "\n" + _contact("CX40", first="J\xe9r\xf4me") + "\n").encode("latin-1"))
    paths = Paths(home=Path(__file__).resolve().parents[2], data=tmp_path)
    with pytest.raises(DbtRunFailed, match=r"(?s)base_crm__contact_lines.*latin1\.csv.*UTF-8"):
        run_dbt(["run", "--select", "base_crm__contact_lines"], paths=paths)
