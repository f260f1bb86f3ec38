"""A planted A/B experiment: the synthetic world reacting to the assignments the pipeline published.

The realistic hand-off: the pipeline assigns persons on day D (`experiment_assignments`), a marketing tool
sends the treatment, and the world answers. Given that assignment export (customer id, arm, stratum), the
generator makes the days after D so that:

* every treated person (an arm in `treated_variants`) gets the campaign e-mail on D+1, opened with
  probability `open_p` (an email_open event with the campaign id: the exposure);
* independently of what they would do anyway, a treated person of stratum s places one extra completed order
  with probability `lift[s]` on a uniform day of D+1 .. D+window_days.

So the expected conversion of person i if treated is 1 - (1 - p0_i)(1 - q_s), where p0_i is the chance of a
natural completed order in the window (computed from the person's latent rates, as the simulator draws
them), and the true absolute lift in stratum s is the mean of q_s (1 - p0_i) over its persons; both are
written to `truth/experiment.parquet`. Days up to D are not touched (same bytes as without the plant).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np

from devtools.generator.config import PlantedExperiment
from devtools.generator.population import Population
from devtools.generator.simulate import (
    _CUR_OF_COUNTRY,
    _OFFSET_OF_COUNTRY,
    CAMPAIGN_WEEKDAY,
    CHANNELS,
    CURRENCIES,
    ET,
    EUR_PER_UNIT,
)

COMPLETED_SHARE = 0.90  # STATUSES draw in simulate._orders


def campaign_id(cfg, plant: PlantedExperiment) -> str:
    """The campaign id of the planted e-mail (the newsletter's format, dated D+1)."""
    return f"cmp-{cfg.start_date + timedelta(days=plant.start_day + 1):%Y%m%d}"


class PlantedEffects:
    """Decides up front who converts extra on which day; `apply(d, out)` adds day d's events and orders."""

    def __init__(self, cfg, pop: Population, plant: PlantedExperiment) -> None:
        if plant.start_day + 1 >= cfg.days:
            raise ValueError(f"planted experiment starts on day {plant.start_day}: no day left for the treatment")
        weekday = (np.datetime64(cfg.start_date) + plant.start_day + 1).astype("datetime64[D]").view("int64") % 7
        if weekday == CAMPAIGN_WEEKDAY:
            raise ValueError("the planted campaign would share its id with the weekly newsletter (Tuesday): "
                             "pick another start day")
        self.cfg, self.pop, self.plant = cfg, pop, plant
        with duckdb.connect() as con:
            rows = con.execute(
                "select primary_customer_id, variant, segment_type || ':' || segment_id from read_parquet(?) "
                "where primary_customer_id is not null", [str(plant.assignments)]).fetchall()
        number = {f"C{no:08d}": i for i, no in enumerate(pop.customer_no) if no >= 0}
        person = np.array([number.get(c, -1) for c, _, _ in rows], dtype=np.int64)
        keep = person >= 0
        self.person = person[keep]
        self.variant = np.array([v for (_, v, _), k in zip(rows, keep, strict=True) if k], dtype=object)
        self.stratum = np.array([s for (_, _, s), k in zip(rows, keep, strict=True) if k], dtype=object)
        self.customer_id = np.array([c for (c, _, _), k in zip(rows, keep, strict=True) if k], dtype=object)
        self.q = np.array([plant.lift.get(s, plant.default_lift) for s in self.stratum], dtype=float)
        self.treated = np.isin(self.variant, list(plant.treated_variants))
        rng = np.random.default_rng([cfg.seed, 3])
        extra = self.treated & (rng.random(len(self.person)) < self.q)
        self.extra_day = np.where(extra, plant.start_day + 1 + rng.integers(0, plant.window_days, len(self.person)), -1)
        self.opened = self.treated & (rng.random(len(self.person)) < plant.open_p)

    def natural_conversion(self) -> np.ndarray:
        """P(at least one completed order in the window) of each assigned person without the treatment."""
        pop, cfg, plant = self.pop, self.cfg, self.plant
        rate = np.zeros(len(self.person))
        for d in range(plant.start_day + 1, min(cfg.days, plant.start_day + 1 + plant.window_days)):
            weekday = (np.datetime64(cfg.start_date) + d).astype("datetime64[D]").view("int64") % 7
            active = (pop.active_from[self.person] <= d) & (d < pop.active_to[self.person])
            rate += pop.session_rate[self.person] * active * (1.2 if weekday in (2, 3) else 1.0) \
                * pop.purchase_p[self.person] * COMPLETED_SHARE
        return 1.0 - np.exp(-rate)

    def apply(self, d: int, out: dict[str, dict[str, np.ndarray]], sim) -> None:
        """Add the planted e-mail events and extra orders of day `d` to the simulator's output."""
        pop = self.pop
        day_start = sim.day0_epoch + d * 86400
        rng = np.random.default_rng([self.cfg.seed, 4, d])
        if d == self.plant.start_day + 1:
            p = self.person[self.opened]
            n = len(p)
            events = {
                "person": p, "anon_code": np.full(n, -1), "user_no": pop.customer_no[p], "session_no": np.full(n, -1),
                "etype": np.full(n, ET["email_open"]), "category": pop.fav_category[p], "product": np.full(n, -1),
                "order_no": np.full(n, -1), "campaign_day": np.full(n, d), "device": pop.device_pref[p],
                "channel": np.full(n, CHANNELS.index("email")), "ts": day_start + rng.integers(6 * 3600, 22 * 3600, n),
                "tz_min": _OFFSET_OF_COUNTRY[pop.country[p]],
            }
            out["events"] = {k: np.concatenate([out["events"][k], events[k].astype(out["events"][k].dtype)])
                             for k in out["events"]}
        p = self.person[self.extra_day == d]
        m = len(p)
        if not m:
            return
        no = sim.order_counter + np.arange(m)
        sim.order_counter += m
        cur = _CUR_OF_COUNTRY[pop.country[p]]
        decimals = np.where(cur == CURRENCIES.index("JPY"), 0, 2)
        local = np.round(pop.aov_eur[p] / np.array(EUR_PER_UNIT)[cur] * 10.0**decimals) / 10.0**decimals
        local = np.maximum(local, 1.0 / 10.0**decimals)
        orders = {
            "order_no": no, "person": p, "customer_no": pop.customer_no[p], "guest": np.zeros(m, dtype=bool),
            "ts": day_start + rng.integers(9 * 3600, 20 * 3600, m), "tz_min": _OFFSET_OF_COUNTRY[pop.country[p]],
            "currency": cur, "amount": local, "status": np.zeros(m, dtype=np.int64), "store_channel": np.zeros(m, dtype=np.int64),
        }
        cat = pop.fav_category[p]
        items = {"order_no": no, "line": np.ones(m, dtype=np.int64), "product": cat * 1000 + rng.integers(0, 200, m),
                 "category": cat, "qty": np.ones(m, dtype=np.int64), "unit": local, "currency": cur}
        out["orders"] = {k: np.concatenate([out["orders"][k], orders[k].astype(out["orders"][k].dtype)])
                         for k in out["orders"]}
        out["order_items"] = {k: np.concatenate([out["order_items"][k], items[k].astype(out["order_items"][k].dtype)])
                              for k in out["order_items"]}

    def write_truth(self, path: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        p0 = self.natural_conversion()
        pq.write_table(pa.table({
            "customer_id": self.customer_id.astype(str), "variant": self.variant.astype(str),
            "stratum": self.stratum.astype(str), "is_treated": self.treated, "planted_q": self.q,
            "natural_conversion_p": p0, "expected_lift_if_treated": self.q * (1.0 - p0),
            "has_planted_order": self.extra_day >= 0, "opened_campaign": self.opened,
        }), path)
