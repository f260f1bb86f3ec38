"""Parameters of a synthetic landing-zone run: scale, seed and how much dirt to plant."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path


@dataclass(frozen=True)
class DirtRates:
    """Probabilities of each kind of planted defect (per person, contact, order or event as named)."""

    crm_duplicate_person: float = 0.05  # person gets a 2nd CRM contact with re-written email/phone
    # person gets a 2nd CRM contact sharing no key (new or no e-mail, new or no phone) that only probabilistic
    # matching can link; each no-key duplicate then gets each perturbation below with its probability (<= 2)
    crm_nokey_duplicate_person: float = 0.03
    nokey_name_typo: float = 0.35  # one keyboard edit in the first or the last name
    nokey_name_swap: float = 0.08  # first and last name swapped
    nokey_birth_transposed: float = 0.2  # two birth-date digits (or day and month) swapped
    nokey_moved: float = 0.4  # another address (street, house number, postcode; maybe city)
    crm_exact_duplicate_row: float = 0.01  # contact row repeated verbatim in the same file
    crm_update: float = 0.05  # contact re-delivered later with changed tier/consent
    missing_field: float = 0.05  # each optional CRM field left empty
    impossible_age: float = 0.005  # birth_date giving an age outside 0..120
    placeholder_email: float = 0.005  # test@test.com and friends, shared by unrelated people
    shared_phone_person: float = 0.003  # person whose phone is a business number many people give
    shared_device_person: float = 0.003  # person who also logs in on a shared (family/cafe) device
    bad_amount: float = 0.005  # completed order with zero or negative amount
    unknown_currency: float = 0.003
    future_timestamp: float = 0.001  # event/order dated years ahead
    unparseable_timestamp: float = 0.001
    malformed_line: float = 0.001  # broken JSON / CSV line
    late_event: float = 0.02  # event delivered 1-3 days after it happened
    redelivered_event: float = 0.005  # event delivered again the next day (same event_id)
    missing_event_id: float = 0.0005

    def scaled(self, factor: float) -> DirtRates:
        """All rates multiplied by `factor` (0 gives clean data)."""
        return replace(self, **{f.name: min(1.0, getattr(self, f.name) * factor) for f in fields(self)})

    def with_overrides(self, overrides: dict[str, float]) -> DirtRates:
        unknown = set(overrides) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown dirt rate(s): {sorted(unknown)}; known: {[f.name for f in fields(self)]}")
        bad = {k: v for k, v in overrides.items() if not 0.0 <= v <= 1.0}
        if bad:
            raise ValueError(f"dirt rates must be within 0..1, got {bad}")
        return replace(self, **overrides)


@dataclass(frozen=True)
class PlantedExperiment:
    """What to plant. `assignments` is a file DuckDB reads (Parquet/CSV) with the columns of the
    `experiment_assignments` view: primary_customer_id, variant, segment_type, segment_id."""

    assignments: Path
    start_day: int  # day index of the assignment day D (the treatment reaches people from D+1 on)
    window_days: int = 14
    treated_variants: tuple[str, ...] = ("treatment",)
    lift: dict[str, float] = field(default_factory=dict)  # stratum ("model:3", "rule:lapsed_users") -> q
    default_lift: float = 0.0
    open_p: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.default_lift <= 1.0 or any(not 0.0 <= q <= 1.0 for q in self.lift.values()):
            raise ValueError("planted lifts are probabilities of an extra order: 0..1")
        if self.window_days < 1:
            raise ValueError("window_days must be >= 1")


OMITTABLE_SOURCES = ("contacts", "events", "orders")
# columns docs/sources.md marks optional, per landing-zone source the generator writes
EMPTYABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "contacts": ("email", "phone", "first_name", "last_name", "birth_date", "gender", "city", "country",
                 "signup_at", "marketing_consent", "loyalty_tier", "income_bracket", "interests", "updated_at",
                 "address_line", "postcode"),
    "orders": ("email", "status", "store_channel", "updated_at"),
    "events": ("anonymous_id", "session_hint", "page_url", "product_id", "category", "search_query", "campaign_id",
               "device", "channel"),
}


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate. Deterministic: the same config gives byte-identical files."""

    users: int = 5000
    days: int = 90
    seed: int = 42
    start_date: date = date(2026, 1, 1)
    events_per_user: float = 30.0  # target mean number of web events per person over the window
    dirt: DirtRates = field(default_factory=DirtRates)
    experiment: PlantedExperiment | None = None  # off by default: the world ignores experiments
    # everyone signs up, is active and visits on day 1: the population stays constant while history grows
    # (benchmarks separate the cost of more history from the cost of more persons)
    everyone_from_day_one: bool = False
    # deployments without some sources or columns (docs/own-data.md): sources not written (contacts, events,
    # orders: orders take their order lines along) and columns written empty ("contacts.updated_at", ...)
    omit_sources: tuple[str, ...] = ()
    empty_columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = [s for s in self.omit_sources if s not in OMITTABLE_SOURCES]
        if unknown:
            raise ValueError(f"omit_sources: unknown source(s) {unknown}; known: {list(OMITTABLE_SOURCES)}")
        if len(set(self.omit_sources)) == len(OMITTABLE_SOURCES):
            raise ValueError("omit_sources: at least one source must remain")
        bad = [c for c in self.empty_columns if c.partition(".")[0] not in EMPTYABLE_COLUMNS
               or c.partition(".")[2] not in EMPTYABLE_COLUMNS[c.partition(".")[0]]]
        if bad:
            raise ValueError(f"empty_columns: {bad} not optional; allowed: "
                             + ", ".join(f"{s}.{c}" for s, cols in EMPTYABLE_COLUMNS.items() for c in cols))
        if self.users < 10:
            raise ValueError(f"users must be >= 10, got {self.users}")
        if self.days < 14:
            raise ValueError(f"days must be >= 14 (personas need a history), got {self.days}")
        if self.events_per_user <= 0:
            raise ValueError(f"events_per_user must be > 0, got {self.events_per_user}")
