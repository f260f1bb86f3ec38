"""Lift, intervals, tests and checks for one experiment's arm counts, through statsmodels and scipy.

Binary metrics (conversion rates):
* rate interval: Wilson score (`proportion_confint`);
* absolute lift (arm - control): Newcombe's hybrid score interval (`confint_proportions_2indep`, method
  `newcomb`), defined also when an arm has 0 or all conversions;
* relative lift (arm / control - 1): log-adjusted ratio interval (same function, `compare="ratio"`);
* p-value: score test (`test_proportions_2indep`), Holm-adjusted (`multipletests`) over all comparisons of
  the same metric in the experiment (every segment and the pooled `all`), which decides `is_significant`;
* minimum detectable effect: the absolute lift an arm of this size detects with the configured power
  (`NormalIndPower` on Cohen's h).

Mean metrics (revenue per person): Welch's t interval and test of the difference (`CompareMeans`, unequal
variances); the relative lift is reported as a point estimate only.

Sample-ratio mismatch: chi-square goodness of fit of the assigned persons per arm against the configured
shares (`scipy.stats.chisquare`), flagged below `srm_alpha` (0.001 by default: it checks the plumbing,
not a hypothesis, and is run daily).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import chisquare
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    test_proportions_2indep,
)
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from segwarehouse.experiments.config import Experiment, Metric, Statistics


@dataclass(frozen=True)
class Comparison:
    abs_lift: float | None
    abs_ci: tuple[float | None, float | None]
    rel_lift: float | None
    rel_ci: tuple[float | None, float | None]
    p_value: float | None


def _num(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def rate_interval(conversions: float, persons: int, alpha: float) -> tuple[float | None, float | None]:
    if persons <= 0:
        return None, None
    low, high = proportion_confint(conversions, persons, alpha=alpha, method="wilson")
    return _num(low), _num(high)


def compare_rates(conv_arm: float, n_arm: int, conv_control: float, n_control: int, alpha: float) -> Comparison:
    """Absolute and relative lift of an arm's conversion rate over the control's, with intervals and p."""
    if n_arm <= 0 or n_control <= 0:
        return Comparison(None, (None, None), None, (None, None), None)
    rate_arm, rate_control = conv_arm / n_arm, conv_control / n_control
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        low, high = confint_proportions_2indep(conv_arm, n_arm, conv_control, n_control, method="newcomb",
                                               compare="diff", alpha=alpha)
        p = test_proportions_2indep(conv_arm, n_arm, conv_control, n_control, method="score",
                                    compare="diff").pvalue
        if conv_control > 0:
            r_low, r_high = confint_proportions_2indep(conv_arm, n_arm, conv_control, n_control,
                                                       method="log-adjusted", compare="ratio", alpha=alpha)
            rel, rel_ci = rate_arm / rate_control - 1, (_num(r_low - 1), _num(r_high - 1))
        else:
            rel, rel_ci = None, (None, None)
    p = 1.0 if math.isnan(float(p)) else float(p)  # no conversions anywhere: no evidence of a difference
    return Comparison(rate_arm - rate_control, (_num(low), _num(high)), rel, rel_ci, p)


def compare_means(arm: Sequence[float], control: Sequence[float], alpha: float) -> Comparison:
    """Difference of means (Welch) with its interval and p; the relative lift without an interval."""
    arm, control = np.asarray(arm, dtype=float), np.asarray(control, dtype=float)
    if len(arm) < 2 or len(control) < 2:
        return Comparison(None, (None, None), None, (None, None), None)
    diff = float(arm.mean() - control.mean())
    if arm.var() == 0 and control.var() == 0:
        return Comparison(diff, (diff, diff), None, (None, None), 1.0 if diff == 0 else 0.0)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cm = CompareMeans(DescrStatsW(arm), DescrStatsW(control))
        low, high = cm.tconfint_diff(alpha=alpha, usevar="unequal")
        p = cm.ttest_ind(usevar="unequal")[1]
    rel = diff / control.mean() if control.mean() != 0 else None
    return Comparison(diff, (_num(low), _num(high)), rel, (None, None), _num(p))


def minimum_detectable_lift(rate_control: float, n_control: int, n_arm: int, stats: Statistics) -> float | None:
    """Smallest absolute lift over `rate_control` detectable with the configured power and alpha."""
    if n_control < 2 or n_arm < 2 or not 0 < rate_control < 1:
        return None
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            h = NormalIndPower().solve_power(effect_size=None, nobs1=n_arm, ratio=n_control / n_arm,
                                             alpha=stats.alpha, power=stats.power)
        except (ValueError, RuntimeError):
            return None
    phi = 2 * math.asin(math.sqrt(rate_control)) + float(h)  # Cohen's h = 2 asin sqrt(p1) - 2 asin sqrt(p2)
    return min(1.0, math.sin(min(phi, math.pi) / 2) ** 2) - rate_control


def sample_ratio_p(observed: Sequence[int], shares: Sequence[float]) -> float | None:
    """Chi-square goodness-of-fit p of assigned counts per arm against the configured shares."""
    observed = np.asarray(observed, dtype=float)
    total = observed.sum()
    if total <= 0 or len(observed) < 2:
        return None
    expected = np.asarray(shares, dtype=float) / float(np.sum(shares)) * total
    return float(chisquare(observed, expected).pvalue)


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values (None stays None)."""
    present = [i for i, p in enumerate(p_values) if p is not None]
    adjusted: list[float | None] = [None] * len(p_values)
    if present:
        _, corrected, _, _ = multipletests([p_values[i] for i in present], method="holm")
        for i, p in zip(present, corrected, strict=True):
            adjusted[i] = float(p)
    return adjusted


