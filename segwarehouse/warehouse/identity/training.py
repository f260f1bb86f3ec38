"""Training an identity model without labels: u by random sampling, m by expectation maximisation on blocked
pairs; saved as a new version with the term-frequency tables of the training data (frozen, so that a daily
incremental run and a full rebuild score with the same numbers)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import duckdb

from segwarehouse.warehouse.identity import registry, settings
from segwarehouse.warehouse.identity.splink_run import linker_for, tf_columns

log = logging.getLogger(__name__)

U_SAMPLE_PAIRS = 1e7  # random pairs for the u probabilities (fewer for small inputs: at least 1e6, 300 per contact)
EM_MAX_PAIRS = 5e6


class NotEnoughContacts(RuntimeError):
    """Too few eligible contacts to estimate a model."""


def train_model(con: duckdb.DuckDBPyConnection, table: str, models_root: Path, *, seed: int = 42) -> registry.IdentityModel:
    """Train on temp table `table` (the matching input), save and register a new version; return it."""
    n = con.execute(f"select count(*) from {table}").fetchall()[0][0]
    if n < 50:
        raise NotEnoughContacts(f"{n} eligible contacts: an identity model needs at least 50")
    started = time.perf_counter()
    with linker_for(con, table, settings.settings()) as linker:
        linker.training.estimate_probability_two_random_records_match(settings.PRIOR_BLOCKING, recall=0.4)
        linker.training.estimate_u_using_random_sampling(max_pairs=min(U_SAMPLE_PAIRS, max(1e6, 300.0 * n)), seed=seed)
        for rule in settings.EM_BLOCKING:
            linker.training.estimate_parameters_using_expectation_maximisation(rule, max_pairs=EM_MAX_PAIRS)
        text = json.dumps(linker.misc.save_model_to_json(overwrite=True), indent=1, default=str)
        model = registry.new_version(models_root, text)
        model.settings_path.write_text(text)
        for column in tf_columns(linker):
            tf = linker.table_management.compute_tf_table(column)
            con.execute(f"copy (select * from {tf.physical_name}) to '{model.tf_path(column)}' (format parquet)")
    seconds = time.perf_counter() - started
    registry.register(con, model, contacts=n, seconds=seconds)
    log.info("identity model %s trained on %d contacts in %.1f s", model.version, n, seconds)
    return model
