"""CRM contact versions (primary, duplicate and updated contacts) as numeric columns with a delivery day."""

from __future__ import annotations

import numpy as np

from devtools.generator.config import GeneratorConfig
from devtools.generator.names import CATEGORIES, name_arrays
from devtools.generator.nokey import add_addresses, nokey_duplicates
from devtools.generator.personas import PERSONAS
from devtools.generator.population import Population
from devtools.generator.simulate import _OFFSET_OF_COUNTRY


def build_contacts(cfg: GeneratorConfig, pop: Population, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every contact version of the window, sorted by delivery day."""
    dirt, days = cfg.dirt, cfg.days
    reg = np.flatnonzero(pop.registered)
    persona = pop.persona[reg]
    n = len(reg)
    day0 = int(np.datetime64(cfg.start_date, "s").astype(np.int64))
    start_day = int(np.datetime64(cfg.start_date, "D").astype(np.int64))

    ages = np.array([PERSONAS[k].age_range for k in persona])
    age_days = (rng.uniform(ages[:, 0], ages[:, 1] + 1) * 365.25).astype(np.int64)
    birth_day = start_day - age_days
    impossible = rng.random(n) < dirt.impossible_age
    birth_day[impossible] = np.where(rng.random(impossible.sum()) < 0.5,
                                     start_day - rng.integers(130, 200, impossible.sum()) * 366,  # age 130+
                                     start_day + rng.integers(30, 3000, impossible.sum()))  # born in the future
    tier_cum = np.cumsum([p.tier_mix for p in PERSONAS], axis=1)
    inc_cum = np.cumsum([p.income_mix for p in PERSONAS], axis=1)
    tier = np.minimum((rng.random(n)[:, None] > tier_cum[persona]).sum(axis=1), 4)
    income = np.minimum((rng.random(n)[:, None] > inc_cum[persona]).sum(axis=1), 4)
    interests = (1 << pop.fav_category[reg]) | np.where(rng.random(n) < 0.5, 1 << rng.integers(0, len(CATEGORIES), n), 0)
    signup_ts = day0 + pop.signup_day[reg] * 86400 + rng.integers(8 * 3600, 22 * 3600, n)
    miss = lambda: rng.random(n) < dirt.missing_field  # noqa: E731

    primary = {
        "person": reg, "customer_no": pop.customer_no[reg], "kind": np.zeros(n, dtype=np.int64),
        "delivery_day": np.maximum(pop.signup_day[reg], 0),
        "placeholder": pop.placeholder_email[reg], "email_v": np.where(rng.random(n) < 0.8, 0, rng.integers(1, 4, n)),
        "email_missing": rng.random(n) < dirt.missing_field / 2, "phone_missing": miss(),
        "phone_f": rng.integers(0, 4, n), "shared_phone": pop.shared_phone[reg],
        "first_name": pop.first_name[reg], "last_name": pop.last_name[reg],
        "birth_day": birth_day, "birth_missing": miss() & ~impossible, "impossible_age": impossible,
        "gender": np.where(miss(), -1, rng.choice(3, size=n, p=[0.48, 0.48, 0.04])),
        "city": rng.integers(0, 4, n), "city_missing": miss(), "country": pop.country[reg],
        "signup_ts": signup_ts, "consent": pop.consent[reg], "tier": tier,
        "income": np.where(miss(), -1, income), "interests": np.where(miss(), 0, interests),
        "tz_min": _OFFSET_OF_COUNTRY[pop.country[reg]],
    }
    primary["updated_ts"] = signup_ts.copy()
    # names as written (strings: a no-key duplicate may misspell them), e-mail/phone overrides, postal address;
    # drawn from their own stream so that the other columns stay as they were for a seed
    first_s, last_s, first_ascii, last_ascii = name_arrays()
    primary["first_s"], primary["last_s"] = first_s[primary["first_name"]], last_s[primary["last_name"]]
    primary["first_ascii"], primary["last_ascii"] = first_ascii[primary["first_name"]], last_ascii[primary["last_name"]]
    primary["email_new"], primary["phone_new"] = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    primary["email_s"], primary["phone_s"] = np.full(n, None, dtype=object), np.full(n, None, dtype=object)
    primary["perturbations"], primary["has_evidence"] = np.full(n, "", dtype=object), np.ones(n, dtype=bool)
    extra = np.random.default_rng([cfg.seed, 1, 1])
    add_addresses(primary, dirt.missing_field, extra)

    # a second contact of the same person: e-mail typed differently (or missing), phone in another format
    dup = pop.dup_customer_no[reg] >= 0
    d = {k: v[dup].copy() for k, v in primary.items()}
    m = int(dup.sum())
    d["customer_no"] = pop.dup_customer_no[reg][dup]
    d["kind"] = np.ones(m, dtype=np.int64)
    d["delivery_day"] = np.maximum(pop.dup_day[reg][dup], d["delivery_day"])
    d["email_missing"] = rng.random(m) < 0.3
    d["email_v"] = rng.integers(1, 4, m)
    d["phone_missing"] = np.zeros(m, dtype=bool)
    d["phone_f"] = (d["phone_f"] + rng.integers(1, 4, m)) % 4
    d["impossible_age"] = np.zeros(m, dtype=bool)
    d["birth_missing"] = np.ones(m, dtype=bool)
    d["tier"] = np.zeros(m, dtype=np.int64)
    d["signup_ts"] = day0 + d["delivery_day"] * 86400 + rng.integers(9 * 3600, 19 * 3600, m)
    d["updated_ts"] = d["signup_ts"].copy()

    # later versions of primary contacts: tier or consent changed
    upd = (rng.random(n) < dirt.crm_update) & (primary["delivery_day"] < days - 1)
    u = {k: v[upd].copy() for k, v in primary.items()}
    k = int(upd.sum())
    u["kind"] = np.full(k, 2)
    u["delivery_day"] = u["delivery_day"] + 1 + (rng.random(k) * (days - 1 - u["delivery_day"])).astype(np.int64)
    u["tier"] = np.minimum(u["tier"] + 1, 4)
    u["consent"] = np.where(rng.random(k) < 0.3, ~u["consent"], u["consent"])
    u["updated_ts"] = day0 + u["delivery_day"] * 86400 + rng.integers(0, 86400, k)

    first_free = int(max(pop.customer_no.max(), pop.dup_customer_no.max(), 0)) + 1
    nk = nokey_duplicates(cfg, primary, first_free, extra)
    rows = {key: np.concatenate([primary[key], d[key], u[key], nk[key]]) for key in primary}
    # exact re-exports of a row within the same file
    again = np.flatnonzero(rng.random(len(rows["person"])) < dirt.crm_exact_duplicate_row)
    rows = {key: np.concatenate([v, v[again]]) for key, v in rows.items()}
    rows["exact_duplicate"] = np.concatenate([np.zeros(len(rows["person"]) - len(again), dtype=bool),
                                              np.ones(len(again), dtype=bool)])
    order = np.lexsort((rows["customer_no"], rows["delivery_day"]))
    return {key: v[order] for key, v in rows.items()}
