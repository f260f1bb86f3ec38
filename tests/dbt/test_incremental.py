"""Daily incremental runs (with late and re-delivered events) give exactly the tables of a full refresh."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from segwarehouse.core.paths import Paths
from segwarehouse.warehouse.dbt import run_dbt

TABLES = ["stg_web__events", "base_web__event_redeliveries", "fct_events", "int_sessions_sessionized",
          "int_web_activity_daily", "int_web_pair_totals", "int_web_node_category_totals", "int_person_session_stats",
          "int_person_web_activity", "int_person_contacts_aggregated", "int_person_browsing_behaviour", "int_person_visit_rhythm",
          "int_person_recent_activity", "int_person_orders_aggregated", "int_orders_attributed",
          "fct_sessions", "fct_orders", "int_person_map", "int_quarantine_rows", "dim_user_profile",
          "stg_crm__contacts", "stg_shop__orders", "stg_shop__order_items", "int_source_load_audit"]


def _sibling(landing_zone: Paths, tmp_path_factory, name: str) -> Paths:
    data = tmp_path_factory.mktemp(name)
    (data / "raw").symlink_to(landing_zone.raw, target_is_directory=True)
    paths = Paths(home=landing_zone.home, data=data)
    run_dbt(["seed"], paths=paths)
    return paths


@pytest.fixture(scope="module")
def incremental_and_full(landing_zone, tmp_path_factory):
    inc = _sibling(landing_zone, tmp_path_factory, "incremental")
    for day in ("2026-02-25", "2026-02-26", "2026-02-27", "2026-02-28", "2026-03-01"):
        run_dbt(["run"], paths=inc, vars={"as_of_date": day})
    full = _sibling(landing_zone, tmp_path_factory, "full")
    run_dbt(["run"], paths=full, vars={"as_of_date": "2026-03-01"})
    con = duckdb.connect()
    con.execute(f"ATTACH '{inc.warehouse}' AS inc (READ_ONLY)")
    con.execute(f"ATTACH '{full.warehouse}' AS full_refresh (READ_ONLY)")
    yield con
    con.close()


@pytest.mark.parametrize("table", TABLES)
def test_incremental_run_equals_full_refresh(incremental_and_full, table):
    con = incremental_and_full
    # every column but the runs' own metadata (loaded_at: when the invocation that wrote a line started;
    # checked_through: the re-delivery check's watermark, the latest loaded_at it saw; previous_person_id and
    # mapped_as_of_date / mapped_at: the person-map row's id before the run that last rewrote it, and that
    # run's date and start; computed_as_of_date / computed_at: the run that last computed a person's session or
    # web figures; settled_before: the cutoff of the run that last recomputed a lifetime total)
    bookkeeping = ("'loaded_at', 'checked_through', 'previous_person_id', 'mapped_as_of_date', 'mapped_at', "
                   "'computed_as_of_date', 'computed_at', 'settled_before'")
    inc, full = (f"select columns(lambda c: c not in ({bookkeeping})) from {db}.{table}"
                 for db in ("inc", "full_refresh"))
    only_inc = con.execute(f"select count(*) from ({inc} except all {full})").fetchone()[0]
    only_full = con.execute(f"select count(*) from ({full} except all {inc})").fetchone()[0]
    rows = con.execute(f"select count(*) from full_refresh.{table}").fetchone()[0]
    assert rows > 0
    assert (only_inc, only_full) == (0, 0)


def test_person_map_keeps_the_link_fingerprints_of_the_current_nodes(incremental_and_full):
    """After five daily runs every person-map row carries its node's current edge_fingerprint (the
    incremental runs found every node whose links changed); linked nodes have one, unlinked nodes 0."""
    con = incremental_and_full
    stale, linked, unlinked_nonzero = con.execute("""
        select
            count(*) filter (where m.edge_fingerprint <> n.edge_fingerprint),
            count(*) filter (where n.edge_fingerprint <> 0),
            count(*) filter (where n.edge_fingerprint <> 0 and n.node_key not in (
                select node_a from inc.int_identity_edges_guarded union select node_b from inc.int_identity_edges_guarded))
        from inc.int_identity_nodes as n
        inner join inc.int_person_map as m on m.node_key = n.node_key
    """).fetchone()
    link_ends = con.execute("select count(*) from (select node_a from inc.int_identity_edges_guarded "
                            "union select node_b from inc.int_identity_edges_guarded)").fetchone()[0]
    assert link_ends > 0
    assert (stale, linked, unlinked_nonzero) == (0, link_ends, 0)


def test_late_events_arrive_through_the_lookback(incremental_and_full):
    con = incremental_and_full
    first, last = con.execute("select min(delivery_date), max(delivery_date) from inc.base_web__event_lines").fetchone()
    assert str(first) == "2026-01-01"
    assert str(last) == "2026-03-01"
    late = con.execute("""
        select count(*) from inc.fct_events where delivery_date > event_date
    """).fetchone()[0]
    assert late > 0  # late-arriving events made it in through the lookback


def test_merges_are_logged_and_events_follow_the_new_person(incremental_and_full):
    """Daily runs merge persons (late logins, new contacts): the old id is logged, no event keeps it."""
    con = incremental_and_full
    merges = con.execute("select count(*) from inc.person_id_history where change_type = 'merge'").fetchone()[0]
    stale = con.execute("""
        select count(*) from inc.fct_events as e
        where e.person_id in (select old_person_id from inc.person_id_history where change_type = 'merge')
          and e.person_id not in (select person_id from inc.int_person_map)
    """).fetchone()[0]
    assert merges > 0
    assert stale == 0
    # re-attribution kept every loaded event on the person its identifiers map to today
    assert con.execute("select count(*) from inc.fct_events where person_id is null").fetchone()[0] == 0


def _four_day_landing_zone(landing_zone: Paths, data: Path) -> tuple[Paths, Path]:
    """A copy of the CRM and shop landing folders and of four days of event files (02-25 .. 02-28), so a test
    may rewrite files; returns the paths and the events folder."""
    import shutil

    for folder in ("crm", "shop"):
        shutil.copytree(landing_zone.raw / folder, data / "raw" / folder)
    events = data / "raw" / "web" / "events"
    for day in ("2026-02-25", "2026-02-26", "2026-02-27", "2026-02-28"):
        shutil.copytree(landing_zone.raw / "web" / "events" / f"date={day}", events / f"date={day}")
    return Paths(home=landing_zone.home, data=data), events


def test_daily_runs_read_only_new_or_rewritten_files(landing_zone, tmp_path):
    """In the lookback window a run parses the files that are new or were rewritten since their lines were
    loaded; a rewritten (shorter) file replaces all of its lines."""
    paths, events = _four_day_landing_zone(landing_zone, tmp_path / "data")
    models = ["--select", "base_web__event_lines", "base_crm__contact_lines"]
    run_dbt(["run", *models], paths=paths, vars={"as_of_date": "2026-02-27"})

    def loads() -> dict[str, tuple]:
        with duckdb.connect(str(paths.warehouse), read_only=True) as con:
            return {f: (n, t) for f, n, t in con.execute(
                "select source_file, count(*), max(loaded_at) from base_web__event_lines group by 1").fetchall()}

    def crm_loads() -> set:
        with duckdb.connect(str(paths.warehouse), read_only=True) as con:
            return set(con.execute("select distinct loaded_at from base_crm__contact_lines").fetchall())

    first, first_crm = loads(), crm_loads()
    run_dbt(["run", *models], paths=paths, vars={"as_of_date": "2026-02-28"})
    second = loads()
    new = "web/events/date=2026-02-28/events.jsonl"
    assert set(second) == set(first) | {new}
    # the lookback partitions (02-25 .. 02-27) were not parsed again: same lines, same load
    assert {f: second[f] for f in first} == first
    assert second[new][1] > max(t for _, t in first.values())
    assert len(crm_loads()) == len(first_crm) + 1  # only the new day's CRM file was read

    # a re-delivery rewrites an already loaded file of the window, 5 lines shorter
    rewritten = events / "date=2026-02-26" / "events.jsonl"
    lines = rewritten.read_text().splitlines(keepends=True)
    rewritten.write_text("".join(lines[:-5]))
    run_dbt(["run", *models], paths=paths, vars={"as_of_date": "2026-02-28"})
    third = loads()
    key = "web/events/date=2026-02-26/events.jsonl"
    assert third[key][0] == first[key][0] - 5
    assert third[key][1] > second[new][1]
    assert {f: v for f, v in third.items() if f != key} == {f: v for f, v in second.items() if f != key}


def test_quarantine_follows_rewritten_files(landing_zone, tmp_path):
    """The incremental quarantine keeps one row per bad line: a re-run adds nothing, a re-delivered file with
    a new bad line replaces that file's rows, and one without bad lines leaves none; equal to a full rebuild."""
    paths, events = _four_day_landing_zone(landing_zone, tmp_path / "data")
    models = ["--select", "+int_quarantine_rows"]
    run_dbt(["seed"], paths=paths)
    run_dbt(["run", *models], paths=paths, vars={"as_of_date": "2026-02-27"})
    rewritten = events / "date=2026-02-27" / "events.jsonl"
    source_file = "web/events/date=2026-02-27/events.jsonl"
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        valid = {n for (n,) in con.execute("select line_no from base_web__event_lines where source_file = ? "
                                           "and reject_reason is null", [source_file]).fetchall()}
    good = [line for n, line in enumerate(rewritten.read_text().splitlines(keepends=True), 1) if n in valid]
    assert len(good) > 20

    def rows() -> list[tuple]:
        with duckdb.connect(str(paths.warehouse), read_only=True) as con:
            return con.execute("select line_no, reason from int_quarantine_rows where source_file = ? order by 1",
                               [source_file]).fetchall()

    rewritten.write_text("".join(good[:10]) + "{not json\n" + "".join(good[10:]))
    run_dbt(["run", *models], paths=paths, vars={"as_of_date": "2026-02-28"})
    run_dbt(["run", *models], paths=paths, vars={"as_of_date": "2026-02-28"})
    assert rows() == [(11, "malformed JSON line")]
    rewritten.write_text("".join(good[:20]) + '{"event_id": "e-no-type"}\n')
    run_dbt(["run", *models], paths=paths, vars={"as_of_date": "2026-02-28"})
    assert rows() == [(21, "unknown event_type")]
    n = _equal_to_full_refresh(paths, tmp_path, "2026-02-28", ["int_quarantine_rows"])
    assert n > 0
    rewritten.write_text("".join(good))
    run_dbt(["run", *models], paths=paths, vars={"as_of_date": "2026-02-28"})
    assert rows() == []
    _equal_to_full_refresh(paths, tmp_path, "2026-02-28", ["int_quarantine_rows"])


