"""A real public transactions data set as a landing zone: the CDNOW purchases shipped in the `lifetimes` package.

CDNOW_master.txt (69,659 purchases by 23,570 customers of an online CD shop, January 1997 - June 1998; one line
per purchase: customer id, date YYYYMMDD, number of CDs, dollar value) is the data set of Fader & Hardie's
customer-base papers. It has no e-mail, no time of day, no web analytics and one currency (USD): the shape of
many shops' order exports, so it is how docs/own-data.md shows a transactions-only deployment.

    python -m devtools.cdnow data/raw        # writes shop/orders/date=YYYY-MM-DD/orders.csv

Each purchase becomes one completed order (`cdnow-<line>`), delivered on its purchase day; order lines are not
written (the source has none). Purchases of 0.00 stay in the files: the warehouse quarantines them
(non-positive amount) like any shop's zero orders.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from collections import defaultdict
from pathlib import Path

ORDERS_HEADER = ("order_id", "customer_id", "email", "ordered_at", "currency", "amount", "status",
                 "store_channel", "updated_at")


def cdnow_file() -> Path:
    """CDNOW_master.txt inside the installed `lifetimes` package (found without importing it)."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the CDNOW data set ships in the `lifetimes` package: pip install lifetimes")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "CDNOW_master.txt"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found in the installed lifetimes package")
    return path


def read_purchases(path: Path | None = None) -> list[tuple[int, str, str, str]]:
    """(line number, customer id, ISO date, dollar value as written) per purchase."""
    out = []
    with (path or cdnow_file()).open(encoding="ascii") as fh:
        for line_no, line in enumerate(fh, start=1):
            fields = line.split()
            if line_no == 1 and fields == ["customer_id", "date", "number_of_cds", "dollar_value"]:
                continue  # the header line
            if len(fields) != 4 or not fields[1].isdigit() or len(fields[1]) != 8:
                raise ValueError(f"{path}:{line_no}: expected customer_id YYYYMMDD n_cds dollars, got {line!r}")
            customer, day, _, dollars = fields
            out.append((line_no, customer, f"{day[:4]}-{day[4:6]}-{day[6:]}", dollars))
    return out


def write_landing_zone(raw: Path, path: Path | None = None) -> dict[str, int | str]:
    """The purchases as shop order files under `raw`, one partition per purchase day; returns counts."""
    by_day: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for line_no, customer, day, dollars in read_purchases(path):
        by_day[day].append((f"cdnow-{line_no}", customer, "", day, "USD", dollars, "completed", "", ""))
    for day, rows in by_day.items():
        folder = Path(raw) / "shop" / "orders" / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "orders.csv").open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh, lineterminator="\n").writerows([ORDERS_HEADER, *rows])
    return {"orders": sum(len(r) for r in by_day.values()), "days": len(by_day), "first_day": min(by_day),
            "last_day": max(by_day)}


if __name__ == "__main__":
    sys.stdout.write(json.dumps(write_landing_zone(Path(sys.argv[1] if len(sys.argv) > 1 else "data/raw"))) + "\n")
