"""Day-by-day simulation of sessions, events, orders and contact versions as numeric columns.

Everything is vectorised over the day's sessions; strings are produced later by DuckDB (see writers.py).
"""

from __future__ import annotations

import numpy as np

from devtools.generator.config import GeneratorConfig
from devtools.generator.personas import BROWSE_TYPES, CHANNELS, PERSONAS
from devtools.generator.population import COUNTRIES, MAX_DEVICES, N_CATEGORIES, Population

EVENT_TYPES = ("page_view", "product_view", "add_to_cart", "checkout", "purchase", "search", "login",
               "email_open", "email_click")
ET = {name: i for i, name in enumerate(EVENT_TYPES)}
_BROWSE_CODES = np.array([ET[t] for t in BROWSE_TYPES])
CURRENCIES = ("EUR", "USD", "GBP", "SEK", "JPY")
EUR_PER_UNIT = (1.0, 0.92, 1.17, 0.087, 0.0062)  # also the dbt FX seed
COUNTRY_CURRENCY = {"DE": 0, "US": 1, "GB": 2, "FR": 0, "SE": 3, "NL": 0, "ES": 0, "JP": 4}
COUNTRY_OFFSET_MIN = {"DE": 60, "US": -300, "GB": 0, "FR": 60, "SE": 60, "NL": 60, "ES": 60, "JP": 540}
STATUSES = ("completed", "refunded", "cancelled")
STORE_CHANNELS = ("web", "app", "store")
_CUR_OF_COUNTRY = np.array([COUNTRY_CURRENCY[c] for c in COUNTRIES])
_OFFSET_OF_COUNTRY = np.array([COUNTRY_OFFSET_MIN[c] for c in COUNTRIES])
_CHANNEL_CUM = np.cumsum([p.channel_mix for p in PERSONAS], axis=1)
_BROWSE_CUM = np.cumsum([p.browse_mix for p in PERSONAS], axis=1)
CAMPAIGN_WEEKDAY = 1  # weekly newsletter goes out on Tuesdays


