"""Suites for the raw sources as the warehouse's staging relations expose them (docs/sources.md).

These guard the boundary between the landing zone and the models: required columns, keys,
enumerations. Rows that break a rule are quarantined by staging, so value sets are strict
(`mostly=1.0`) and only columns that are legitimately sparse use a `mostly` threshold.
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column

from expectations.thresholds import DEFAULT_MOSTLY

CRM_CONTACTS_COLUMNS = (
    "customer_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "birth_date",
    "gender",
    "city",
    "country",
    "signup_at",
    "has_marketing_consent",
    "loyalty_tier",
    "income_bracket",
    "interests",
    "updated_at",
)
WEB_EVENTS_COLUMNS = (
    "event_id",
    "anonymous_id",
    "user_id",
    "session_hint",
    "event_type",
    "page_url",
    "product_id",
    "category",
    "search_query",
    "order_id",
    "campaign_id",
    "device",
    "channel",
    "event_at",
)
SHOP_ORDERS_COLUMNS = (
    "order_id",
    "customer_id",
    "email",
    "ordered_at",
    "currency",
    "amount",
    "status",
    "store_channel",
    "updated_at",
)
SHOP_ORDER_ITEMS_COLUMNS = ("order_id", "line_number", "product_id", "category", "quantity", "unit_price")

# columns that identify a failing row in the gate's message and results (those present are used):
# the source key plus the landing file and line staging carries, so a bad value leads to its raw row
STAGING_ROW_IDS = {
    "stg_crm__contacts": ("customer_id", "source_file", "line_no"),
    "stg_web__events": ("event_id", "source_file", "line_no"),
    "stg_shop__orders": ("order_id", "source_file", "line_no"),
    "stg_shop__order_items": ("order_id", "line_number", "source_file", "line_no"),
}

EVENT_TYPES = (
    "page_view",
    "product_view",
    "add_to_cart",
    "checkout",
    "purchase",
    "search",
    "login",
    "email_open",
    "email_click",
)
DEVICES = ("desktop", "mobile", "tablet", "unknown")
CHANNELS = ("direct", "organic", "paid_search", "social", "email", "referral", "unknown")
CURRENCIES = ("EUR", "USD", "GBP", "SEK", "JPY")
ORDER_STATUSES = ("completed", "refunded", "cancelled")
STORE_CHANNELS = ("web", "app", "store", "unknown")
GENDERS = ("F", "M", "X", "unknown")  # staging maps missing/odd values to "unknown"
LOYALTY_TIERS = ("none", "bronze", "silver", "gold", "platinum")


def _columns_present(columns: tuple[str, ...]) -> gxe.Expectation:
    # exact_match=False: staging may add derived columns (loaded_at, source_file, ...)
    return gxe.ExpectTableColumnsToMatchSet(column_set=list(columns), exact_match=False)


def stg_crm__contacts_suite() -> gx.ExpectationSuite:
    """CRM contact versions: key present, enumerations as documented (updated_at is optional: docs/sources.md)."""
    suite = gx.ExpectationSuite("stg_crm__contacts_suite")
    suite.add_expectation(_columns_present(CRM_CONTACTS_COLUMNS))
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="customer_id"))
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="signup_at", mostly=DEFAULT_MOSTLY["stg_crm__contacts.signup_at"]))
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="gender", value_set=list(GENDERS)))
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeInSet(column="loyalty_tier", value_set=list(LOYALTY_TIERS))
    )
    # most contacts leave an e-mail; a sudden drop means a broken export, not shy customers
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="email", mostly=DEFAULT_MOSTLY["stg_crm__contacts.email"]))
    return suite


def stg_web__events_suite() -> gx.ExpectationSuite:
    """Web analytics events: id present, event_type/device/channel from the tracker's enums."""
    suite = gx.ExpectationSuite("stg_web__events_suite")
    suite.add_expectation(_columns_present(WEB_EVENTS_COLUMNS))
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="event_id"))
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="event_type"))
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="event_at"))
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="event_type", value_set=list(EVENT_TYPES)))
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="device", value_set=list(DEVICES)))
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="channel", value_set=list(CHANNELS)))
    # email_open pixels carry no cookie; every other event should. A share over all events would depend on the
    # day's e-mail campaigns (half of a campaign day's events are opens), and the gate validates day by day
    suite.add_expectation(
        gxe.ExpectColumnValuesToNotBeNull(
            column="anonymous_id", row_condition=Column("event_type") != "email_open",
            mostly=DEFAULT_MOSTLY["stg_web__events.anonymous_id"],
        )
    )
    return suite


def stg_shop__orders_suite() -> gx.ExpectationSuite:
    """Shop order versions: key present, currency/status/store_channel enumerations, amount >= 0."""
    suite = gx.ExpectationSuite("stg_shop__orders_suite")
    suite.add_expectation(_columns_present(SHOP_ORDERS_COLUMNS))
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="order_id"))
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="ordered_at"))
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="currency", value_set=list(CURRENCIES)))
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(ORDER_STATUSES)))
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeInSet(column="store_channel", value_set=list(STORE_CHANNELS))
    )
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0))
    # guest checkouts (no customer_id, e-mail only) are a minority; staging rejects orders with neither
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="customer_id", mostly=DEFAULT_MOSTLY["stg_shop__orders.customer_id"]))
    return suite


def stg_shop__order_items_suite() -> gx.ExpectationSuite:
    """Order lines: (order_id, line_number) present, positive quantities."""
    suite = gx.ExpectationSuite("stg_shop__order_items_suite")
    suite.add_expectation(_columns_present(SHOP_ORDER_ITEMS_COLUMNS))
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="order_id"))
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="line_number"))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="line_number", min_value=1))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="quantity", min_value=1, mostly=DEFAULT_MOSTLY["stg_shop__order_items.quantity"]))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="unit_price", min_value=0))
    return suite
