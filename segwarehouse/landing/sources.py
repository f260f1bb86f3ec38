"""The sources of the landing zone: where each one's files live and what they are called (docs/sources.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """One landing-zone source: files `<folder>/date=YYYY-MM-DD/*<extension>`."""

    name: str        # the name quarantine, audit and ledger rows carry (e.g. web_events)
    key: str         # short key (e.g. events)
    folder: str      # folder below the landing-zone root
    extension: str   # data files end with this; anything else in a partition is rejected
    file_name: str   # the name our generator writes; any name with the extension is accepted


SOURCES: dict[str, Source] = {
    s.key: s
    for s in (
        Source("crm_contacts", "contacts", "crm/contacts", ".csv", "contacts.csv"),
        Source("web_events", "events", "web/events", ".jsonl", "events.jsonl"),
        Source("shop_orders", "orders", "shop/orders", ".csv", "orders.csv"),
        Source("shop_order_items", "order_items", "shop/order_items", ".csv", "order_items.csv"),
    )
}
BY_FOLDER: dict[str, Source] = {s.folder: s for s in SOURCES.values()}
BY_NAME: dict[str, Source] = {s.name: s for s in SOURCES.values()}
