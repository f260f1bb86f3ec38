"""Child process for the fault tests: a BI reader that queries the serving file in a loop.

usage: python bi_reader.py SERVING_FILE STOP_FILE RESULT_JSON

Each iteration opens a fresh read-only connection (as a NullPool BI tool does), reads every documented view
and checks that the snapshot is complete and consistent:

* `user_segments`, `dim_user_profile` and `main.user_profile_public` have the same number of rows;
* `segment_summary` sizes sum to the scored rows of `user_segments`, and once a scoring run is published,
  to all of them (every published person was scored);
* `activation_export` holds only consenting persons and exactly the consenting, scored ones (when present).

A failed query or check is an error (recorded, the loop goes on). Writes {"iterations", "errors",
"snapshots": {signature: times seen}} to RESULT_JSON, where the signature is
"<profile rows>|<scoring run or ->|<sum of segment sizes>".
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb

VIEWS = ("segment_summary", "user_segments", "segment_history", "model_registry", "data_quality_runs")


def check(con: duckdb.DuckDBPyConnection) -> str:
    """Read every view once; return the snapshot signature or raise AssertionError naming the broken rule."""
    for view in VIEWS:
        con.execute(f"select * from {view}").fetchall()
    profiles = con.execute("select count(*) from main.user_profile_public").fetchone()[0]
    users, scored = con.execute("select count(*), count(segment_id) from user_segments").fetchone()
    legacy = con.execute("select count(*) from dim_user_profile").fetchone()[0]
    size_sum, runs = con.execute("select coalesce(sum(size), 0), string_agg(distinct run_id) from segment_summary").fetchone()
    if not profiles == users == legacy:
        raise AssertionError(f"profile rows differ: public {profiles}, user_segments {users}, dim_user_profile {legacy}")
    if size_sum != scored:
        raise AssertionError(f"segment sizes sum to {size_sum}, scored user_segments rows are {scored}")
    if runs is not None and size_sum != users:
        raise AssertionError(f"segment sizes sum to {size_sum} but {users} persons are published")
    has_export = con.execute("select count(*) from information_schema.tables where table_name = 'activation_export'").fetchone()[0]
    if has_export:
        exported, refused = con.execute("""select count(*), count(*) filter (where not u.has_marketing_consent)
            from activation_export a left join user_segments u using (person_id)""").fetchone()
        expected = con.execute("select count(*) from user_segments where has_marketing_consent and segment_id is not null").fetchone()[0]
        if refused or exported != expected:
            raise AssertionError(f"activation_export: {exported} rows, {refused} without consent, expected {expected}")
    return f"{profiles}|{runs or '-'}|{size_sum}"


def main(serving: str, stop_file: str, result: str) -> None:
    iterations, errors, snapshots = 0, [], {}
    while not Path(stop_file).exists():
        try:
            with duckdb.connect(serving, read_only=True) as con:
                signature = check(con)
            snapshots[signature] = snapshots.get(signature, 0) + 1
        except Exception as exc:  # reported to the test, which fails on any
            errors.append(f"{type(exc).__name__}: {exc}"[:500])
        iterations += 1
        time.sleep(0.05)
    Path(result).write_text(json.dumps({"iterations": iterations, "errors": errors, "snapshots": snapshots}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
