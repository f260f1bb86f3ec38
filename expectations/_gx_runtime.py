"""Load Great Expectations without its optional SQL and Spark stacks (imported first by `expectations`).

GX imports SQLAlchemy and PySpark whenever they are installed, for its SQL and Spark datasources. The gate
validates pandas frames only, and those two imports are about a fifth of GX's import cost, paid by every
gate run. While GX loads they are hidden from it (GX then treats them as not installed); afterwards they
import normally for any other code. A process that has already loaded one (importing `airflow.sdk` loads
SQLAlchemy) keeps it for GX too.
"""

from __future__ import annotations

import importlib
import sys

OPTIONAL = ("pyspark", "sqlalchemy")


def load_gx() -> None:
    if "great_expectations" in sys.modules:
        return
    hidden = [name for name in OPTIONAL if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError: "not installed"
    try:
        importlib.import_module("great_expectations")
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


load_gx()
