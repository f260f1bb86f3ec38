"""Training an identity model without labels: u by random sampling, m by expectation maximisation on blocked
pairs; saved as a new version with the term-frequency tables of the training data (frozen, so that a daily
incremental run and a full rebuild score with the same numbers)."""

from __future__ import annotations

import copy
import json
import logging
import time
from pathlib import Path

import duckdb
from splink import block_on

from segwarehouse.warehouse.identity import registry, settings
from segwarehouse.warehouse.identity.key_evidence import estimate_key_m
from segwarehouse.warehouse.identity.splink_run import linker_for, tf_columns

log = logging.getLogger(__name__)

U_SAMPLE_PAIRS = 1e7  # random pairs for the u probabilities (fewer for small inputs: at least 1e6, 300 per contact)
EM_MAX_PAIRS = 5e6


class NotEnoughContacts(RuntimeError):
    """Too few eligible contacts to estimate a model."""


class TrainingFailed(RuntimeError):
    """Every blocking rule of an expectation-maximisation session broke down; nothing was saved."""


def _has_pairs(con: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...]) -> bool:
    """Do at least two contacts of `table` agree on every one of `columns` (all present)?"""
    cols = ", ".join(columns)
    present = " and ".join(f"{c} is not null" for c in columns)
    return bool(con.execute(f"select 1 from {table} where {present} group by {cols} having count(*) > 1 limit 1"
                            ).fetchall())


def _is_zero_m(exc: ValueError) -> bool:
    return "below the minimum allowed value" in str(exc)


def train_model(con: duckdb.DuckDBPyConnection, table: str, models_root: Path, *, seed: int = 42) -> registry.IdentityModel:
    """Train on temp table `table` (the matching input), save and register a new version; return it.

    A first prior and the u probabilities are estimated once; the EM sessions then run on a fresh linker from
    those estimates, and the last one sets the model's prior from all sessions' estimates. Splink refuses an m
    probability that EM drove to exactly 0 (a level almost never seen among a
    session's pairs, typical of small inputs) and leaves that linker's settings half-changed, so the sessions
    start again from the estimates with the session's next blocking rule (settings.EM_BLOCKING); the version's
    training.json records which rules ran and which were dropped."""
    n = con.execute(f"select count(*) from {table}").fetchall()[0][0]
    if n < 50:
        raise NotEnoughContacts(f"{n} eligible contacts: an identity model needs at least 50")
    started = time.perf_counter()
    u_pairs = min(U_SAMPLE_PAIRS, max(1e6, 300.0 * n))
    prior_rules = [block_on(*cols) for cols in settings.PRIOR_BLOCKING if _has_pairs(con, table, cols)]
    if not prior_rules:
        raise NotEnoughContacts(f"no two of the {n} eligible contacts agree on both names and a birth date or an "
                                "address: nothing to estimate an identity model from")
    sessions = [[cols for cols in alternatives if _has_pairs(con, table, cols)] for alternatives in settings.EM_BLOCKING]
    if not all(sessions):
        raise NotEnoughContacts(f"the {n} eligible contacts give no pairs for an EM session "
                                f"({settings.EM_BLOCKING}): nothing to estimate an identity model from")
    with linker_for(con, table, settings.settings()) as linker:
        linker.training.estimate_probability_two_random_records_match(prior_rules, recall=0.4)
        linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=seed)
        estimated = linker.misc.save_model_to_json(overwrite=True)
    choice = [0] * len(sessions)
    log_sessions: list[dict] = []
    while True:
        with linker_for(con, table, copy.deepcopy(estimated)) as linker:
            try:
                for i, alternatives in enumerate(sessions):
                    rule = block_on(*alternatives[choice[i]])
                    linker.training.estimate_parameters_using_expectation_maximisation(
                        rule, max_pairs=EM_MAX_PAIRS,
                        populate_probability_two_random_records_match_from_trained_values=i == len(sessions) - 1)
            except ValueError as exc:
                if not _is_zero_m(exc):
                    raise
                sql = rule.get_blocking_rule("duckdb").blocking_rule_sql
                log.warning("identity model: EM session on %s dropped: %s", sql, str(exc).splitlines()[0])
                log_sessions.append({"blocking_rule": sql, "status": f"dropped: {str(exc).splitlines()[0]}"})
                choice[i] += 1
                if choice[i] == len(alternatives):
                    raise TrainingFailed(f"identity model: every EM blocking rule of session {i + 1} broke down "
                                         f"on {n} contacts: {log_sessions}") from exc
                continue
            log_sessions += [{"blocking_rule": block_on(*alts[c]).get_blocking_rule("duckdb").blocking_rule_sql,
                              "status": "estimated"} for alts, c in zip(sessions, choice, strict=True)]
            trained = estimate_key_m(con, table, linker.misc.save_model_to_json(overwrite=True))
            text = json.dumps(trained, indent=1, default=str)
            model = registry.new_version(models_root, text)
            model.settings_path.write_text(text)
            (model.folder / "training.json").write_text(json.dumps(
                {"contacts": n, "u_sample_pairs": u_pairs, "em_sessions": log_sessions}, indent=1))
            for column in tf_columns(linker):
                tf = linker.table_management.compute_tf_table(column)
                con.execute(f"copy (select * from {tf.physical_name}) to '{model.tf_path(column)}' (format parquet)")
            break
    seconds = time.perf_counter() - started
    registry.register(con, model, contacts=n, seconds=seconds)
    log.info("identity model %s trained on %d contacts in %.1f s", model.version, n, seconds)
    return model
