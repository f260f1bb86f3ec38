"""The synthetic landing zone: deterministic, matches docs/sources.md, plants dirt and personas as asked."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from devtools.generator import DirtRates, GeneratorConfig, generate

CONTRACT = {
    "crm/contacts": ["customer_id", "email", "phone", "first_name", "last_name", "birth_date", "gender", "city",
                     "country", "signup_at", "marketing_consent", "loyalty_tier", "income_bracket", "interests",
                     "updated_at", "address_line", "postcode"],
    "shop/orders": ["order_id", "customer_id", "email", "ordered_at", "currency", "amount", "status",
                    "store_channel", "updated_at"],
    "shop/order_items": ["order_id", "line_number", "product_id", "category", "quantity", "unit_price"],
}
EVENT_FIELDS = ["event_id", "anonymous_id", "user_id", "session_hint", "event_type", "page_url", "product_id",
                "category", "search_query", "order_id", "campaign_id", "device", "channel", "event_at"]


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != "manifest.json":
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("gen")
    cfg = GeneratorConfig(users=3000, days=60, seed=11)
    return root, generate(cfg, root / "raw", root / "truth")


@pytest.fixture(scope="module")
def con(small):
    root, _ = small
    c = duckdb.connect()
    c.execute(f"SET file_search_path = '{root}'")
    return c


def test_same_seed_gives_identical_bytes_and_other_seed_differs(tmp_path):
    cfg = GeneratorConfig(users=300, days=20, seed=5)
    generate(cfg, tmp_path / "a" / "raw", tmp_path / "a" / "truth")
    generate(cfg, tmp_path / "b" / "raw", tmp_path / "b" / "truth")
    other = GeneratorConfig(users=300, days=20, seed=6)
    generate(other, tmp_path / "c" / "raw", tmp_path / "c" / "truth")
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_layout_is_one_partition_per_delivery_day(small):
    root, manifest = small
    for source in ("web/events", "shop/orders", "shop/order_items"):
        days = sorted(p.name for p in (root / "raw" / source).iterdir())
        assert days[0] == "date=2026-01-01"
        assert days[-1] == "date=2026-03-01"
        assert len(days) == 60
    assert manifest["end_date"] == "2026-03-01"


def test_csv_headers_follow_the_contract(small):
    root, _ = small
    for source, columns in CONTRACT.items():
        for path in (root / "raw" / source).rglob("*.csv"):
            assert path.read_text(encoding="utf-8").splitlines()[0].split(",") == columns, path


def test_event_lines_follow_the_contract(small):
    root, manifest = small
    good = bad = no_id = 0
    for path in (root / "raw" / "web" / "events").rglob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                bad += 1
                continue
            good += 1
            no_id += row["event_id"] is None
            assert list(row) == EVENT_FIELDS
    counts = manifest["counts"]
    assert good == counts["events_rows"]
    assert bad == counts["events_malformed_lines"] > 0
    assert no_id == counts["events_missing_id"] > 0


def test_volume_tracks_events_per_user(small):
    _, manifest = small
    per_user = manifest["counts"]["events_rows"] / manifest["persons"]
    assert 30 * 0.8 < per_user < 30 * 1.2


def test_dirt_counts_match_files_and_rates(small, con):
    _, m = small
    c = m["counts"]
    orders = "read_csv('raw/shop/orders/*/*.csv', all_varchar=true, ignore_errors=true)"
    unknown = con.execute(f"select count(*) from {orders} where currency not in ('EUR','USD','GBP','SEK','JPY')").fetchone()[0]
    assert unknown == c["orders_unknown_currency"]
    bad_amount = con.execute(f"select count(*) from {orders} where status = 'completed' and amount::double <= 0").fetchone()[0]
    assert bad_amount == c["orders_bad_amount"]
    events = "read_json('raw/web/events/*/*.jsonl', format='newline_delimited', ignore_errors=true, columns={event_id: 'VARCHAR', event_at: 'VARCHAR'})"
    redelivered = con.execute(f"select count(*) - count(distinct event_id) from {events} where event_id is not null").fetchone()[0]
    assert redelivered == c["events_redelivered"]
    # rates: binomial counts within a generous band around the configured probability
    rates = DirtRates()
    n_ev = c["events_rows"]
    assert abs(c["events_late"] / n_ev - rates.late_event) < 0.006
    assert abs(c["events_redelivered"] / n_ev - rates.redelivered_event) < 0.003
    dup_share = c["contacts_duplicate_person_records"] / m["registered_persons"]
    assert abs(dup_share - rates.crm_duplicate_person) < 0.015


def test_duplicate_contacts_share_a_normalised_identifier(con):
    rows = con.execute("""
        with c as (select * from read_csv('raw/crm/contacts/*/*.csv', all_varchar=true, ignore_errors=true)),
        ids as (select * from 'truth/identifiers.parquet' where id_type = 'customer_id'
                 and id_value not in (select customer_id from 'truth/contacts.parquet' where kind = 'no_key_duplicate')),
        j as (select ids.true_person_id, lower(trim(c.email)) as email,
                     '+' || regexp_replace(regexp_replace(c.phone, '^\\s*\\(?\\+?(00)?', ''), '[^0-9]', '', 'g') as phone
              from c join ids on ids.id_value = c.customer_id)
        select true_person_id, count(distinct email) filter (where email is not null) as emails,
               count(distinct phone) filter (where phone is not null) as phones
        from j group by 1 having count(*) > 1
    """).fetchall()
    assert len(rows) > 50
    # differently written e-mails and phones of the same person normalise to one value
    assert all(emails <= 1 and phones <= 1 for _, emails, phones in rows)


def test_no_key_duplicates_share_no_identifier_but_a_person(con, small):
    """No-key duplicates: the planted rate, no e-mail or phone in common with any other contact of the data, and
    the perturbations the truth lists (typo, swap, transposed birth date, move) visible in the files."""
    _, manifest = small
    contacts = """(select * from read_csv('raw/crm/contacts/*/*.csv', all_varchar=true, ignore_errors=true)
                    qualify row_number() over (partition by customer_id order by updated_at desc) = 1)"""
    n_dup = manifest["counts"]["contacts_nokey_duplicates"]
    share = n_dup / manifest["registered_persons"]
    assert abs(share - DirtRates().crm_nokey_duplicate_person) < 0.012
    shared_keys = con.execute(f"""
        with c as (select customer_id, lower(trim(email)) as email,
                          regexp_replace(phone, '[^0-9]', '', 'g') as phone from {contacts}),
        d as (select c.* from c join 'truth/contacts.parquet' t using (customer_id) where t.kind = 'no_key_duplicate')
        select count(*) from d join c on c.customer_id <> d.customer_id
            and (c.email = d.email or c.phone = d.phone)""").fetchone()[0]
    assert shared_keys == 0
    rows = con.execute(f"""
        with t as (select * from 'truth/contacts.parquet'),
        c as (select * from {contacts}),
        p as (select t.true_person_id, c.* from c join t using (customer_id) where t.kind = 'primary')
        select t.perturbations, lower(c.first_name) = lower(p.first_name), lower(c.last_name) = lower(p.last_name),
               lower(c.first_name) = lower(p.last_name), c.birth_date = p.birth_date,
               c.address_line is not distinct from p.address_line
        from c join t using (customer_id) join p using (true_person_id) where t.kind = 'no_key_duplicate'
    """).fetchall()
    assert len(rows) == n_dup > 40
    for perturbations, same_first, same_last, swapped, same_birth, same_address in rows:
        kinds = set(perturbations.split("+")) - {""}
        assert len(kinds) <= 2
        if not kinds & {"typo", "swap"}:
            assert same_first
            assert same_last
        if kinds == {"swap"}:
            assert swapped
        if "transpose" in kinds:
            assert same_birth is False
        if "move" in kinds:
            assert not same_address
    assert {k for r in rows for k in r[0].split("+")} >= {"typo", "transpose", "move"}


def test_contacts_carry_postal_addresses(con):
    row = con.execute("""select count(*), count(address_line), count(postcode),
                              count(*) filter (where regexp_matches(address_line, '(?i) (st|rd|ave|ln|dr|ct|pl)[.]?( |,|$)'))
                       from read_csv('raw/crm/contacts/*/*.csv', all_varchar=true, ignore_errors=true)""").fetchone()
    total, with_address, with_postcode, abbreviated = row
    assert with_address > 0.9 * total
    assert with_postcode > 0.85 * total
    assert abbreviated > 0.2 * with_address  # abbreviations for staging to normalize


def test_personas_have_distinct_behaviour(con):
    stats = {r[0]: r[1:] for r in con.execute("""
        with ids as (select * from 'truth/identifiers.parquet'),
        p as (select * from 'truth/persons.parquet'),
        o as (select * from read_csv('raw/shop/orders/*/*.csv', all_varchar=true, ignore_errors=true)
              where currency = 'EUR' and status = 'completed' and amount::double > 0),
        e as (select * from read_json('raw/web/events/*/*.jsonl', format='newline_delimited', ignore_errors=true,
                                      columns={anonymous_id: 'VARCHAR', event_type: 'VARCHAR', event_at: 'VARCHAR'})),
        ev as (select ids.true_person_id, count(*) as views, max(try_cast(e.event_at as timestamptz)) as last_at
               from e join ids on ids.id_type = 'anonymous_id' and ids.id_value = e.anonymous_id
               where e.event_type in ('page_view', 'product_view') group by 1),
        ord as (select ids.true_person_id, count(*) as orders, avg(o.amount::double) as aov
                from o join ids on ids.id_type = 'customer_id' and ids.id_value = o.customer_id group by 1)
        select p.persona, avg(coalesce(ev.views, 0)), avg(coalesce(ord.orders, 0)), avg(ord.aov),
               avg(date_diff('day', ev.last_at::date, date '2026-03-01')),
               avg(date_diff('day', p.signup_date, date '2026-03-01'))
        from p left join ev using (true_person_id) left join ord using (true_person_id) group by 1
    """).fetchall()}
    views, orders, aov, idle, tenure = (dict(zip(stats, col, strict=True)) for col in zip(*stats.values(), strict=True))
    assert aov["loyal_high_value"] > 3 * aov["bargain_hunter"]
    assert orders["bargain_hunter"] > 5 * orders["browser"]
    assert orders["loyal_high_value"] > 5 * orders["browser"]
    assert views["browser"] > 1.5 * views["bargain_hunter"]
    assert idle["lapsed"] > 30 > idle["loyal_high_value"]
    assert tenure["new_user"] < 7 < tenure["loyal_high_value"]


def test_truth_marks_shared_identifiers(con):
    shared = dict(con.execute("select id_type, count(*) from 'truth/identifiers.parquet' where is_shared group by 1").fetchall())
    assert shared.get("email", 0) > 0
    assert shared.get("phone", 0) > 0
    assert shared.get("anonymous_id", 0) > 0
    multi = con.execute("select count(*) from (select id_value from 'truth/identifiers.parquet' where is_shared "
                    "and id_type <> 'anonymous_id' group by 1 having count(distinct true_person_id) > 1)").fetchone()[0]
    assert multi > 0


def test_bad_config_is_rejected_with_a_clear_message():
    with pytest.raises(ValueError, match="unknown dirt rate"):
        DirtRates().with_overrides({"nonsense": 0.1})
    with pytest.raises(ValueError, match=r"within 0\.\.1"):
        DirtRates().with_overrides({"late_event": 2.0})
    with pytest.raises(ValueError, match="days must be >= 14"):
        GeneratorConfig(days=3)


def test_everyone_from_day_one_keeps_the_population_constant(tmp_path):
    """The benchmark's constant population: every person visits on the first day and no one signs up later,
    so a later day adds history but no persons."""
    cfg = GeneratorConfig(users=300, days=20, seed=5, everyone_from_day_one=True)
    generate(cfg, tmp_path / "raw", tmp_path / "truth")
    c = duckdb.connect()
    c.execute(f"SET file_search_path = '{tmp_path}'")
    persons, late_signups = c.execute(
        "select count(*), count(*) filter (where signup_date > date '2026-01-01') from 'truth/persons.parquet'"
    ).fetchone()
    first_day_visitors = c.execute(
        """select count(*) from (
               select ids.true_person_id
               from read_json('raw/web/events/*/*.jsonl', format='newline_delimited', ignore_errors=true,
                              columns={anonymous_id: 'VARCHAR', event_at: 'VARCHAR'}) as events
               inner join 'truth/identifiers.parquet' as ids
                   on ids.id_type = 'anonymous_id' and ids.id_value = events.anonymous_id
               group by ids.true_person_id
               having cast(min(try_cast(events.event_at as timestamptz) at time zone 'UTC') as date)
                      = date '2026-01-01')""").fetchone()[0]
    assert persons == 300
    assert late_signups == 0
    assert first_day_visitors == persons
    # without the option, persons keep arriving
    grown = GeneratorConfig(users=300, days=20, seed=5)
    generate(grown, tmp_path / "g" / "raw", tmp_path / "g" / "truth")
    assert c.execute("select count(*) filter (where signup_date > date '2026-01-01') "
                     "from 'g/truth/persons.parquet'").fetchone()[0] > 0