def test_lifetime_totals_drop_a_pair_that_a_rewritten_file_no_longer_holds(landing_zone, tmp_path):
    """The incremental pair and category totals equal a full refresh after a re-delivery rewrote a file of the
    lookback window without the only events of one device: that device's rows disappear from both."""
    paths, events = _four_day_landing_zone(landing_zone, tmp_path / "data")
    totals = ["int_web_pair_totals", "int_web_node_category_totals"]
    models = ["--select", *(f"+{t}" for t in totals)]
    run_dbt(["run", *models], paths=paths, vars={"as_of_date": "2026-02-27"})
    run_dbt(["run", *models], paths=paths, vars={"as_of_date": "2026-02-28"})
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        device = con.execute("""
            select anonymous_id from int_web_activity_daily where anonymous_id is not null
            group by anonymous_id
            having min(delivery_date) = '2026-02-27' and max(delivery_date) = '2026-02-27' and count(user_id) = 0
            order by anonymous_id limit 1
        """).fetchone()[0]
        assert con.execute("select count(*) from int_web_pair_totals where anonymous_id = ?", [device]).fetchone()[0] == 1

    rewritten = events / "date=2026-02-27" / "events.jsonl"
    lines = rewritten.read_text().splitlines(keepends=True)
    kept = [line for line in lines if device not in line]
    assert 0 < len(lines) - len(kept) < len(lines)
    rewritten.write_text("".join(kept))
    run_dbt(["run", *models], paths=paths, vars={"as_of_date": "2026-02-28"})

    import shutil

    full = Paths(home=landing_zone.home, data=tmp_path / "full")
    (full.data / "warehouse").mkdir(parents=True)
    (full.data / "raw").symlink_to(paths.data / "raw", target_is_directory=True)
    shutil.copy(paths.warehouse, full.warehouse)
    run_dbt(["run", "--full-refresh", "--select", *totals], paths=full, vars={"as_of_date": "2026-02-28"})
    con = duckdb.connect()
    con.execute(f"ATTACH '{paths.warehouse}' AS inc (READ_ONLY)")
    con.execute(f"ATTACH '{full.warehouse}' AS full_refresh (READ_ONLY)")
    for table in totals:
        inc, ref = (f"select * from {db}.{table}" for db in ("inc", "full_refresh"))
        assert con.execute(f"select count(*) from ({inc} except all {ref})").fetchone()[0] == 0, table
        assert con.execute(f"select count(*) from ({ref} except all {inc})").fetchone()[0] == 0, table
        assert con.execute(f"select count(*) from inc.{table}").fetchone()[0] > 0
    gone = con.execute("select count(*) from inc.int_web_pair_totals where anonymous_id = ?", [device]).fetchone()[0]
    assert gone == 0
    assert con.execute("select count(*) from inc.int_web_node_category_totals where node_key = ?",
                       [f"anonymous_id:{device}"]).fetchone()[0] == 0


