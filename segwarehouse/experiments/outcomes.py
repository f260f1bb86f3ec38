"""Exposure and outcomes of assigned persons from the warehouse's orders and events (set-based SQL).

Intention to treat: every current assignment counts in its arm, exposed or not; a person's outcome window
is the `window_days` days after the assignment day (the treatment goes out after the data of that day was
assigned). A person is measured for a metric only once the window is over (assigned_date + window <= the
data date); since the arm does not depend on the date, leaving immature persons out biases no arm.

| kind | a person converts when, inside the window |
|---|---|
| purchase | a completed order (fct_orders.is_completed) |
| refund | a refunded or cancelled order |
| revenue | (not binary) revenue of completed orders in EUR, 0 without one |
| email_click | an email_click event (on `campaign_ids` when given) |
| visit | a page_view or product_view event |

Exposed: an email_open or email_click event on one of the arm's `exposure_campaigns` after the assignment day.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from segwarehouse.core.sql import literal
from segwarehouse.experiments.config import Experiment, Metric
from segwarehouse.experiments.schema import qualified

PER_PERSON = "_experiment_outcomes"


def _in_window(date_column: str, metric: Metric) -> str:
    return (f"{date_column} > a.assigned_date and {date_column} <= a.assigned_date + {int(metric.window_days)}")


def _metric_expressions(metric: Metric) -> tuple[str | None, str | None]:
    """(aggregate over the person's orders, aggregate over the person's events) for one metric."""
    if metric.kind == "purchase":
        return f"count(*) filter (where o.is_completed and {_in_window('o.order_date', metric)}) > 0", None
    if metric.kind == "refund":
        return f"count(*) filter (where not o.is_completed and {_in_window('o.order_date', metric)}) > 0", None
    if metric.kind == "revenue":
        return (f"coalesce(sum(o.amount_reporting) filter (where o.is_completed and "
                f"{_in_window('o.order_date', metric)}), 0)::double"), None
    if metric.kind == "visit":
        return None, (f"count(*) filter (where e.event_type in ('page_view', 'product_view') and "
                      f"{_in_window('e.event_date', metric)}) > 0")
    campaigns = (f" and e.campaign_id in ({', '.join(literal(c) for c in metric.campaign_ids)})"
                 if metric.campaign_ids else "")
    return None, f"count(*) filter (where e.event_type = 'email_click'{campaigns} and {_in_window('e.event_date', metric)}) > 0"


def build_outcomes(con: duckdb.DuckDBPyConnection, experiment: Experiment, today: date) -> None:
    """Temp table `_experiment_outcomes`: one row per current assignment with exposure and every metric
    (`m_<metric>` value, `mature_<metric>` whether its window is over)."""
    metrics = experiment.metrics
    order_cols, event_cols = [], []
    for m in metrics:
        on_orders, on_events = _metric_expressions(m)
        if on_orders:
            order_cols.append(f"{on_orders} as m_{m.name}")
        if on_events:
            event_cols.append(f"{on_events} as m_{m.name}")
    campaigns = sorted({c for v in experiment.variants for c in v.exposure_campaigns})
    exposure_arms = {v.name: v.exposure_campaigns for v in experiment.variants if v.exposure_campaigns}
    if campaigns:
        arm_campaign = " or ".join(
            f"(a.variant = {literal(arm)} and e.campaign_id in ({', '.join(literal(c) for c in cs)}))"
            for arm, cs in exposure_arms.items())
        event_cols.append(f"count(*) filter (where e.event_type in ('email_open', 'email_click') and "
                          f"e.event_date > a.assigned_date and ({arm_campaign})) > 0 as exposed")
    horizon = max(m.window_days for m in metrics)
    parts = [f"""a as (
        select person_id, variant, segment_type, segment_id, segment_name, assigned_date
        from {qualified('assignments')}
        where experiment = $experiment and superseded_by is null
    )"""]
    if order_cols:
        parts.append(f"""orders as (
        select a.person_id, {', '.join(order_cols)}
        from a join main.fct_orders o on o.person_id = a.person_id
        where o.order_date > a.assigned_date and o.order_date <= a.assigned_date + {horizon}
        group by a.person_id
    )""")
    if event_cols:
        parts.append(f"""events as (
        select a.person_id, {', '.join(event_cols)}
        from a join main.fct_events e on e.person_id = a.person_id
        where e.event_date > a.assigned_date and e.event_date <= $today
        group by a.person_id
    )""")
    selects = []
    for m in metrics:
        source = "orders" if _metric_expressions(m)[0] else "events"
        default = "0.0" if m.kind == "revenue" else "false"
        selects.append(f"coalesce({source}.m_{m.name}, {default}) as m_{m.name}")
        selects.append(f"a.assigned_date + {int(m.window_days)} <= $today as mature_{m.name}")
    exposed = "coalesce(events.exposed, false)" if campaigns else "null::boolean"
    joins = (" left join orders on orders.person_id = a.person_id" if order_cols else "") + (
        " left join events on events.person_id = a.person_id" if event_cols else "")
    con.execute(f"""create or replace temp table {PER_PERSON} as
        with {', '.join(parts)}
        select a.person_id, a.variant, a.segment_type, a.segment_id, a.segment_name, a.assigned_date,
               {exposed} as exposed, {', '.join(selects)}
        from a{joins}""", {"experiment": experiment.name, "today": today})


def arm_counts(con: duckdb.DuckDBPyConnection, experiment: Experiment) -> pd.DataFrame:
    """Per stratum (and `all`) x arm: assigned, exposed, and per metric measured persons, sum and sum of squares."""
    cols = []
    for m in experiment.metrics:
        value = f"m_{m.name}::double"
        cols += [f"count(*) filter (where mature_{m.name}) as n_{m.name}",
                 f"coalesce(sum({value}) filter (where mature_{m.name}), 0) as s_{m.name}"]
    return con.execute(f"""
        select coalesce(segment_type, 'all') as segment_type, coalesce(segment_id, 'all') as segment_id,
               coalesce(segment_name, 'All segments') as segment_name, variant,
               count(*) as persons_assigned, count(*) filter (where exposed) as exposed,
               count(exposed) as exposure_known, {', '.join(cols)}
        from {PER_PERSON}
        group by grouping sets ((segment_type, segment_id, segment_name, variant), (variant))
        order by segment_type, segment_id, variant""").df()


def metric_values(con: duckdb.DuckDBPyConnection, metric: Metric, segment_type: str, segment_id: str,
                  variant: str) -> pd.Series:
    """Per-person values of a metric in one stratum x arm (measured persons only), for non-binary metrics."""
    where = "" if segment_type == "all" else "and segment_type = $type and segment_id = $segment"
    params = {"variant": variant} | ({} if segment_type == "all" else {"type": segment_type, "segment": segment_id})
    return con.execute(f"select m_{metric.name}::double as v from {PER_PERSON} "
                       f"where variant = $variant and mature_{metric.name} {where}", params).df()["v"]
