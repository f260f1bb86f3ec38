"""Postal addresses and the CRM duplicates that share no key with their person's primary contact.

A no-key duplicate is the same person signing up again (store and web, say) with a new or no e-mail and a new
or no phone, so no deterministic link can find it; on top of that it may carry a typo in a name, swapped first
and last names, two birth-date digits transposed or a new address. Only probabilistic matching on names,
birth date and address links it (docs/warehouse.md, "Probabilistic matching").
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from devtools.generator.config import GeneratorConfig
from devtools.generator.names import CALLING_CODES, DOMAINS, STREET_NAMES, STREET_TYPES, name_arrays
from devtools.generator.population import COUNTRIES

HOUSEHOLD_SHARE = 0.1  # contacts at the previous contact's address (hard negatives for address evidence)
MAX_PERTURBATIONS = 2  # a clerk comparing the two records could still tell they are one person
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _raw_case(rng: np.random.Generator, s: str) -> str:
    r = rng.random()
    return s.upper() if r < 0.05 else s.lower() if r < 0.15 else s


def postcode(country: int, city: int, street: int) -> str:
    """A postcode in the country's shape, fixed by city and street."""
    h = (country * 31 + city * 7919 + street * 104729) % 100000
    code = COUNTRIES[country]
    if code == "GB":
        return f"{_LETTERS[(city * 3 + country) % 26].upper()}{_LETTERS[(street * 7) % 26].upper()}{city % 20 + 1} " \
               f"{h % 10}{_LETTERS[h % 26].upper()}{_LETTERS[(h // 26) % 26].upper()}"
    if code == "NL":
        return f"{1000 + h % 9000} {_LETTERS[h % 26].upper()}{_LETTERS[(h // 7) % 26].upper()}"
    if code == "SE":
        return f"{100 + h % 900} {10 + h % 90}"
    if code == "JP":
        return f"{100 + h % 900}-{1000 + h % 9000}"
    return f"{h:05d}"


def address_line(rng: np.random.Generator, street: int, street_type: int, house: int, unit: int) -> str:
    """How a person writes the address: street-type abbreviations, case, stray spaces, apartment spelling."""
    full, abbreviations = STREET_TYPES[street_type]
    kind = full if rng.random() < 0.4 else abbreviations[int(rng.integers(0, len(abbreviations)))]
    line = f"{house} {STREET_NAMES[street]} {kind}"
    if unit:
        line += f", Apt {unit}" if rng.random() < 0.5 else f" apt. {unit}"
    line = _raw_case(rng, line)
    if rng.random() < 0.1:
        line = "  " + line.replace(" ", "  ", 1) + " "
    return line


def add_addresses(primary: dict[str, np.ndarray], missing_rate: float, rng: np.random.Generator) -> None:
    """address_line and postcode columns (object arrays, None = empty) for the primary contacts."""
    n = len(primary["person"])
    street = rng.integers(0, len(STREET_NAMES), n)
    street_type = rng.integers(0, len(STREET_TYPES), n)
    house = rng.integers(1, 300, n)
    unit = np.where(rng.random(n) < 0.1, rng.integers(1, 40, n), 0)
    city = primary["city"]
    household = np.flatnonzero(rng.random(n) < HOUSEHOLD_SHARE)
    household = household[(household > 0) & (primary["country"][household] == primary["country"][np.maximum(household - 1, 0)])]
    for arr in (street, street_type, house, unit):
        arr[household] = arr[household - 1]
    city[household] = city[household - 1]
    missing = rng.random(n) < missing_rate
    no_postcode = rng.random(n) < missing_rate / 2
    primary["street"] = street
    primary["address_line"] = np.array([None if missing[i] else address_line(rng, street[i], street_type[i], house[i], unit[i])
                                        for i in range(n)], dtype=object)
    primary["postcode"] = np.array([None if missing[i] or no_postcode[i] else
                                    postcode(int(primary["country"][i]), int(city[i]), int(street[i]))
                                    for i in range(n)], dtype=object)


def _typo(rng: np.random.Generator, name: str) -> str:
    """One keyboard edit that changes the name (substitute, delete, insert, swap neighbours); the first letter
    stays (what people get right)."""
    for _ in range(10):
        chars = list(name)
        i = int(rng.integers(1, max(2, len(chars))))
        op = int(rng.integers(0, 4))
        if op == 0 and i < len(chars):
            chars[i] = _LETTERS[int(rng.integers(0, 26))]
        elif op == 1 and len(chars) > 3 and i < len(chars):
            del chars[i]
        elif op == 2:
            chars.insert(i, _LETTERS[int(rng.integers(0, 26))])
        elif op == 3 and i < len(chars) - 1:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        out = "".join(chars)
        if out.lower() != name.lower():
            return out
    return name + "e"


