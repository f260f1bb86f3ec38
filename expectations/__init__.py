"""Great Expectations suites as code: one function per table returning `gx.ExpectationSuite("<table>_suite")`.

See docs/quality.md for how `segwarehouse.quality.gate` runs them.
"""

from expectations import _gx_runtime  # noqa: F401  (first: loads GX without its SQL and Spark stacks)
from expectations.profile import (
    LIFECYCLE_STAGES,
    PROFILE_COLUMNS,
    PROFILE_KEY,
    PROFILE_TABLE,
    ProfileBaseline,
    dim_user_profile_keys_suite,
    dim_user_profile_metrics_suite,
    dim_user_profile_suite,
)
from expectations.staging import (
    STAGING_ROW_IDS,
    stg_crm__contacts_suite,
    stg_shop__order_items_suite,
    stg_shop__orders_suite,
    stg_web__events_suite,
)

# columns naming a failing row in results (only those present in the table are used)
ROW_IDS: dict[str, tuple[str, ...]] = {**STAGING_ROW_IDS, PROFILE_TABLE: (PROFILE_KEY,)}

# row-level suites by table name (whole-table suites of the profile need a baseline, see profile.py)
ROW_SUITES = {
    "stg_crm__contacts": stg_crm__contacts_suite,
    "stg_web__events": stg_web__events_suite,
    "stg_shop__orders": stg_shop__orders_suite,
    "stg_shop__order_items": stg_shop__order_items_suite,
    PROFILE_TABLE: dim_user_profile_suite,
}

__all__ = [
    "LIFECYCLE_STAGES",
    "PROFILE_COLUMNS",
    "PROFILE_KEY",
    "PROFILE_TABLE",
    "ROW_IDS",
    "ROW_SUITES",
    "ProfileBaseline",
    "dim_user_profile_keys_suite",
    "dim_user_profile_metrics_suite",
    "dim_user_profile_suite",
    "stg_crm__contacts_suite",
    "stg_shop__order_items_suite",
    "stg_shop__orders_suite",
    "stg_web__events_suite",
]