def analyse(counts: pd.DataFrame, experiment: Experiment, stats: Statistics,
            values: Callable[[Metric, str, str, str], pd.Series]) -> pd.DataFrame:
    """One row per stratum x arm x metric with rates, lifts against the control, tests and warnings.

    `counts` comes from `outcomes.arm_counts`; `values(metric, segment_type, segment_id, arm)` returns the
    per-person values of a non-binary metric.
    """
    arms = experiment.arms()
    control = experiment.control.name
    rows = []
    for (seg_type, seg_id, seg_name), group in counts.groupby(["segment_type", "segment_id", "segment_name"],
                                                            sort=True):
        by_arm = group.set_index("variant")
        assigned = [int(by_arm["persons_assigned"].get(a, 0)) for a, _ in arms]
        srm_p = sample_ratio_p(assigned, [s for _, s in arms])
        is_srm = srm_p is not None and srm_p < stats.srm_alpha
        for metric in experiment.metrics:
            n_col, s_col = f"n_{metric.name}", f"s_{metric.name}"
            n_c = int(by_arm[n_col].get(control, 0))
            s_c = float(by_arm[s_col].get(control, 0.0))
            control_values = None if metric.is_binary else values(metric, seg_type, seg_id, control)
            for arm, _ in arms:
                n = int(by_arm[n_col].get(arm, 0))
                s = float(by_arm[s_col].get(arm, 0.0))
                rate = s / n if n else None
                if metric.is_binary:
                    ci = rate_interval(s, n, stats.alpha)
                else:
                    ci = _mean_interval(values(metric, seg_type, seg_id, arm), stats.alpha)
                cmp = None
                if arm != control:
                    cmp = (compare_rates(s, n, s_c, n_c, stats.alpha) if metric.is_binary
                           else compare_means(values(metric, seg_type, seg_id, arm), control_values, stats.alpha))
                mde = (minimum_detectable_lift(s_c / n_c, n_c, n, stats)
                       if metric.is_binary and arm != control and n_c else None)
                notes = []
                too_small = min(n, n_c) < stats.min_persons_per_arm or (
                    metric.is_binary and arm != control and min(s, s_c) < stats.min_conversions)
                if min(n, n_c) < stats.min_persons_per_arm:
                    notes.append(f"too small to read: {min(n, n_c)} measured persons in an arm "
                                 f"(< {stats.min_persons_per_arm})")
                elif too_small:
                    notes.append(f"too few conversions to read: {int(min(s, s_c))} (< {stats.min_conversions})")
                if is_srm:
                    notes.append(f"sample ratio mismatch: assigned {dict(zip([a for a, _ in arms], assigned, strict=True))}"
                                 f" vs shares {dict((a, round(v, 4)) for a, v in arms)} (chi-square p={srm_p:.2g})")
                persons_assigned = int(by_arm["persons_assigned"].get(arm, 0))
                if n < persons_assigned:
                    notes.append(f"window not over for {persons_assigned - n} of {persons_assigned} assigned persons")
                exposure_known = int(by_arm["exposure_known"].get(arm, 0))
                rows.append({
                    "segment_type": seg_type, "segment_id": seg_id, "segment_name": seg_name, "variant": arm,
                    "is_control": arm == control, "is_holdout": arm == "holdout", "metric": metric.name,
                    "metric_kind": metric.kind, "is_primary": metric.name == experiment.primary_metric.name,
                    "window_days": metric.window_days, "persons_assigned": persons_assigned, "persons": n,
                    "exposed": int(by_arm["exposed"].get(arm, 0)) if exposure_known and arm != "holdout"
                    and any(v.name == arm and v.exposure_campaigns for v in experiment.variants) else None,
                    "conversions": s, "rate": rate, "rate_ci_low": ci[0], "rate_ci_high": ci[1],
                    "abs_lift": cmp.abs_lift if cmp else None,
                    "abs_lift_ci_low": cmp.abs_ci[0] if cmp else None, "abs_lift_ci_high": cmp.abs_ci[1] if cmp else None,
                    "rel_lift": cmp.rel_lift if cmp else None,
                    "rel_lift_ci_low": cmp.rel_ci[0] if cmp else None, "rel_lift_ci_high": cmp.rel_ci[1] if cmp else None,
                    "p_value": cmp.p_value if cmp else None, "mde_abs": mde,
                    "srm_p_value": srm_p, "is_srm": is_srm, "is_too_small": bool(too_small),
                    "warnings": "; ".join(notes),
                })
    frame = pd.DataFrame(rows)
    frame["p_value_holm"] = None
    for _, idx in frame.groupby("metric").groups.items():
        frame.loc[idx, "p_value_holm"] = holm([None if pd.isna(p) else p for p in frame.loc[idx, "p_value"]])
    frame["is_significant"] = [None if p is None or pd.isna(p) else bool(p < stats.alpha)
                               for p in frame["p_value_holm"]]
    return frame


def _mean_interval(values: pd.Series, alpha: float) -> tuple[float | None, float | None]:
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return None, None
    if values.var() == 0:
        return float(values.mean()), float(values.mean())
    low, high = DescrStatsW(values).tconfint_mean(alpha=alpha)
    return _num(low), _num(high)
