"""Marketing consent: the activation export holds consenting, scored persons only, with pseudonymous keys only."""

from __future__ import annotations

from pathlib import Path

import duckdb

from segwarehouse.serving.contract import ACTIVATION_COLUMNS, PII_COLUMNS, parquet_dir

from .conftest import Served


def _q(path: Path, sql: str):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_activation_export_is_consenting_scored_persons_only(served: Served):
    serving = served.paths.serving
    columns = [d[0] for d in duckdb.connect(str(serving), read_only=True).execute(
        "select * from activation_export limit 0").description]
    assert columns == ACTIVATION_COLUMNS  # no other profile column, no raw PII column
    assert not set(PII_COLUMNS) & set(columns)
    exported, non_consenting, unscored = _q(serving, """
        select count(*), count(*) filter (where not u.has_marketing_consent), count(*) filter (where u.segment_id is null)
        from activation_export a join user_segments u using (person_id)""")[0]
    consenting, persons = _q(serving, "select count(*) filter (where has_marketing_consent and segment_id is not null), "
                                      "count(*) from user_segments")[0]
    assert non_consenting == 0
    assert unscored == 0
    assert exported == consenting
    assert 0 < exported < persons  # the test data holds both consenting and non-consenting persons
    assert _q(serving, "select count(*) - count(distinct person_id) from activation_export")[0][0] == 0


def test_activation_export_matches_the_warehouse_consent(served: Served):
    """The persons exported are exactly the warehouse profiles with consent (all were scored)."""
    with duckdb.connect() as con:
        con.execute(f"attach '{served.paths.warehouse}' as wh (read_only)")
        con.execute(f"attach '{served.paths.serving}' as srv (read_only)")
        only_one_side = con.execute("""
            select count(*) from (
                (select person_id from wh.main.dim_user_profile where has_marketing_consent
                 except select person_id from srv.main.activation_export)
                union all
                (select person_id from srv.main.activation_export
                 except select person_id from wh.main.dim_user_profile where has_marketing_consent))""").fetchone()[0]
        refused = con.execute("""select count(*) from srv.main.activation_export a
                                 join wh.main.dim_user_profile p using (person_id)
                                 where not p.has_marketing_consent""").fetchone()[0]
    assert only_one_side == 0
    assert refused == 0


def test_activation_parquet_file_holds_the_same_rows(served: Served):
    path = parquet_dir(served.paths) / "activation_export.parquet"
    with duckdb.connect() as con:
        con.execute(f"attach '{served.paths.serving}' as srv (read_only)")
        rows, non_consenting = con.execute(f"""
            select count(*), count(*) filter (where not u.has_marketing_consent)
            from read_parquet('{path}') a join srv.main.user_segments u using (person_id)""").fetchone()
        view_rows = con.execute("select count(*) from srv.main.activation_export").fetchone()[0]
    assert rows == view_rows > 0
    assert non_consenting == 0
    assert served.publish["parquet_rows"]["activation_export"] == view_rows
