"""Suites for the published profile mart `dim_user_profile` (docs/profile.md).

* `dim_user_profile_suite` - the bounds and sets of the published columns, on the mart's rows.
* `dim_user_profile_keys_suite` - `person_id` unique over the whole mart.
* `dim_user_profile_metrics_suite` - runs on one row of whole-table metrics computed by DuckDB
  (`row_count`, `monetary_mean`, ...), with bounds learned from the last good run (the baseline).
"""

from __future__ import annotations

from dataclasses import dataclass

import great_expectations as gx
import great_expectations.expectations as gxe

PROFILE_TABLE = "dim_user_profile"
PROFILE_KEY = "person_id"

PROFILE_COLUMNS = (
    "person_id",
    "primary_customer_id",
    "n_customer_ids",
    "n_anonymous_ids",
    "is_registered",
    "is_identity_flagged",
    "email",
    "phone",
    "first_name",
    "last_name",
    "age",
    "gender",
    "city",
    "country",
    "income_bracket",
    "loyalty_tier",
    "interests",
    "has_marketing_consent",
    "signup_at",
    "first_seen_at",
    "last_seen_at",
    "tenure_days",
    "days_since_last_activity",
    "recency_days",
    "frequency",
    "monetary",
    "avg_order_value",
    "refund_count",
    "orders_per_month",
    "r_score",
    "f_score",
    "m_score",
    "rfm_cell",
    "sessions_count",
    "sessions_last_30d",
    "page_views_per_week",
    "avg_session_minutes",
    "email_opens_28d",
    "email_clicks_28d",
    "sessions_per_week",
    "engagement_score",
    "events_last_30d",
    "events_prev_30d",
    "engagement_trend",
    "orders_last_30d",
    "orders_prev_30d",
    "top_category",
    "top_category_share",
    "preferred_device",
    "preferred_channel",
    "has_abandoned_cart",
    "abandoned_carts_30d",
    "is_repeat_visitor",
    "product_interest_category",
    "lifecycle_stage",
    "as_of_date",
    "days_since_first_activity",
    "lifetime_avg_session_minutes",
    "browse_events_per_session",
    "search_share",
    "product_view_share",
    "cart_session_share",
    "logged_in_session_share",
    "session_days",
    "days_since_last_session",
    "mean_days_between_sessions",
    "session_gap_ratio",
    "avg_visit_minutes",
    "email_sessions",
)
# lifetime browsing shares (segmentation features, docs/ml.md): 0..1 where known
PROFILE_SHARE_COLUMNS = ("search_share", "product_view_share", "cart_session_share", "logged_in_session_share")
# visit rhythm (segmentation features, docs/ml.md): counts never null; every rhythm column >= 0 where known
PROFILE_RHYTHM_COUNTS = ("session_days", "email_sessions")
PROFILE_RHYTHM_MEASURES = ("days_since_last_session", "session_gap_ratio", "avg_visit_minutes")
LIFECYCLE_STAGES = ("new", "active", "at_risk", "lapsed", "churned")
PROFILE_GENDERS = ("F", "M", "X", "unknown")
PROFILE_LOYALTY_TIERS = ("none", "bronze", "silver", "gold", "platinum")


@dataclass(frozen=True)
class ProfileBaseline:
    """Whole-table statistics of the last run that passed the gate (table quality.profile_baselines)."""

    run_id: str
    row_count: int
    monetary_mean: float