def _equal_to_full_refresh(paths: Paths, tmp_path: Path, day: str, tables: list[str], vars: dict | None = None) -> int:
    """Rebuild the given incremental models in full on a copy of the warehouse; assert each equals its
    incremental version (every column but the run bookkeeping) and return the first one's row count."""
    import shutil

    full = Paths(home=paths.home, data=tmp_path / f"full-{day}-{len(list(tmp_path.iterdir()))}")
    (full.data / "warehouse").mkdir(parents=True)
    (full.data / "raw").symlink_to(paths.data / "raw", target_is_directory=True)
    shutil.copy(paths.warehouse, full.warehouse)
    run_dbt(["run", "--full-refresh", "--select", *tables], paths=full, vars={"as_of_date": day, **(vars or {})})
    con = duckdb.connect()
    con.execute(f"ATTACH '{paths.warehouse}' AS inc (READ_ONLY)")
    con.execute(f"ATTACH '{full.warehouse}' AS full_refresh (READ_ONLY)")
    for table in tables:
        inc, ref = (f"select columns(lambda c: c not in ('previous_person_id', 'mapped_as_of_date', 'mapped_at', "
                    f"'computed_as_of_date', 'computed_at', 'settled_before')) from {db}.{table}"
                    for db in ("inc", "full_refresh"))
        assert con.execute(f"select count(*) from ({inc} except all {ref})").fetchone()[0] == 0, table
        assert con.execute(f"select count(*) from ({ref} except all {inc})").fetchone()[0] == 0, table
    return con.execute(f"select count(*) from inc.{tables[0]}").fetchone()[0]


