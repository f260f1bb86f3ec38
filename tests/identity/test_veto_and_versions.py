"""A do-not-link pair is honoured by the next build; a retrained model is a new version the next build rescores
with; the threshold is configured and checked. (Runs after test_probabilistic_matching.py: it changes the
shared warehouse.)"""

from __future__ import annotations

import json

import duckdb
import pytest

from tests.identity.conftest import LAST_DAY

pytestmark = pytest.mark.slow


def _person(con: duckdb.DuckDBPyConnection, customer_id: str) -> str:
    return con.execute("select person_id from int_person_map where node_key = ?",
                       [f"customer_id:{customer_id}"]).fetchone()[0]


@pytest.fixture(scope="module")
def vetoed(matched) -> dict:
    """Veto one probabilistic link whose two contacts nothing else connects, then build the last day again."""
    from segwarehouse.warehouse.build import build

    paths = matched["paths"]
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        pair = con.execute("""
            with customers as (select person_id, count(*) as n from int_person_map
                               where node_key like 'customer_id:%' group by person_id)
            select l.customer_id_l, l.customer_id_r from identity.probabilistic_links l
            join int_person_map m on m.node_key = 'customer_id:' || l.customer_id_l
            join customers c using (person_id)
            where c.n = 2 order by l.customer_id_l limit 1""").fetchone()
        before = (_person(con, pair[0]), _person(con, pair[1]))
    seed = paths.dbt_project / "seeds" / "identity_do_not_link.csv"
    seed.write_text(seed.read_text() + f"{pair[1]},{pair[0]},different persons (checked by hand)\n")
    after_build = build(LAST_DAY, paths)
    return {"pair": pair, "before": before, "matching": after_build["matching"]}


def test_a_vetoed_pair_is_not_linked_by_the_next_build(matched, vetoed):
    pair, (l_before, r_before) = vetoed["pair"], vetoed["before"]
    assert l_before == r_before
    assert vetoed["matching"]["mode"] == "incremental"
    assert vetoed["matching"]["vetoed_by_list"] == 1
    with duckdb.connect(str(matched["paths"].warehouse), read_only=True) as con:
        assert con.execute("select count(*) from identity.probabilistic_links where customer_id_l = ? "
                           "and customer_id_r = ?", list(pair)).fetchone()[0] == 0
        assert con.execute("select count(*) from identity.probabilistic_link_explanations where customer_id_l = ? "
                           "and customer_id_r = ?", list(pair)).fetchone()[0] == 0
        assert _person(con, pair[0]) != _person(con, pair[1])
        # the other links stay
        assert con.execute("select count(*) from identity.probabilistic_links").fetchone()[0] == \
            matched["last"]["links"] - 1


def test_a_retrained_model_is_a_new_version_and_the_next_build_rescores_with_it(matched, vetoed):
    from segwarehouse import pipeline
    from segwarehouse.warehouse.identity.matching import match_contacts

    paths = matched["paths"]
    trained = pipeline.train_identity_model(paths)
    assert trained["model_version"] != matched["first"]["model_version"]
    folder = paths.models / "identity" / trained["model_version"]
    model = json.loads((folder / "splink_model.json").read_text())
    levels = [lvl for c in model["comparisons"] for lvl in c["comparison_levels"] if not lvl.get("is_null_level")]
    assert all(0 <= lvl["u_probability"] <= 1 for lvl in levels if "u_probability" in lvl)
    assert sum("m_probability" in lvl for lvl in levels) >= 15
    assert {p.name for p in folder.glob("tf_*.parquet")} == {"tf_first_name.parquet", "tf_last_name.parquet",
                                                               "tf_address_line.parquet", "tf_city.parquet"}
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        versions = [r[0] for r in con.execute("select model_version from identity.model_registry "
                                              "order by trained_at").fetchall()]
    assert versions == [matched["first"]["model_version"], trained["model_version"]]

    rescored = match_contacts(paths, LAST_DAY)
    assert rescored["mode"] == "full"
    assert rescored["model_version"] == trained["model_version"]
    assert rescored["vetoed_by_list"] == 1
    # the same data, re-estimated: about the same links
    assert abs(rescored["links"] - matched["last"]["links"]) <= 0.05 * matched["last"]["links"]


def test_the_threshold_comes_from_the_environment_and_is_checked(monkeypatch):
    from segwarehouse.warehouse.identity.matching import BadMatchThreshold, match_threshold

    assert match_threshold() == 0.9 or "SEGWAREHOUSE_MATCH_THRESHOLD" in __import__("os").environ
    monkeypatch.setenv("SEGWAREHOUSE_MATCH_THRESHOLD", "0.97")
    assert match_threshold() == 0.97
    for bad in ("1.5", "0", "high"):
        monkeypatch.setenv("SEGWAREHOUSE_MATCH_THRESHOLD", bad)
        with pytest.raises(BadMatchThreshold, match=f"SEGWAREHOUSE_MATCH_THRESHOLD='{bad}'"):
            match_threshold()
