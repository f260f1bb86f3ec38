"""Write a synthetic landing zone day by day (bounded memory) plus ground truth and a manifest."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from devtools.generator.config import GeneratorConfig
from devtools.generator.crm import build_contacts
from devtools.generator.experiment import PlantedEffects
from devtools.generator.names import name_arrays
from devtools.generator.personas import PERSONA_NAMES
from devtools.generator.population import MAX_DEVICES, Population, build_population
from devtools.generator.simulate import DaySimulator
from devtools.generator.sql import CONTACTS_SELECT, EVENTS_SELECT, ITEMS_SELECT, ORDERS_SELECT, macro_sql
from segwarehouse.landing.sources import SOURCES as LANDING_SOURCES

# the landing-zone layout the generator writes (owned by segwarehouse.landing): key -> (folder, file name)
SOURCES = {key: (s.folder, s.file_name) for key, s in LANDING_SOURCES.items()}
_BROKEN_JSON = ('{"event_id": "e-broken-{n}", "event_type": "page_v', "<html>502 Bad Gateway</html>",
                '{"event_id": "e-broken-{n}", "event_at": }')
_BROKEN_CSV = ("{n},garbage line without enough fields", "\x00\x01binary junk {n}",
               "{n},a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,too many fields")


def _partition(raw: Path, source: str, day: str) -> Path:
    folder, name = SOURCES[source]
    path = raw / folder / f"date={day}" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _append_broken(path: Path, n: int, templates: tuple[str, ...], tag: str) -> None:
    if n:
        with path.open("a", encoding="utf-8") as fh:
            for i in range(n):
                fh.write(templates[i % len(templates)].replace("{n}", f"{tag}-{i}") + "\n")


class _Writer:
    """Formats numeric frames to source files through DuckDB (multi-threaded, order preserving)."""

    def __init__(self, seed: int, start: str) -> None:
        self.con = duckdb.connect()
        self.con.execute("SET threads = 2; SET preserve_insertion_order = true")
        for stmt in macro_sql(seed):
            self.con.execute(stmt)
        self.seed, self.start = seed, start

    def write(self, select: str, cols: dict[str, np.ndarray], path: Path, fmt: str,
              empty: tuple[str, ...] = ()) -> int:
        table = pa.table(cols)
        self.con.register("t", table)
        query = select.format(seed=self.seed, start=self.start, table="t")
        if empty:  # the column stays in the file (same header), every value empty
            query = f"SELECT * REPLACE ({', '.join(f'NULL::VARCHAR AS {c}' for c in empty)}) FROM ({query})"
        opts = "FORMAT JSON" if fmt == "json" else "FORMAT CSV, HEADER true"
        self.con.execute(f"COPY ({query}) TO '{path}' ({opts})")
        self.con.unregister("t")
        return table.num_rows


def generate(cfg: GeneratorConfig, raw: Path, truth: Path, *, log=None) -> dict:
    """Generate the landing zone under `raw` and ground truth under `truth`; return the manifest."""
    t0 = time.perf_counter()
    raw, truth = Path(raw), Path(truth)
    truth.mkdir(parents=True, exist_ok=True)
    pop = build_population(cfg, np.random.default_rng([cfg.seed, 0]))
    contacts = build_contacts(cfg, pop, np.random.default_rng([cfg.seed, 1]))
    sim = DaySimulator(cfg, pop)
    plant = PlantedEffects(cfg, pop, cfg.experiment) if cfg.experiment else None
    writer = _Writer(cfg.seed, cfg.start_date.isoformat())
    dirt = cfg.dirt
    counts: dict[str, int] = defaultdict(int)
    pending: dict[int, list[dict[str, np.ndarray]]] = defaultdict(list)  # events waiting for a later delivery
    _, _, first_ascii, last_ascii = name_arrays()
    contact_bounds = np.searchsorted(contacts["delivery_day"], np.arange(cfg.days + 1))

    def empty_in(source: str) -> tuple[str, ...]:
        return tuple(c.partition(".")[2] for c in cfg.empty_columns if c.partition(".")[0] == source)

    for d in range(cfg.days):
        rng = np.random.default_rng([cfg.seed, 2, d])
        day = cfg.start_date + timedelta(days=d)
        out = sim.day(d, rng)
        if plant:
            plant.apply(d, out, sim)
        ev = out["events"]
        n = len(ev["person"])
        ev["ev_key"] = d * 10_000_000 + np.arange(n)
        ev["ts_dirt"] = np.where(rng.random(n) < dirt.future_timestamp, 1,
                                 np.where(rng.random(n) < dirt.unparseable_timestamp, 2, 0))
        ev["no_id"] = rng.random(n) < dirt.missing_event_id
        delay = np.where(rng.random(n) < dirt.late_event, rng.integers(1, 4, n), 0)
        redeliver = (rng.random(n) < dirt.redelivered_event) & (delay == 0) & ~ev["no_id"]
        for lag in (1, 2, 3):
            sel = delay == lag
            if sel.any() and d + lag < cfg.days:
                pending[d + lag].append({k: v[sel] for k, v in ev.items()})
            counts["events_late"] += int(sel.sum()) if d + lag < cfg.days else 0
            counts["events_not_yet_delivered"] += int(sel.sum()) if d + lag >= cfg.days else 0
        if redeliver.any() and d + 1 < cfg.days:
            pending[d + 1].append({k: v[redeliver] for k, v in ev.items()})
            counts["events_redelivered"] += int(redeliver.sum())
        today = [{k: v[delay == 0] for k, v in ev.items()}, *pending.pop(d, [])]
        ev_out = {k: np.concatenate([part[k] for part in today]) for k in ev}
        counts["events_future_ts"] += int((ev_out["ts_dirt"] == 1).sum())
        counts["events_unparseable_ts"] += int((ev_out["ts_dirt"] == 2).sum())
        counts["events_missing_id"] += int(ev_out["no_id"].sum())
        broken = int(rng.binomial(len(ev_out["person"]), dirt.malformed_line))
        if "events" not in cfg.omit_sources:
            path = _partition(raw, "events", day.isoformat())
            counts["events_rows"] += writer.write(EVENTS_SELECT, ev_out, path, "json", empty_in("events"))
            _append_broken(path, broken, _BROKEN_JSON, f"{d}")
            counts["events_malformed_lines"] += broken

        orders, items = out["orders"], out["order_items"]
        m = len(orders["person"])
        if m:
            orders["placeholder"] = pop.placeholder_email[orders["person"]]
            orders["first_ascii"] = first_ascii[pop.first_name[orders["person"]]]
            orders["last_ascii"] = last_ascii[pop.last_name[orders["person"]]]
            orders["email_v"] = rng.integers(0, 4, m)
            orders["email_too"] = (rng.random(m) < 0.5) & (orders["store_channel"] != 2)
            bad_amount = (rng.random(m) < dirt.bad_amount) & (orders["status"] == 0)
            orders["amount"] = np.where(bad_amount, np.where(rng.random(m) < 0.5, 0.0, -orders["amount"]), orders["amount"])
            unknown = rng.random(m) < dirt.unknown_currency
            orders["currency"] = np.where(unknown, -rng.integers(1, 4, m), orders["currency"])
            orders["ts_dirt"] = np.where(rng.random(m) < dirt.future_timestamp, 1,
                                         np.where(rng.random(m) < dirt.unparseable_timestamp, 2, 0))
            counts["orders_bad_amount"] += int(bad_amount.sum())
            counts["orders_unknown_currency"] += int(unknown.sum())
            counts["orders_future_ts"] += int((orders["ts_dirt"] == 1).sum())
            counts["orders_unparseable_ts"] += int((orders["ts_dirt"] == 2).sum())
            broken = int(rng.binomial(m, dirt.malformed_line))
            if "orders" not in cfg.omit_sources:
                path = _partition(raw, "orders", day.isoformat())
                counts["orders_rows"] += writer.write(ORDERS_SELECT, orders, path, "csv", empty_in("orders"))
                _append_broken(path, broken, _BROKEN_CSV, f"O{d}")
                counts["orders_malformed_lines"] += broken
                counts["order_items_rows"] += writer.write(ITEMS_SELECT, items, _partition(raw, "order_items", day.isoformat()), "csv")

        lo, hi = contact_bounds[d], contact_bounds[d + 1]
        if hi > lo:
            part = {k: v[lo:hi] for k, v in contacts.items()}
            broken = int(rng.binomial(hi - lo, dirt.malformed_line))
            if "contacts" not in cfg.omit_sources:
                path = _partition(raw, "contacts", day.isoformat())
                counts["contacts_rows"] += writer.write(CONTACTS_SELECT, part, path, "csv", empty_in("contacts"))
                _append_broken(path, broken, _BROKEN_CSV, f"C{d}")
                counts["contacts_malformed_lines"] += broken
        if log:
            log(f"{day} events={len(ev_out['person'])} orders={m} contacts={hi - lo}")

    counts["contacts_exact_duplicates"] = int(contacts["exact_duplicate"].sum())
    counts["contacts_impossible_age"] = int((contacts["impossible_age"] & ~contacts["exact_duplicate"]).sum())
    counts["contacts_duplicate_person_records"] = int((contacts["kind"] == 1).sum() - (contacts["exact_duplicate"] & (contacts["kind"] == 1)).sum())
    counts["contacts_nokey_duplicates"] = int(((contacts["kind"] == 3) & ~contacts["exact_duplicate"]).sum())
    counts["contacts_updates"] = int((contacts["kind"] == 2).sum() - (contacts["exact_duplicate"] & (contacts["kind"] == 2)).sum())
    _write_truth(cfg, pop, sim, contacts, writer, truth)
    settings = asdict(cfg)
    if plant:
        plant.write_truth(truth / "experiment.parquet")
    else:
        settings.pop("experiment")
    manifest = {
        "config": {**settings, "start_date": cfg.start_date.isoformat()},
        "end_date": (cfg.start_date + timedelta(days=cfg.days - 1)).isoformat(),
        "counts": dict(sorted(counts.items())),
        "persons": int(pop.size), "registered_persons": int(pop.registered.sum()),
        "persona_counts": {name: int((pop.persona == i).sum()) for i, name in enumerate(PERSONA_NAMES)},
        "seconds": round(time.perf_counter() - t0, 2),
    }
    (truth / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    return manifest


def _write_truth(cfg: GeneratorConfig, pop: Population, sim: DaySimulator, contacts: dict[str, np.ndarray],
                 writer: _Writer, truth: Path) -> None:
    """persons.parquet, identifiers.parquet (which identifiers deterministic links can attach) and
    contacts.parquet (every CRM contact -> its person, with the no-key duplicates' perturbations)."""
    n = pop.size
    con = writer.con
    persons = pa.table({
        "true_person_id": np.arange(n), "persona": pa.array(np.array(PERSONA_NAMES)[pop.persona]),
        "is_registered": pop.registered, "n_crm_records": pop.registered.astype(np.int64) + (pop.dup_customer_no >= 0),
        "signup_day": pop.signup_day,
    })
    con.register("persons", persons)
    con.execute(f"COPY (SELECT true_person_id, persona, is_registered, n_crm_records, "
                f"DATE '{cfg.start_date}' + signup_day::INT AS signup_date FROM persons) "
                f"TO '{truth / 'persons.parquet'}' (FORMAT PARQUET)")

    # devices: linkable when the person logged in on it (or clicked a mail on it); shared ones never
    slots = np.flatnonzero(pop.device_code.ravel() >= 0)
    person_of = slots // MAX_DEVICES
    code = pop.device_code.ravel()[slots]
    shared = code >= n * MAX_DEVICES
    linkable = np.where(pop.registered[person_of], sim.logged_device.ravel()[slots], True) & ~shared
    devices = pa.table({"person": person_of, "code": code, "shared": shared, "linkable": linkable})
    primary = contacts["kind"] == 0
    uniq = ~contacts["exact_duplicate"]
    c = {k: v[uniq & (contacts["kind"] != 2)] for k, v in contacts.items()}
    crm = pa.table({k: c[k] for k in ("person", "customer_no", "kind", "placeholder", "email_missing", "phone_missing",
                                      "first_ascii", "last_ascii", "country", "shared_phone", "perturbations",
                                      "has_evidence")})
    del primary
    con.register("devices", devices)
    con.register("crm", crm)
    con.execute(f"""
    COPY (
      WITH c AS (
        SELECT *, lower(trim(base_email(person, first_ascii, last_ascii, placeholder))) AS norm_email,
               '+' || calling_code(country, shared_phone) || national_no(person, shared_phone) AS norm_phone
        FROM crm WHERE kind <> 3
      ), p AS (SELECT * FROM c WHERE kind = 0),
      dup AS (
        SELECT d.person, d.customer_no,
               (NOT d.email_missing AND NOT p.email_missing AND d.placeholder < 0)
               OR (NOT p.phone_missing AND d.shared_phone < 0) AS linkable
        FROM c AS d JOIN p USING (person) WHERE d.kind = 1
      )
      SELECT person AS true_person_id, 'customer_id' AS id_type, customer_id(customer_no) AS id_value,
             false AS is_shared, true AS is_linkable FROM p
      UNION ALL
      SELECT person, 'customer_id', customer_id(customer_no), false, linkable FROM dup
      UNION ALL
      -- no-key duplicates: no deterministic link can attach them (their own e-mails and phones are not listed)
      SELECT person, 'customer_id', customer_id(customer_no), false, false FROM crm WHERE kind = 3
      UNION ALL
      SELECT DISTINCT person, 'email', norm_email, placeholder >= 0, NOT email_missing AND placeholder < 0
      FROM c WHERE NOT email_missing
      UNION ALL
      SELECT DISTINCT person, 'phone', norm_phone, shared_phone >= 0, shared_phone < 0
      FROM c WHERE NOT phone_missing
      UNION ALL
      SELECT person, 'anonymous_id', anon_id(code), shared, linkable FROM devices
      ORDER BY 1, 2, 3
    ) TO '{truth / 'identifiers.parquet'}' (FORMAT PARQUET)""")
    # every CRM contact -> its person: the truth of contact-level (pairwise) identity resolution
    con.execute(f"""
    COPY (
      SELECT customer_id(customer_no) AS customer_id, person AS true_person_id,
             ['primary', 'shared_key_duplicate', 'update', 'no_key_duplicate'][kind + 1] AS kind,
             perturbations, has_evidence
      FROM crm ORDER BY customer_no
    ) TO '{truth / 'contacts.parquet'}' (FORMAT PARQUET)""")