def test_person_map_recomputes_changed_components_like_a_full_refresh(landing_zone, tmp_path):
    """The incremental person map (with the session, web and CRM figures of the persons it moves, and the
    incremental contacts) equals a full rebuild after a CRM re-delivery that merges two persons with sessions,
    makes an e-mail shared (guard: the component loses that link) and drops a contact, and after a change of
    max_component_size; the merge is logged in person_id_history and untouched components are not rewritten."""
    paths, _ = _four_day_landing_zone(landing_zone, tmp_path / "data")
    models = ["--select", "+int_person_map", "person_id_history", "+int_person_web_activity", "+int_person_session_stats",
              "+int_person_contacts_aggregated"]
    checked = ["int_person_map", "int_person_session_stats", "int_person_web_activity", "int_person_contacts_aggregated",
               "stg_crm__contacts"]
    run_dbt(["seed"], paths=paths)
    run_dbt(["run", *models], paths=paths, vars={"as_of_date": "2026-02-27"})
    run_dbt(["run", *models], paths=paths, vars={"as_of_date": "2026-02-28"})
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        # two customers with sessions in different small components (y, z; z with a phone), and another one's
        # e-mail (x)
        candidates = """
            select c.customer_id, c.email, c.phone, m.person_id
            from stg_crm__contacts as c
            inner join int_person_map as m on m.node_key = 'customer_id:' || c.customer_id
            where c.delivery_date < '2026-02-28' and m.component_size <= 3 and not m.is_identity_flagged
              and {}
            order by c.customer_id limit 2
        """
        with_sessions = "c.customer_id in (select user_id from int_sessions_sessionized)"
        z = con.execute(candidates.format(f"c.phone is not null and {with_sessions}")).fetchall()[0]
        y = con.execute(candidates.format(f"{with_sessions} and m.person_id <> '{z[3]}'")).fetchall()[0]
        x = con.execute(candidates.format("c.email is not null and c.customer_id not in "
                                          f"('{y[0]}', '{z[0]}')")).fetchall()[0]
        singles = [x, y, z]
        dropped = con.execute("""
            select customer_id from base_crm__contact_lines where customer_id is not null
            group by customer_id having min(delivery_date) = '2026-02-28' and max(delivery_date) = '2026-02-28'
               and customer_id not in (select customer_id from stg_shop__orders where customer_id is not null)
               and customer_id not in (select user_id from int_web_identity_pairs where user_id is not null)
            order by customer_id limit 1
        """).fetchone()[0]
    (_, x_email, _, _), (y, _, _, y_person), (_, _, z_phone, z_person) = singles
    assert y_person != z_person

    crm = paths.raw / "crm" / "contacts" / "date=2026-02-28" / "contacts.csv"
    header, *rows = crm.read_text().splitlines()
    rows = [r for r in rows if not r.startswith(dropped + ",")]
    stamp = "2026-02-28T23:00:00Z"
    # (address_line and postcode empty: the generator writes all 17 columns)
    rows += [f"CX{i},{x_email},,New,Contact,,,,DE,{stamp},false,none,,,{stamp},," for i in range(3)]  # x's e-mail: 4 contacts
    rows.append(f"{y},y.new@example.com,{z_phone},Y,Merged,,,,DE,{stamp},false,none,,,{stamp},,")  # y takes z's phone
    crm.write_text("\n".join([header, *rows]) + "\n")
    run_dbt(["run", *models], paths=paths, vars={"as_of_date": "2026-02-28"})

    n = _equal_to_full_refresh(paths, tmp_path, "2026-02-28", checked)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        rejected = con.execute("select guard from int_identity_rejected_identifiers where node_key = ?",
                               [f"email:{x_email}"]).fetchone()
        y_now, z_now = (con.execute("select person_id from int_person_map where node_key = ?", [f"customer_id:{c}"])
                        .fetchone()[0] for c in (y, singles[2][0]))
        gone = con.execute("select count(*) from int_person_map where node_key = ?", [f"customer_id:{dropped}"]).fetchone()[0]
        gone_contact = con.execute("select count(*) from stg_crm__contacts where customer_id = ?", [dropped]).fetchone()[0]
        rewritten = con.execute("select count(*) from int_person_map where mapped_as_of_date = '2026-02-28'").fetchone()[0]
        moved = con.execute("select old_person_id, new_person_id from person_id_history "
                            "where changed_as_of_date = '2026-02-28'").fetchall()
    assert rejected == ("shared email",)
    assert y_now == z_now
    assert {y_person, z_person} - {y_now} <= {old for old, new in moved if new == y_now}
    assert gone == gone_contact == 0
    assert 0 < rewritten < n / 2  # only the changed components were recomputed

    # a smaller max_component_size flags (and splits) the components above it on the next incremental run
    run_dbt(["run", *models], paths=paths, vars={"as_of_date": "2026-02-28", "max_component_size": 2})
    _equal_to_full_refresh(paths, tmp_path, "2026-02-28", checked, {"max_component_size": 2})
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from int_person_map where is_identity_flagged").fetchone()[0] > 0


