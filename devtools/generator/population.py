"""Per-person latent state (one numpy array per attribute, sized by users, never by events)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devtools.generator.config import GeneratorConfig
from devtools.generator.names import N_FIRST_NAMES, N_LAST_NAMES
from devtools.generator.personas import NEW_USER_WINDOW_DAYS, PERSONAS

COUNTRIES = ("DE", "US", "GB", "FR", "SE", "NL", "ES", "JP")
COUNTRY_WEIGHTS = (0.30, 0.20, 0.15, 0.10, 0.08, 0.07, 0.05, 0.05)
N_CATEGORIES = 10
MAX_DEVICES = 3


def _stack(attr: str) -> np.ndarray:
    return np.array([getattr(p, attr) for p in PERSONAS], dtype=float)


@dataclass
class Population:
    """Latent attributes of every simulated person; index = true person number."""

    persona: np.ndarray  # int8 index into PERSONAS
    registered: np.ndarray  # bool
    signup_day: np.ndarray  # int, day index relative to the window start (negative = before)
    active_from: np.ndarray  # first active day
    active_to: np.ndarray  # last active day + 1
    session_rate: np.ndarray  # sessions per active day (already scaled)
    browse_events: np.ndarray
    purchase_p: np.ndarray
    aov_eur: np.ndarray
    session_minutes: np.ndarray
    open_p: np.ndarray
    click_p: np.ndarray
    login_p: np.ndarray
    abandon_p: np.ndarray
    consent: np.ndarray  # bool
    country: np.ndarray  # index into COUNTRIES
    fav_category: np.ndarray
    affinity: np.ndarray  # probability a browse event is in the favourite category
    device_pref: np.ndarray  # 0 desktop, 1 mobile, 2 tablet
    n_devices: np.ndarray
    device_code: np.ndarray  # (users, MAX_DEVICES) int64 anonymous-id codes, -1 = none
    customer_no: np.ndarray  # CRM number of the primary contact, -1 = unregistered
    dup_customer_no: np.ndarray  # CRM number of a duplicate contact, -1 = none
    dup_day: np.ndarray  # day the duplicate contact is delivered
    placeholder_email: np.ndarray  # -1 or index into PLACEHOLDER_EMAILS
    shared_phone: np.ndarray  # -1 or shared business-phone group
    shared_device: np.ndarray  # -1 or shared device number
    first_name: np.ndarray  # index into names.first_names()
    last_name: np.ndarray  # index into names.last_names()

    @property
    def size(self) -> int:
        return len(self.persona)


def build_population(cfg: GeneratorConfig, rng: np.random.Generator) -> Population:
    """Draw every person's persona and latent parameters; rates are scaled to hit events_per_user."""
    n, days, dirt = cfg.users, cfg.days, cfg.dirt
    shares = _stack("share")
    persona = rng.choice(len(PERSONAS), size=n, p=shares / shares.sum()).astype(np.int8)
    names = [p.name for p in PERSONAS]
    new_i, lapsed_i = names.index("new_user"), names.index("lapsed")

    registered = rng.random(n) < _stack("registered_p")[persona]
    in_window = registered & (rng.random(n) < _stack("in_window_signup_p")[persona])
    signup_day = np.where(in_window, rng.integers(0, days, n), -rng.integers(30, 1500, n))
    is_new = persona == new_i
    signup_day[is_new] = rng.integers(days - NEW_USER_WINDOW_DAYS, days, is_new.sum())

    active_from = np.zeros(n, dtype=np.int64)
    active_to = np.full(n, days, dtype=np.int64)
    active_from[is_new] = signup_day[is_new]
    if cfg.everyone_from_day_one:  # after the draws, so the other persons' parameters do not change
        signup_day[signup_day > 0] = 0
        active_from[:] = 0
    is_lapsed = persona == lapsed_i
    gap = np.maximum(35, (rng.uniform(0.4, 0.8, is_lapsed.sum()) * days).astype(np.int64))
    active_to[is_lapsed] = np.maximum(1, days - gap)

    noise = rng.lognormal(0.0, 0.35, n)
    browse = _stack("browse_events")[persona] * rng.lognormal(0.0, 0.2, n)
    purchase_p = _stack("purchase_p")[persona] * registered  # anonymous visitors never check out
    abandon_p = _stack("abandon_p")[persona]
    login_p = _stack("login_p")[persona] * registered
    consent = registered & (rng.random(n) < _stack("consent_p")[persona])
    open_p = _stack("email_open_p")[persona] * rng.uniform(0.6, 1.4, n)
    click_p = _stack("email_click_p")[persona]

    # scale session rates so the expected number of web events per person matches the target
    active_days = (active_to - active_from).astype(float)
    per_session = browse + login_p + 3 * purchase_p + (1 - purchase_p) * abandon_p
    raw_rate = _stack("session_rate")[persona] * noise
    email_events = (days / 7.0) * consent * open_p * (1 + click_p)
    target = cfg.events_per_user * n
    session_budget = max(target - email_events.sum(), 0.5 * target)
    scale = session_budget / float((raw_rate * active_days * per_session).sum())
    session_rate = raw_rate * scale

    n_devices = rng.choice([1, 2, 3], size=n, p=[0.55, 0.35, 0.10])
    n_devices[~registered] = 1  # a visitor who never logs in cannot be followed across devices
    device_code = np.full((n, MAX_DEVICES), -1, dtype=np.int64)
    for slot in range(MAX_DEVICES):
        has = n_devices > slot
        device_code[has, slot] = np.arange(n)[has] * MAX_DEVICES + slot

    customer_no = np.full(n, -1, dtype=np.int64)
    customer_no[registered] = np.arange(1, registered.sum() + 1)
    is_dup = registered & (rng.random(n) < dirt.crm_duplicate_person)
    dup_customer_no = np.full(n, -1, dtype=np.int64)
    dup_customer_no[is_dup] = registered.sum() + 1 + np.arange(is_dup.sum())
    dup_day = np.clip(np.maximum(signup_day, 0) + rng.integers(1, max(2, days // 2), n), 0, days - 1)

    placeholder_email = np.where(registered & (rng.random(n) < dirt.placeholder_email),
                                 rng.integers(0, 4, n), -1)
    # a business phone is given by >= 5 people; a shared (family/cafe) device is used by >= 2
    shared_phone = _groups(registered & (rng.random(n) < dirt.shared_phone_person), size=8, minimum=5)
    shared_device = _groups(registered & (rng.random(n) < dirt.shared_device_person), size=4, minimum=2)
    sharing = shared_device >= 0
    n_devices[sharing] = np.maximum(n_devices[sharing], 2)
    device_code[sharing, 1] = n * MAX_DEVICES + shared_device[sharing]

    return Population(
        persona=persona, registered=registered, signup_day=signup_day,
        active_from=active_from, active_to=active_to, session_rate=session_rate,
        browse_events=browse, purchase_p=purchase_p,
        aov_eur=_stack("aov_eur")[persona] * rng.lognormal(0.0, 0.25, n),
        session_minutes=_stack("session_minutes")[persona] * rng.lognormal(0.0, 0.2, n),
        open_p=open_p, click_p=click_p, login_p=login_p, abandon_p=abandon_p, consent=consent,
        country=rng.choice(len(COUNTRIES), size=n, p=COUNTRY_WEIGHTS),
        fav_category=rng.integers(0, N_CATEGORIES, n), affinity=rng.uniform(0.4, 0.85, n),
        device_pref=rng.choice(3, size=n, p=[0.45, 0.45, 0.10]),
        n_devices=n_devices, device_code=device_code, customer_no=customer_no,
        dup_customer_no=dup_customer_no, dup_day=dup_day, placeholder_email=placeholder_email,
        shared_phone=shared_phone, shared_device=shared_device,
        first_name=_zipf(rng, N_FIRST_NAMES, n, offset=5, s=1.1), last_name=_zipf(rng, N_LAST_NAMES, n, offset=10, s=1.0),
    )


def _zipf(rng: np.random.Generator, n_vocab: int, size: int, offset: float, s: float) -> np.ndarray:
    """Indices into a vocabulary of n_vocab names drawn with a Zipf-like law (rank + offset) ** -s."""
    p = 1.0 / (np.arange(n_vocab) + offset) ** s
    return rng.choice(n_vocab, size=size, p=p / p.sum())


def _groups(flag: np.ndarray, size: int, minimum: int) -> np.ndarray:
    """Deal the flagged people into groups of about `size` (never fewer than `minimum`); -1 elsewhere."""
    out = np.full(len(flag), -1, dtype=np.int64)
    idx = np.flatnonzero(flag)
    if len(idx) < minimum:
        return out
    out[idx] = np.arange(len(idx)) % max(1, len(idx) // size)
    return out
