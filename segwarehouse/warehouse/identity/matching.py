"""The matching step of a build: score CRM contacts with the current identity model and write the accepted
links (`identity.probabilistic_links`, a dbt source of the identity layer) with their explanations.

Full mode scores every candidate pair; incremental mode (the daily default) scores only the contacts that are
new or whose matching columns changed since the last run, against the unchanged ones (Splink's
`predict_between`) and among themselves (`predict_within`), and keeps the stored scores of the unchanged
pairs: with the same model and frozen term-frequency tables this equals a full rebuild
(tests/identity/test_incremental_matching.py). A new model version, a `--full-refresh` or a first run is full.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, date, datetime

import duckdb

from segwarehouse.core.paths import Paths
from segwarehouse.warehouse.dbt_vars import project_var
from segwarehouse.warehouse.identity import explain, registry
from segwarehouse.warehouse.identity.match_input import build_match_input
from segwarehouse.warehouse.identity.schema import EXPLANATIONS, INPUT, LINKS, RUNS, SCORES, ensure_schema
from segwarehouse.warehouse.identity.settings import MODEL_COLUMNS, VETO_SQL
from segwarehouse.warehouse.identity.splink_run import linker_for
from segwarehouse.warehouse.identity.training import NotEnoughContacts, TrainingFailed, train_model

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.9
SCORE_FLOOR = 0.5  # pairs scored below this are not stored (a lower threshold stores from the threshold on)
DO_NOT_LINK = "main.identity_do_not_link"  # dbt seed: pairs a data engineer vetoed

_NOW, _DELTA, _EXISTING = "__identity_input_now", "__identity_delta", "__identity_existing"


class BadMatchThreshold(ValueError):
    """SEGWAREHOUSE_MATCH_THRESHOLD is not a probability strictly between 0 and 1."""


def match_threshold(value: str | float | None = None) -> float:
    """The match probability a pair needs to be linked: `value`, else $SEGWAREHOUSE_MATCH_THRESHOLD, else 0.9."""
    raw = value if value is not None else os.environ.get("SEGWAREHOUSE_MATCH_THRESHOLD", DEFAULT_THRESHOLD)
    try:
        threshold = float(raw)
    except (TypeError, ValueError):
        raise BadMatchThreshold(f"SEGWAREHOUSE_MATCH_THRESHOLD={raw!r}: expected a number in (0, 1)") from None
    if not 0.0 < threshold < 1.0:
        raise BadMatchThreshold(f"SEGWAREHOUSE_MATCH_THRESHOLD={raw!r}: expected a number in (0, 1)")
    return threshold


def _exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                       [schema, table]).fetchall()[0][0] > 0


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(f"select count(*) from ({sql})").fetchall()[0][0])


def _insert_scores(con: duckdb.DuckDBPyConnection, physical: str, version: str) -> None:
    """Append Splink's predictions to SCORES (created from the first ones), in SCORES' columns."""
    if not _exists(con, "identity", "match_scores"):
        con.execute(f"create table {SCORES} as select *, ? as model_version from {physical}", [version])
        return
    cols = [r[0] for r in con.execute(f"describe {SCORES}").fetchall() if r[0] != "model_version"]
    got = {r[0] for r in con.execute(f"describe {physical}").fetchall()}
    select = ", ".join(c if c in got else f"null as {c}" for c in cols)
    con.execute(f"insert into {SCORES} by name select {select}, ? as model_version from {physical}", [version])


def _score_full(con: duckdb.DuckDBPyConnection, model: registry.IdentityModel, cutoff: float) -> None:
    con.execute(f"drop table if exists {SCORES}")
    with linker_for(con, _NOW, model) as linker:
        predictions = linker.inference.predict(threshold_match_probability=cutoff, warning_mode="never")
        _insert_scores(con, predictions.physical_name, model.version)


def _score_incremental(con: duckdb.DuckDBPyConnection, model: registry.IdentityModel, cutoff: float) -> tuple[int, int]:
    """Rescore the contacts new or changed since INPUT; drop the pairs of changed and gone contacts."""
    cols = ", ".join(MODEL_COLUMNS)
    con.execute(f"""create or replace temp table {_DELTA} as
        select now.* from (select {cols} from {_NOW}) as now
        left join (select {cols} from {INPUT}) as before using (customer_id)
        where before.customer_id is null or hash(now) is distinct from hash(before)""")
    con.execute(f"""create or replace temp table __identity_touched as
        select customer_id from {_DELTA}
        union all (select customer_id from {INPUT} except select customer_id from {_NOW})""")
    con.execute(f"create or replace temp table {_EXISTING} as select {cols} from {_NOW} "
                f"where customer_id not in (select customer_id from {_DELTA})")
    con.execute(f"""delete from {SCORES} where customer_id_l in (select customer_id from __identity_touched)
                    or customer_id_r in (select customer_id from __identity_touched)""")
    delta = _count(con, f"select 1 from {_DELTA}")
    gone = _count(con, "select 1 from __identity_touched") - delta
    if delta:
        with linker_for(con, _EXISTING, model) as linker:
            db_api = linker._db_api
            existing, changed = db_api.register(_EXISTING), db_api.register(_DELTA)
            if _count(con, f"select 1 from {_EXISTING}"):
                between = linker.inference.predict_between(existing, changed, threshold_match_probability=cutoff,
                                                           warning_mode="never")
                _insert_scores(con, between.physical_name, model.version)
            within = linker.inference.predict_within(changed, threshold_match_probability=cutoff,
                                                     warning_mode="never")
            _insert_scores(con, within.physical_name, model.version)
    return delta, gone


def _write_links(con: duckdb.DuckDBPyConnection, model: registry.IdentityModel, threshold: float) -> dict:
    """LINKS and EXPLANATIONS from SCORES: above the threshold, not vetoed by the rule nor by the list."""
    vetoed_list = (f"""exists (select 1 from {DO_NOT_LINK} v
        where least(v.customer_id_a, v.customer_id_b) = least(s.customer_id_l, s.customer_id_r)
          and greatest(v.customer_id_a, v.customer_id_b) = greatest(s.customer_id_l, s.customer_id_r))"""
                   if _exists(con, "main", "identity_do_not_link") else "false")
    con.execute(f"""create or replace temp table __identity_accepted as
        select s.*, ({VETO_SQL}) as vetoed_by_rule, {vetoed_list} as vetoed_by_list
        from {SCORES} s
        left join (select customer_id, country as country_l from {_NOW}) cl on cl.customer_id = s.customer_id_l
        left join (select customer_id, country as country_r from {_NOW}) cr on cr.customer_id = s.customer_id_r
        where s.match_probability >= {threshold!r}""")
    con.execute(f"delete from {LINKS}")
    con.execute(f"""insert into {LINKS}
        select least(customer_id_l, customer_id_r), greatest(customer_id_l, customer_id_r), match_probability,
               match_weight, model_version
        from __identity_accepted where not vetoed_by_rule and not vetoed_by_list""")
    con.execute(f"delete from {EXPLANATIONS}")
    con.execute("create or replace temp table __identity_linked as "
                "select * from __identity_accepted where not vetoed_by_rule and not vetoed_by_list")
    with linker_for(con, _NOW, model) as linker:
        sql = explain.explain_sql(linker, "__identity_linked", model.version)
    con.execute(f"insert into {EXPLANATIONS} {sql}")
    row = con.execute("select count(*) filter (where not vetoed_by_rule and not vetoed_by_list), "
                      "count(*) filter (where vetoed_by_rule), count(*) filter (where vetoed_by_list and not "
                      "vetoed_by_rule) from __identity_accepted").fetchall()[0]
    return {"links": row[0], "vetoed_by_rule": row[1], "vetoed_by_list": row[2]}


def _configure(con: duckdb.DuckDBPyConnection) -> None:
    threads = int(os.environ.get("SEGWAREHOUSE_DUCKDB_THREADS", "2"))
    memory = os.environ.get("SEGWAREHOUSE_DUCKDB_MEMORY", "8GB")
    con.execute(f"set threads = {threads}")
    con.execute("set memory_limit = ?", [memory])


def _input(con: duckdb.DuckDBPyConnection, paths: Paths) -> tuple[int, int]:
    contacts = _count(con, "select 1 from main.stg_crm__contacts")
    eligible = build_match_input(con, _NOW, max_per_email=int(project_var(paths, "max_customers_per_email")),
                                 max_per_phone=int(project_var(paths, "max_customers_per_phone")))
    return contacts, eligible


def matching_enabled() -> bool:
    """$SEGWAREHOUSE_PROBABILISTIC_MATCHING: `on` (default) or `off` (deterministic identity links only)."""
    value = os.environ.get("SEGWAREHOUSE_PROBABILISTIC_MATCHING", "on").strip().lower()
    if value not in ("on", "off"):
        raise ValueError(f"SEGWAREHOUSE_PROBABILISTIC_MATCHING={value!r}: expected on or off")
    return value == "on"


def match_contacts(paths: Paths, day: date | None = None, *, full: bool = False,
                   threshold: float | None = None) -> dict:
    """Score the contacts of `main.stg_crm__contacts` and rewrite the links; train the first model if there is
    none. Returns a summary (mode, counts, model version, seconds). Runs under the caller's writer lock.
    Switched off ($SEGWAREHOUSE_PROBABILISTIC_MATCHING=off), it empties the links: the graph is deterministic."""
    threshold = match_threshold(threshold)
    started = time.perf_counter()
    with duckdb.connect(str(paths.warehouse)) as con:
        _configure(con)
        ensure_schema(con)
        if not matching_enabled():
            con.execute(f"delete from {LINKS}")
            con.execute(f"delete from {EXPLANATIONS}")
            return {"mode": "off"}
        if not _exists(con, "main", "stg_crm__contacts"):
            return {"mode": "skipped", "reason": "no stg_crm__contacts yet"}
        contacts, eligible = _input(con, paths)
        model = registry.current_model(con)
        trained = adopted = None
        unusable: list[str] = []
        if model is None:  # a warehouse built from scratch keeps the newest usable model of the models folder
            model, unusable = registry.adopt_from_disk(con, paths.models)
            adopted = model.version if model else None
        if model is None:
            try:
                model = train_model(con, _NOW, paths.models)
            except (NotEnoughContacts, TrainingFailed) as exc:
                # too few contacts, or too little evidence among them for EM (a small CRM): the build goes on with
                # the deterministic links, and the next build tries again; `segwarehouse identity-train` still
                # raises TrainingFailed, as someone asked for a model
                log.warning("probabilistic matching skipped: %s", exc)
                con.execute(f"delete from {LINKS}")
                con.execute(f"delete from {EXPLANATIONS}")
                return {"mode": "skipped", "reason": str(exc), "contacts": contacts, "eligible": eligible}
            trained = model.version
        # the model the stored scores come from: the last run's (its scores may be none at all)
        scored_with = con.execute(f"select model_version from {RUNS} order by run_at desc limit 1").fetchall()
        incremental = (not full and scored_with == [(model.version,)] and _exists(con, "identity", "match_scores")
                       and _exists(con, "identity", "match_input"))
        cutoff = min(threshold, SCORE_FLOOR)
        delta = gone = None
        if incremental:
            delta, gone = _score_incremental(con, model, cutoff)
        else:
            _score_full(con, model, cutoff)
        con.execute(f"create or replace table {INPUT} as select {', '.join(MODEL_COLUMNS)} from {_NOW}")
        links = _write_links(con, model, threshold)
        scored = _count(con, f"select 1 from {SCORES}")
        seconds = round(time.perf_counter() - started, 2)
        mode = "incremental" if incremental else "full"
        con.execute(f"insert into {RUNS} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [datetime.now(UTC).replace(tzinfo=None), day, model.version, mode, contacts, eligible,
                     delta, gone, scored, links["links"], links["vetoed_by_rule"], links["vetoed_by_list"],
                     threshold, seconds])
    summary = {"mode": mode, "model_version": model.version, "trained": trained, "adopted": adopted,
               **({"unusable_models": unusable} if unusable else {}), "contacts": contacts,
               "eligible": eligible, "delta": delta, "gone": gone, "scored_pairs": scored, **links,
               "threshold": threshold, "seconds": seconds}
    log.info("probabilistic matching: %s", summary)
    return summary


def train_identity_model(paths: Paths) -> dict:
    """Re-estimate the identity model on the current contacts (a new version; the next build rescores all).
    Without enough contacts to estimate from, nothing is trained and the result says why (`skipped`)."""
    started = time.perf_counter()
    with duckdb.connect(str(paths.warehouse)) as con:
        _configure(con)
        ensure_schema(con)
        if not _exists(con, "main", "stg_crm__contacts"):
            return {"model_version": None, "skipped": "no stg_crm__contacts: build the warehouse first"}
        contacts, eligible = _input(con, paths)
        try:
            model = train_model(con, _NOW, paths.models)
        except NotEnoughContacts as exc:  # a deployment without (enough) CRM contacts: nothing to re-estimate
            log.warning("identity model not trained: %s", exc)
            return {"model_version": None, "skipped": str(exc), "contacts": contacts, "eligible": eligible}
    return {"model_version": model.version, "path": str(model.folder), "contacts": contacts, "eligible": eligible,
            "seconds": round(time.perf_counter() - started, 2)}