def test_contact_figures_fall_back_to_the_older_version_when_a_redelivery_drops_the_newest(landing_zone, tmp_path):
    """A CRM re-delivery that no longer holds a customer's newest version (same e-mail and phone, so the person
    map keeps its rows) makes the incremental contacts (stg_crm__contacts) and contact figures fall back to
    the older version, as a full rebuild does; the persons whose contacts did not change keep their rows."""
    paths, _ = _four_day_landing_zone(landing_zone, tmp_path / "data")
    models = ["--select", "+int_person_contacts_aggregated"]
    with duckdb.connect() as con:
        older = paths.raw / "crm" / "contacts" / "date=2026-02-20" / "contacts.csv"
        customer, city = con.execute(f"""
            select customer_id, city from read_csv('{older}', all_varchar = true)
            where email is not null and city is not null and customer_id not like 'CX%'
            order by customer_id limit 1
        """).fetchone()
    crm = paths.raw / "crm" / "contacts" / "date=2026-02-28" / "contacts.csv"
    original = crm.read_text()
    line = next(r for r in older.read_text().splitlines() if r.startswith(customer + ","))
    fields = line.split(",")
    fields[7], fields[14] = "Newtown", "2026-02-28T12:00:00Z"  # city, updated_at
    crm.write_text(original + ",".join(fields) + "\n")
    run_dbt(["seed"], paths=paths)
    run_dbt(["run", *models], paths=paths, vars={"as_of_date": "2026-02-27"})
    run_dbt(["run", *models], paths=paths, vars={"as_of_date": "2026-02-28"})

    def figures() -> tuple:
        with duckdb.connect(str(paths.warehouse), read_only=True) as con:
            return con.execute("""
                select a.city, m.mapped_at, a.computed_at,
                       (select count(*) from int_person_contacts_aggregated where computed_at = a.computed_at)
                from int_person_contacts_aggregated as a
                inner join int_person_map as m on m.person_id = a.person_id and m.node_key = 'customer_id:' || ?
            """, [customer]).fetchone()

    city_before, mapped_before, computed_before, _ = figures()
    assert city_before == "Newtown"
    crm.write_text(original)  # re-delivered without the new version
    run_dbt(["run", *models], paths=paths, vars={"as_of_date": "2026-02-28"})
    city_after, mapped_after, computed_after, recomputed = figures()
    assert (city_after, mapped_after) == (city, mapped_before)  # older version; the map did not change
    assert computed_after > computed_before
    n = _equal_to_full_refresh(paths, tmp_path, "2026-02-28", ["int_person_contacts_aggregated", "stg_crm__contacts"])
    assert 0 < recomputed < n / 10
