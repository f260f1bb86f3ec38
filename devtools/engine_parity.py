"""Compare tables built by dbt on DuckDB with the same tables built on Spark (parquet under the Spark warehouse)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

# table -> key column (unique per row on both engines)
PARITY_TABLES: dict[str, str] = {
    "dim_user_profile": "person_id",
    "fct_orders": "order_id",
    "fct_sessions": "session_id",
    "fct_events": "event_id",
    "int_person_map": "node_key",
}

# columns not compared: a hash each engine computes with its own function (change detection only), and the
# start time of the dbt invocation that wrote a person-map row (the engines build in separate invocations)
ENGINE_SPECIFIC_COLUMNS: frozenset[str] = frozenset({"edge_fingerprint", "mapped_at"})


@dataclass
class TableDiff:
    """Differences between one table on the two engines (empty lists = equal)."""

    table: str
    rows_duckdb: int
    rows_spark: int
    only_duckdb: list = field(default_factory=list)
    only_spark: list = field(default_factory=list)
    column_mismatches: dict[str, int] = field(default_factory=dict)
    missing_columns: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not (self.only_duckdb or self.only_spark or self.column_mismatches or self.missing_columns)


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            if getattr(s.dt, "tz", None) is not None:
                s = s.dt.tz_convert("UTC").dt.tz_localize(None)
            out[col] = s.astype("datetime64[us]")
        elif s.dtype == object and s.dropna().map(lambda v: type(v).__name__ == "Decimal").any():
            out[col] = s.astype(float)
    return out


def _values_equal(a: pd.Series, b: pd.Series, rel: float, abs_: float) -> np.ndarray:
    both_null = a.isna().to_numpy() & b.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b) and not pd.api.types.is_bool_dtype(a):
        x = a.astype(float).to_numpy()
        y = b.astype(float).to_numpy()
        close = np.isclose(x, y, rtol=rel, atol=abs_)
        return both_null | np.nan_to_num(close, nan=False).astype(bool)
    same = (a.astype(object).to_numpy() == b.astype(object).to_numpy())
    return both_null | same


def compare_table(duck: pd.DataFrame, spark: pd.DataFrame, table: str, key: str,
                  rel: float = 1e-9, abs_: float = 1e-6) -> TableDiff:
    """Rows matched on key; every column equal (numbers within rel/abs tolerance, nulls equal nulls)."""
    duck, spark = _normalise(duck), _normalise(spark)
    diff = TableDiff(table, len(duck), len(spark))
    diff.missing_columns = sorted(set(duck.columns) ^ set(spark.columns))
    keys_d, keys_s = set(duck[key]), set(spark[key])
    diff.only_duckdb = sorted(keys_d - keys_s)[:20]
    diff.only_spark = sorted(keys_s - keys_d)[:20]
    merged = duck.merge(spark, on=key, suffixes=("_d", "_s"))
    for col in sorted(set(duck.columns) & set(spark.columns) - {key} - ENGINE_SPECIFIC_COLUMNS):
        ok = _values_equal(merged[f"{col}_d"], merged[f"{col}_s"], rel, abs_)
        if not ok.all():
            diff.column_mismatches[col] = int((~ok).sum())
    return diff


def read_spark_table(warehouse_dir: Path, schema: str, table: str) -> pd.DataFrame:
    """A Spark (parquet) table as pandas, read with DuckDB straight from the warehouse directory."""
    import duckdb

    folder = Path(warehouse_dir) / f"{schema}.db" / table
    with duckdb.connect() as con:
        return con.execute(f"select * from read_parquet('{folder}/*.parquet')").df()


def read_duckdb_table(path: Path, table: str) -> pd.DataFrame:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(f"select * from {table}").df()