def _pick(cum: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Vectorised categorical draw: one choice per row from the row's cumulative probabilities."""
    u = rng.random(len(rows))[:, None]
    return np.minimum((u > cum[rows]).sum(axis=1), cum.shape[1] - 1)


def _offsets(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of the given sizes: group index of each element and its position within the group."""
    group = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return group, np.arange(counts.sum()) - starts[group]


class DaySimulator:
    """Simulates one day at a time; keeps only counters and small logged-in flags between days."""

    def __init__(self, cfg: GeneratorConfig, pop: Population) -> None:
        self.cfg, self.pop = cfg, pop
        self.day0_epoch = int(np.datetime64(cfg.start_date, "s").astype(np.int64))
        self.session_counter = 0
        self.order_counter = 0
        # which device slots of each person have ever been logged in on (for is_linkable truth)
        self.logged_device = np.zeros((pop.size, MAX_DEVICES), dtype=bool)

    def day(self, d: int, rng: np.random.Generator) -> dict[str, dict[str, np.ndarray]]:
        """Numeric columns of the day's events, orders and order items (before dirt and delivery)."""
        pop = self.pop
        active = (pop.active_from <= d) & (d < pop.active_to)
        weekday = (np.datetime64(self.cfg.start_date) + d).astype("datetime64[D]").view("int64") % 7
        weekend = weekday in (2, 3)  # 1970-01-01 was a Thursday: 2 = Saturday, 3 = Sunday
        lam = pop.session_rate * active * (1.2 if weekend else 1.0)
        n_sess = rng.poisson(lam)
        if d == 0 and self.cfg.everyone_from_day_one:
            n_sess = np.maximum(n_sess, 1)
        person = np.repeat(np.arange(pop.size), n_sess)
        s = len(person)
        session_no = self.session_counter + np.arange(s)
        self.session_counter += s

        slot = (rng.random(s) * pop.n_devices[person]).astype(np.int64)
        anon = pop.device_code[person, slot]
        logged = (rng.random(s) < pop.login_p[person]) & (d >= pop.signup_day[person])
        self.logged_device[person[logged], slot[logged]] = True
        buys = rng.random(s) < pop.purchase_p[person]
        abandons = ~buys & (rng.random(s) < pop.abandon_p[person])
        n_browse = 1 + rng.poisson(np.maximum(pop.browse_events[person] - 1, 0))
        n_lead = logged.astype(np.int64)
        n_tail = 3 * buys + abandons
        n_ev = n_lead + n_browse + n_tail
        channel = _pick(_CHANNEL_CUM, pop.persona[person], rng)
        device = np.where(rng.random(s) < 0.8, pop.device_pref[person], rng.integers(0, 3, s))
        start = self.day0_epoch + d * 86400 + rng.integers(0, 86400 - 3600, s)
        has_hint = rng.random(s) < 0.8

        # orders created by buying sessions
        order_sess = np.flatnonzero(buys)
        order_no = np.full(s, -1, dtype=np.int64)
        order_no[order_sess] = self.order_counter + np.arange(len(order_sess))
        self.order_counter += len(order_sess)

        # expand sessions to events
        sess, pos = _offsets(n_ev)
        p = person[sess]
        et = np.empty(len(sess), dtype=np.int64)
        lead = pos < n_lead[sess]
        browse = ~lead & (pos < (n_lead + n_browse)[sess])
        tail_pos = pos - (n_lead + n_browse)[sess]
        et[lead] = ET["login"]
        et[browse] = _BROWSE_CODES[_pick(_BROWSE_CUM, pop.persona[p[browse]], rng)]
        tail = ~lead & ~browse
        tail_types = np.array([ET["add_to_cart"], ET["checkout"], ET["purchase"]])
        et[tail] = tail_types[np.minimum(tail_pos[tail], 2)]
        fav = rng.random(len(sess)) < pop.affinity[p]
        category = np.where(fav, pop.fav_category[p], rng.integers(0, N_CATEGORIES, len(sess)))
        product = category * 1000 + rng.integers(0, 200, len(sess))
        mean_gap = pop.session_minutes[p] * 60.0 / np.maximum(n_ev[sess], 1)
        gaps = rng.exponential(1.0, len(sess)) * mean_gap
        gaps[pos == 0] = 0.0
        cum = np.cumsum(gaps)
        elapsed = cum - (cum - gaps)[pos == 0][sess]  # time since the session's first event
        web = {
            "person": p, "anon_code": anon[sess], "user_no": np.where(logged[sess], pop.customer_no[p], -1),
            "session_no": np.where(has_hint[sess], session_no[sess], -1), "etype": et,
            "category": category, "product": np.where(np.isin(et, [ET["login"], ET["search"]]), -1, product),
            "order_no": np.where(et == ET["purchase"], order_no[sess], -1), "campaign_day": np.full(len(sess), -1),
            "device": device[sess], "channel": channel[sess], "ts": start[sess] + elapsed.astype(np.int64),
        }
        emails = self._emails(d, weekday, rng)
        events = {k: np.concatenate([web[k], emails[k]]) for k in web}
        events["tz_min"] = _OFFSET_OF_COUNTRY[pop.country[events["person"]]]

        orders, items = self._orders(d, order_sess, person, logged, start, rng)
        return {"events": events, "orders": orders, "order_items": items}

    def _emails(self, d: int, weekday: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        pop = self.pop
        if weekday != CAMPAIGN_WEEKDAY:
            return {k: np.empty(0, dtype=np.int64) for k in (
                "person", "anon_code", "user_no", "session_no", "etype", "category", "product", "order_no",
                "campaign_day", "device", "channel", "ts")}
        lapsed_now = d >= pop.active_to  # lapsed people mostly ignore mail
        open_p = pop.open_p * np.where(lapsed_now, 0.2, 1.0) * (d >= pop.signup_day)
        opened = np.flatnonzero(pop.consent & (rng.random(pop.size) < open_p))
        clicked = opened[rng.random(len(opened)) < pop.click_p[opened]]
        self.logged_device[clicked, 0] = True  # a click carries both user_id and the device's anonymous_id
        person = np.concatenate([opened, clicked])
        n = len(person)
        kind = np.concatenate([np.full(len(opened), ET["email_open"]), np.full(len(clicked), ET["email_click"])])
        ts = self.day0_epoch + d * 86400 + rng.integers(6 * 3600, 22 * 3600, n)
        ts[len(opened):] += rng.integers(30, 3600, len(clicked))
        return {
            "person": person, "anon_code": np.where(kind == ET["email_click"], pop.device_code[person, 0], -1),
            "user_no": pop.customer_no[person], "session_no": np.full(n, -1), "etype": kind,
            "category": pop.fav_category[person], "product": np.full(n, -1), "order_no": np.full(n, -1),
            "campaign_day": np.full(n, d), "device": pop.device_pref[person], "channel": np.full(n, CHANNELS.index("email")),
            "ts": ts,
        }

    def _orders(self, d: int, order_sess: np.ndarray, person: np.ndarray, logged: np.ndarray,
                start: np.ndarray, rng: np.random.Generator) -> tuple[dict, dict]:
        pop = self.pop
        o_person = person[order_sess]
        n = len(o_person)
        cur = _CUR_OF_COUNTRY[pop.country[o_person]]
        eur = np.round(pop.aov_eur[o_person] * rng.lognormal(0.0, 0.3, n), 2)
        guest = ~logged[order_sess]
        n_items = rng.integers(1, 5, n)
        it_order, line = _offsets(n_items)
        weights = rng.random(len(it_order)) + 0.2
        weights /= np.bincount(it_order, weights, minlength=n)[it_order]
        qty = rng.integers(1, 4, len(it_order))
        decimals = np.where(cur[it_order] == CURRENCIES.index("JPY"), 0, 2)
        local_total = eur[it_order] / np.array(EUR_PER_UNIT)[cur[it_order]] * weights
        unit = np.round(local_total / qty * 10.0**decimals) / 10.0**decimals
        unit = np.maximum(unit, 1.0 / 10.0**decimals)
        amount = np.bincount(it_order, unit * qty, minlength=n)
        o_category = np.where(rng.random(len(it_order)) < pop.affinity[o_person[it_order]],
                              pop.fav_category[o_person[it_order]], rng.integers(0, N_CATEGORIES, len(it_order)))
        orders = {
            "order_no": self.order_counter - n + np.arange(n), "person": o_person,
            "customer_no": np.where(guest, -1, pop.customer_no[o_person]), "guest": guest,
            "ts": start[order_sess] + (pop.session_minutes[o_person] * 60).astype(np.int64),
            "tz_min": _OFFSET_OF_COUNTRY[pop.country[o_person]], "currency": cur, "amount": amount,
            "status": rng.choice(3, size=n, p=[0.90, 0.05, 0.05]),
            "store_channel": rng.choice(2, size=n, p=[0.7, 0.3]),
        }
        # store purchases of people with a second CRM contact are booked on that contact
        dup_people = np.flatnonzero(pop.dup_customer_no >= 0)
        if len(dup_people):
            extra = dup_people[rng.random(len(dup_people)) < pop.purchase_p[dup_people] * pop.session_rate[dup_people] * 0.3]
            if len(extra):
                orders, items_extra = self._store_orders(d, orders, extra, rng)
            else:
                items_extra = None
        else:
            items_extra = None
        items = {
            "order_no": orders["order_no"][:n][it_order] if n else np.empty(0, dtype=np.int64),
            "line": line + 1, "product": o_category * 1000 + rng.integers(0, 200, len(it_order)),
            "category": o_category, "qty": qty, "unit": unit, "currency": cur[it_order],
        }
        if items_extra is not None:
            items = {k: np.concatenate([items[k], items_extra[k]]) for k in items}
        return orders, items

    def _store_orders(self, d: int, orders: dict, extra: np.ndarray, rng: np.random.Generator) -> tuple[dict, dict]:
        pop = self.pop
        m = len(extra)
        no = self.order_counter + np.arange(m)
        self.order_counter += m
        cur = _CUR_OF_COUNTRY[pop.country[extra]]
        local = np.round(pop.aov_eur[extra] * rng.lognormal(0.0, 0.3, m) / np.array(EUR_PER_UNIT)[cur], 0)
        local = np.maximum(local, 1.0)
        day_start = self.day0_epoch + d * 86400
        store = {
            "order_no": no, "person": extra, "customer_no": pop.dup_customer_no[extra],
            "guest": np.zeros(m, dtype=bool), "ts": day_start + rng.integers(9 * 3600, 19 * 3600, m),
            "tz_min": _OFFSET_OF_COUNTRY[pop.country[extra]], "currency": cur, "amount": local,
            "status": np.zeros(m, dtype=np.int64), "store_channel": np.full(m, 2),
        }
        merged = {k: np.concatenate([orders[k], store[k]]) for k in orders}
        cat = pop.fav_category[extra]
        items = {"order_no": no, "line": np.ones(m, dtype=np.int64), "product": cat * 1000 + rng.integers(0, 200, m),
                 "category": cat, "qty": np.ones(m, dtype=np.int64), "unit": local, "currency": cur}
        return merged, items
