"""Splink linkers on the warehouse connection: every result is fetched before Splink's next query, and the
tables Splink creates are dropped when done."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
from splink import DuckDBAPI, Linker

from segwarehouse.warehouse.identity.registry import IdentityModel


@contextmanager
def linker_for(con: duckdb.DuckDBPyConnection, table: str, model: IdentityModel | object) -> Iterator[Linker]:
    """A linker over table `table` (unqualified, unique name) with a saved model (its frozen term-frequency
    tables registered) or with settings to train."""
    db_api = DuckDBAPI(con)
    if isinstance(model, IdentityModel):
        linker = Linker(db_api.register(table), str(model.settings_path), log_level=logging.WARNING)
        for column in model.tf_columns():
            name = f"__identity_tf_{column}"
            con.execute(f"create or replace temp table {name} as select * from read_parquet(?)",
                        [str(model.tf_path(column))])
            linker.table_management.register_term_frequency_lookup(db_api.register(name), column)
    else:
        linker = Linker(db_api.register(table), model, log_level=logging.WARNING)
    try:
        yield linker
    finally:
        linker.table_management.delete_tables_created_by_splink_from_db()


def tf_columns(linker: Linker) -> list[str]:
    """The columns with term-frequency adjustments."""
    return [c.input_name for c in linker._settings_obj._term_frequency_columns]