def _transposed(rng: np.random.Generator, epoch_day: int) -> int | None:
    """Another valid birth date with two neighbouring digits of YYYYMMDD (or day and month) swapped."""
    d = dt.date(1970, 1, 1) + dt.timedelta(days=int(epoch_day))
    s = d.strftime("%Y%m%d")
    options = []
    if d.day <= 12 and d.day != d.month:
        options.append(dt.date(d.year, d.day, d.month))
    for i in (2, 3, 4, 6):  # decade/year, month digits, day digits
        t = s[:i] + s[i + 1] + s[i] + s[i + 2:]
        if t == s:
            continue
        try:
            nd = dt.date(int(t[:4]), int(t[4:6]), int(t[6:]))
        except ValueError:
            continue
        if 1910 <= nd.year <= d.year + 9:  # an age staging keeps (at most 120)
            options.append(nd)
    if not options:
        return None
    return (options[int(rng.integers(0, len(options)))] - dt.date(1970, 1, 1)).days


def nokey_duplicates(cfg: GeneratorConfig, primary: dict[str, np.ndarray], first_customer_no: int,
                     rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Rows of no-key duplicate contacts (kind 3) of some primary contacts, in the columns of `primary`."""
    dirt, days = cfg.dirt, cfg.days
    chosen = np.flatnonzero(rng.random(len(primary["person"])) < dirt.crm_nokey_duplicate_person)
    d = {k: v[chosen].copy() for k, v in primary.items()}
    m = len(chosen)
    d["customer_no"] = first_customer_no + np.arange(m)
    d["kind"] = np.full(m, 3)
    # a later sign-up, up to half the window after the primary's, spread over the days left (a primary delivered
    # on the last day gets its duplicate the same day): clamping to the last day would pile them up there
    day = d["delivery_day"]
    span = np.minimum(days - 1 - day, max(1, days // 2 - 1))
    d["delivery_day"] = np.where(span > 0, day + 1 + (rng.random(m) * span).astype(np.int64), day)
    d["email_new"] = np.ones(m, dtype=bool)
    d["phone_new"] = np.ones(m, dtype=bool)
    d["tier"] = np.zeros(m, dtype=np.int64)
    d["impossible_age"] = np.zeros(m, dtype=bool) | d["impossible_age"]
    d["signup_ts"] = int(np.datetime64(cfg.start_date, "s").astype(np.int64)) + d["delivery_day"] * 86400 \
        + rng.integers(9 * 3600, 19 * 3600, m)
    d["updated_ts"] = d["signup_ts"].copy()
    _, _, _first_ascii, _last_ascii = name_arrays()
    rates = {"typo": dirt.nokey_name_typo, "swap": dirt.nokey_name_swap, "transpose": dirt.nokey_birth_transposed,
             "move": dirt.nokey_moved}
    for j in range(m):
        person = int(d["person"][j])
        # never a shared key: a new e-mail (or none) and a new number (10 digits: never a primary's 9) or none
        d["email_s"][j] = None if rng.random() < 0.3 else (
            f"{d['first_ascii'][j][:1]}{d['last_ascii'][j]}.{person}x{int(rng.integers(10, 99))}"
            f"@{DOMAINS[(person + 1 + int(rng.integers(0, 3))) % len(DOMAINS)]}")
        d["phone_s"][j] = None if rng.random() < 0.5 else \
            f"+{CALLING_CODES[COUNTRIES[int(d['country'][j])]]} 9{person:09d}"
        kinds = [k for k, rate in rates.items() if rng.random() < rate]
        while len(kinds) > MAX_PERTURBATIONS:
            kinds.pop(int(rng.integers(0, len(kinds))))
        done = []
        first, last = d["first_s"][j], d["last_s"][j]
        if "typo" in kinds:
            if rng.random() < 0.5:
                first = _typo(rng, first)
            else:
                last = _typo(rng, last)
            done.append("typo")
        if "swap" in kinds:
            first, last = last, first
            done.append("swap")
        d["first_s"][j], d["last_s"][j] = _raw_case(rng, first), _raw_case(rng, last)
        if "transpose" in kinds and not d["birth_missing"][j]:
            new_day = _transposed(rng, int(d["birth_day"][j]))
            if new_day is not None:
                d["birth_day"][j] = new_day
                done.append("transpose")
        if "move" in kinds:
            street = int(rng.integers(0, len(STREET_NAMES)))
            if rng.random() < 0.5:
                d["city"][j] = int(rng.integers(0, 4))
            d["address_line"][j] = address_line(rng, street, int(rng.integers(0, len(STREET_TYPES))),
                                                int(rng.integers(1, 300)), 0)
            d["postcode"][j] = postcode(int(d["country"][j]), int(d["city"][j]), street)
            done.append("move")
        d["perturbations"][j] = "+".join(done)
        # evidence besides the names, as delivered: a birth date staging keeps (not missing, not an impossible
        # age), or the primary's address (not moved); without either, the two share only names (and maybe a
        # city and gender), which no matcher can tell from a namesake's: the truth marks it has_evidence = false
        d["has_evidence"][j] = (not d["birth_missing"][j] and not d["impossible_age"][j]) or (
            primary["address_line"][chosen[j]] is not None and "move" not in done)
    return d
