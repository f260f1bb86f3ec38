"""One generated landing zone with no-key duplicates, built through the pipeline's build (dbt staging, the
matching step, dbt identity and marts) for its second-to-last day (full: the first model is trained) and its
last day (incremental matching), with hand-written contacts on the last day: an old-header file (no postal
columns), contacts with only a customer_id or one-letter names, and a messy address."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from devtools.generator import GeneratorConfig, generate
from segwarehouse.core.paths import Paths

DATA = GeneratorConfig(users=2500, days=30, seed=26)
LAST_DAY = DATA.start_date + timedelta(days=DATA.days - 1)
OLD_HEADER = ("customer_id,email,phone,first_name,last_name,birth_date,gender,city,country,signup_at,"
              "marketing_consent,loyalty_tier,income_bracket,interests,updated_at")
REPO = Path(__file__).resolve().parents[2]


def _csv(value) -> str:
    return "" if value is None else str(value)


def _typo(name: str) -> str:
    """The name with its third letter replaced (its first letter and length kept)."""
    return name[:2] + ("x" if name[2].lower() != "x" else "z") + name[3:]


def _transposed(birth_date: str) -> str:
    """The ISO date with two digits transposed (the day's, else day and month, else the year's last two): another
    valid date of an age staging keeps."""
    y, m, d = birth_date.split("-")
    for candidate in (f"{y}-{m}-{d[::-1]}", f"{y}-{d}-{m}", f"{y[:2]}{y[3]}{y[2]}-{m}-{d}"):
        try:
            if date.fromisoformat(candidate) != date.fromisoformat(birth_date) and candidate[:4] <= "2010":
                return candidate
        except ValueError:
            continue
    raise ValueError(f"no transposition of {birth_date} is a valid date")


def _plant_hand_written_contacts(paths: Paths) -> dict:
    """Write the hand-written contacts into the last day's partition; return their ids by role."""
    con = duckdb.connect()
    src = con.execute(f"""
        select c.* from read_csv('{paths.raw}/crm/contacts/*/*.csv', all_varchar=true, ignore_errors=true) c
        join '{paths.truth}/contacts.parquet' t using (customer_id)
        where t.kind = 'primary' and c.birth_date is not null and c.address_line is not null
          and length(c.first_name) >= 4 and length(c.last_name) >= 4
        order by c.customer_id limit 2""").fetchall()
    cols = [d[0] for d in con.description]
    a, b = (dict(zip(cols, row, strict=True)) for row in src)
    folder = paths.raw / "crm" / "contacts" / f"date={LAST_DAY}"
    ts = f"{LAST_DAY}T10:00:00Z"

    def old_row(cid, first, last, birth, city, country) -> str:
        return ",".join(_csv(v) for v in (cid, None, None, first, last, birth, None, city, country, ts, "false",
                                          "none", None, None, ts))

    (folder / "old_header.csv").write_text("\n".join([
        OLD_HEADER,
        # the same person as contact a, signed up again without e-mail or phone, from an export without address
        old_row("X00000001", a["first_name"], a["last_name"], a["birth_date"], a["city"], a["country"]),
        # only a customer_id
        old_row("X00000002", None, None, None, None, None),
        # one-letter names, the same birth date and city as contact b
        old_row("X00000003", b["first_name"][0], b["last_name"][0], b["birth_date"], b["city"], b["country"]),
        # namesakes of contact b: abroad with the same birth date; at home in another city with a first-name
        # typo and two birth-date digits transposed (both vetoed)
        old_row("X00000005", b["first_name"], b["last_name"], b["birth_date"], "Springfield",
                "US" if b["country"] != "US" else "DE"),
        old_row("X00000006", _typo(b["first_name"]), b["last_name"], _transposed(b["birth_date"]), "Otherton",
                b["country"]),
    ]) + "\n")
    (folder / "messy_address.csv").write_text(
        OLD_HEADER + ",address_line,postcode\n"
        + ",".join(_csv(v) for v in ("X00000004", None, None, "Zed", "Quorra", "1980-01-01", "F", "London", "GB", ts,
                                      "false", "none", None, None, ts, '"  12 Baker St., Flat 4 "', "sw1a 1aa")) + "\n")
    return {"same_as_a": ("X00000001", a["customer_id"]), "only_id": "X00000002", "one_letter": "X00000003",
            "messy": "X00000004", "namesakes_of_b": (b["customer_id"], "X00000005", "X00000006")}


@pytest.fixture(scope="session")
def matched(tmp_path_factory) -> dict:
    from segwarehouse.warehouse.build import build
    from segwarehouse.warehouse.identity.matching import match_contacts

    root = tmp_path_factory.mktemp("identity")
    home = root / "home"  # a copy of the project: the veto test edits its do-not-link seed
    home.mkdir()
    shutil.copytree(REPO / "dbt_project", home / "dbt_project",
                    ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    shutil.copytree(REPO / "config", home / "config")
    paths = Paths(home=home, data=root / "data")
    generate(DATA, paths.raw, paths.truth)
    planted = _plant_hand_written_contacts(paths)
    first = build(LAST_DAY - timedelta(days=1), paths)
    last = build(LAST_DAY, paths)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        incremental_links = con.execute(
            "select customer_id_l, customer_id_r, match_probability from identity.probabilistic_links").fetchall()
    # the same contacts scored from scratch with the same model
    full = match_contacts(paths, LAST_DAY, full=True)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        full_links = con.execute(
            "select customer_id_l, customer_id_r, match_probability from identity.probabilistic_links").fetchall()
    return {"paths": paths, "planted": planted, "first": first["matching"], "last": last["matching"],
            "full": full, "incremental_links": incremental_links, "full_links": full_links}


@pytest.fixture
def con(matched):
    c = duckdb.connect(str(matched["paths"].warehouse), read_only=True)
    c.execute(f"SET file_search_path = '{matched['paths'].truth}'")
    yield c
    c.close()


def pairwise(con: duckdb.DuckDBPyConnection, truth_filter: str = "true") -> tuple[float, float, int]:
    """Pairwise precision and recall of contact -> person (int_person_map) against the truth's contacts."""
    tp, predicted, actual = con.execute(f"""
        with t as (select * from 'contacts.parquet' where kind <> 'update' and {truth_filter}),
        j as (select t.customer_id, t.true_person_id, m.person_id
              from t join int_person_map m on m.node_key = 'customer_id:' || t.customer_id)
        select (select sum(n * (n - 1) / 2) from (select count(*) n from j group by person_id, true_person_id)),
               (select sum(n * (n - 1) / 2) from (select count(*) n from j group by person_id)),
               (select sum(n * (n - 1) / 2) from (select count(*) n from j group by true_person_id))""").fetchone()
    return float(tp) / float(predicted), float(tp) / float(actual), int(actual)


__all__ = ["DATA", "LAST_DAY", "date", "pairwise"]
