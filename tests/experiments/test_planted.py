"""The planted experiment: the results recover the lifts the world was given, per segment."""

from __future__ import annotations

import filecmp
from datetime import timedelta

import duckdb
import pytest

from .conftest import ASSIGN_DAY, WORLD, PlantedRun


def _results(run: PlantedRun, metric: str = "purchase_14d"):
    with duckdb.connect(str(run.paths.warehouse), read_only=True) as con:
        return con.execute("""
            select segment_type || ':' || segment_id as stratum, variant, persons, conversions, rate,
                   abs_lift, abs_lift_ci_low, abs_lift_ci_high, p_value_holm, is_significant, exposed, is_srm,
                   is_final, as_of_date
            from experiments.results where run_id = 'experiments-end' and metric = ?
            order by stratum, variant""", [metric]).df()


def _true_lifts(run: PlantedRun) -> dict[str, float]:
    """Mean expected lift q_s (1 - p0_i) over the measured persons of each stratum, and over all of them."""
    with duckdb.connect() as con:
        con.execute(f"attach '{run.paths.warehouse}' as wh (read_only)")
        rows = con.execute(f"""
            with measured as (
                select a.person_id, a.segment_type || ':' || a.segment_id as stratum, p.primary_customer_id
                from wh.experiments.assignments a join wh.main.dim_user_profile p using (person_id)
                where a.experiment = 'planted' and a.superseded_by is null
            )
            select coalesce(m.stratum, 'all:all'), avg(t.expected_lift_if_treated), count(*)
            from measured m join read_parquet('{run.truth}') t on t.customer_id = m.primary_customer_id
            group by grouping sets ((m.stratum), ())""").fetchall()
    return {stratum: lift for stratum, lift, _ in rows}


def test_days_before_the_assignment_are_untouched(planted_run: PlantedRun):
    raw, before = planted_run.paths.raw, planted_run.paths.data / "raw_before_plant"
    day = WORLD.start_date + timedelta(days=ASSIGN_DAY)
    for source in ("web/events", "shop/orders"):
        same = filecmp.cmp(raw / source / f"date={day}" / next((raw / source / f"date={day}").iterdir()).name,
                           before / source / f"date={day}" / next((before / source / f"date={day}").iterdir()).name,
                           shallow=False)
        assert same, f"{source} of the assignment day changed"
    later = day + timedelta(days=2)
    assert not filecmp.cmp(raw / "shop/orders" / f"date={later}" / "orders.csv",
                           before / "shop/orders" / f"date={later}" / "orders.csv", shallow=False)


def test_everyone_assigned_on_the_first_day_and_measured_at_the_end(planted_run: PlantedRun):
    assert planted_run.first_refresh["experiments"]["planted"]["assigned"] > 1000
    summary = planted_run.refresh["experiments"]["planted"]
    assert summary["assigned"] == 0  # the experiment ended on D: nobody enters later
    assert summary["srm"] is False
    results = _results(planted_run)
    assert results["is_final"].all()
    overall = results[results["stratum"] == "all:all"].set_index("variant")
    assert overall.loc["control", "persons"] + overall.loc["treatment", "persons"] >= 1000
    # exposure: about open_p (0.5) of the treated opened the campaign; the control got none
    share = overall.loc["treatment", "exposed"] / overall.loc["treatment", "persons"]
    assert 0.4 < share < 0.6
    assert overall["is_srm"].sum() == 0


def test_intervals_cover_the_planted_lifts_in_most_segments(planted_run: PlantedRun):
    results = _results(planted_run)
    truth = _true_lifts(planted_run)
    treated = results[results["variant"] == "treatment"].set_index("stratum")
    covered, report = 0, []
    for stratum, row in treated.iterrows():
        true = truth[stratum]
        hit = row["abs_lift_ci_low"] <= true <= row["abs_lift_ci_high"]
        covered += hit
        report.append(f"{stratum}: true {true:.3f} est {row['abs_lift']:.3f} "
                      f"[{row['abs_lift_ci_low']:.3f}, {row['abs_lift_ci_high']:.3f}] n={row['persons']}")
    print("\n".join(report))
    n = len(treated)
    assert n >= 4  # strata of the model segments + the pooled row
    assert covered >= n - 1, report  # 95 % intervals: at most one miss among a handful
    # the pooled estimate is close to the pooled truth, and a strong planted lift is detected
    pooled = treated.loc["all:all"]
    assert pooled["abs_lift"] == pytest.approx(truth["all:all"], abs=0.04)
    assert bool(pooled["is_significant"])
    strongest = max((s for s in planted_run.lifts if treated.loc[s, "persons"] >= 150),
                    key=lambda s: planted_run.lifts[s])
    assert planted_run.lifts[strongest] >= 0.25
    assert treated.loc[strongest, "abs_lift_ci_low"] > 0, report


def test_a_segment_without_planted_lift_shows_none(planted_run: PlantedRun):
    results = _results(planted_run)
    zero = [s for s, q in planted_run.lifts.items() if q == 0.0]
    assert zero
    row = results[(results["stratum"] == zero[0]) & (results["variant"] == "treatment")].iloc[0]
    assert row["abs_lift_ci_low"] <= 0 <= row["abs_lift_ci_high"]
    assert not bool(row["is_significant"])


def test_the_segment_report_shows_lift_and_interval_per_segment(planted_run: PlantedRun):
    from ml.report import write_report

    page = write_report(planted_run.paths, "score-d")
    html = page.read_text()
    assert "Experiments: lift per segment" in html
    png = (page.parent / "experiments.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert len(png) > 10_000