def dim_user_profile_suite() -> gx.ExpectationSuite:
    """Row-level contract of the published profile: bounds, sets and completeness of its columns (the only place
    these rules live: dbt guards the profile's key and column types, this suite what is published)."""
    suite = gx.ExpectationSuite(f"{PROFILE_TABLE}_suite")
    suite.add_expectation(
        gxe.ExpectTableColumnsToMatchSet(column_set=list(PROFILE_COLUMNS), exact_match=False)
    )
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=PROFILE_KEY))
    suite.add_expectation(gxe.ExpectColumnValuesToMatchRegex(column=PROFILE_KEY, regex=r"^p_[0-9a-f]{16}$"))
    # nulls are allowed (unknown birth date); GX's between-checks skip nulls
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="age", min_value=0, max_value=120))
    for score in ("r_score", "f_score", "m_score"):
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=score))
        suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column=score, min_value=1, max_value=5))
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="engagement_score"))
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeBetween(column="engagement_score", min_value=0, max_value=100)
    )
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="monetary"))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="monetary", min_value=0))
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="frequency"))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="frequency", min_value=0))
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="is_registered"))
    for measure in ("days_since_first_activity", "lifetime_avg_session_minutes", "browse_events_per_session"):
        suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column=measure, min_value=0))
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="lifecycle_stage"))
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeInSet(column="lifecycle_stage", value_set=list(LIFECYCLE_STAGES))
    )
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="gender", value_set=list(PROFILE_GENDERS)))
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeInSet(column="loyalty_tier", value_set=list(PROFILE_LOYALTY_TIERS))
    )
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="as_of_date"))
    for share in PROFILE_SHARE_COLUMNS:
        suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column=share, min_value=0, max_value=1))
    for count in PROFILE_RHYTHM_COUNTS:
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=count))
        suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column=count, min_value=0))
    for measure in PROFILE_RHYTHM_MEASURES:
        suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column=measure, min_value=0))
    # (last - first session date) / (session days - 1): at least one day apart when known
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="mean_days_between_sessions", min_value=1))
    return suite


def dim_user_profile_keys_suite() -> gx.ExpectationSuite:
    """Uniqueness of person_id over the whole published profile."""
    suite = gx.ExpectationSuite(f"{PROFILE_TABLE}_keys_suite")
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column=PROFILE_KEY))
    return suite


def dim_user_profile_metrics_suite(
    baseline: ProfileBaseline | None,
    *,
    tolerance: float = 0.2,
    mean_tolerance: float | None = None,
    future_tolerance_days: int = 1,
) -> gx.ExpectationSuite:
    """Whole-table checks on a one-row metrics frame; drift checks only once a good run left a baseline.

    `tolerance` bounds the row count relative to the baseline (0.2 = +-20 %), `mean_tolerance` the mean
    of `monetary` (defaults to `tolerance`). No profile fact may lie more than `future_tolerance_days`
    after the profile's as_of_date (the dbt var: how far a delivery's times may run ahead of its day):
    a later one means the profile holds deliveries made after the day it describes.
    """
    mean_tolerance = tolerance if mean_tolerance is None else mean_tolerance
    suite = gx.ExpectationSuite(f"{PROFILE_TABLE}_metrics_suite")
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeBetween(
            column="row_count", min_value=1, meta={"column": "*", "metric": "row count"}
        )
    )
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeBetween(
            column="monetary_mean", min_value=0, meta={"column": "monetary", "metric": "mean"}
        )
    )
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeBetween(
            column="days_after_as_of", max_value=future_tolerance_days,
            meta={"column": "last_seen_at, signup_at", "metric": "days the newest profile fact lies after as_of_date"},
        )
    )
    if baseline is not None:
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeBetween(
                column="row_count",
                min_value=max(0, int(baseline.row_count * (1 - tolerance))),
                max_value=round(baseline.row_count * (1 + tolerance)),
                meta={
                    "column": "*",
                    "metric": "row count vs previous good run",
                    "baseline_run_id": baseline.run_id,
                    "baseline": baseline.row_count,
                    "tolerance": tolerance,
                },
            )
        )
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeBetween(
                column="monetary_mean",
                min_value=max(0.0, baseline.monetary_mean * (1 - mean_tolerance)),
                max_value=baseline.monetary_mean * (1 + mean_tolerance),
                meta={
                    "column": "monetary",
                    "metric": "mean vs previous good run",
                    "baseline_run_id": baseline.run_id,
                    "baseline": baseline.monetary_mean,
                    "tolerance": mean_tolerance,
                },
            )
        )
    return suite
