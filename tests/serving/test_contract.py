"""The serving file's BI contract: documented views, one row per person, no raw PII, Parquet exports."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest

from segwarehouse.core.pii import PiiKeyError, pseudonymize
from segwarehouse.serving.contract import PII_COLUMNS, VIEW_COLUMNS, VIEWS, parquet_dir

from .conftest import PII_KEY, Served, private_paths

DOC = Path(__file__).resolve().parents[2] / "docs" / "bi.md"


def _q(path: Path, sql: str, params=()):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def _columns(path: Path, relation: str) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [d[0] for d in con.execute(f"select * from {relation} limit 0").description]


def test_views_exist_with_documented_columns(served: Served):
    serving = served.paths.serving
    views = {r[0] for r in _q(serving, "select view_name from duckdb_views() where schema_name = 'main'")}
    assert set(VIEWS) <= views
    doc = DOC.read_text()
    for view, documented in VIEW_COLUMNS.items():
        columns = _columns(serving, view)
        assert set(documented) <= set(columns), (view, set(documented) - set(columns))
        assert f"`{view}`" in doc
        missing_in_doc = [c for c in documented if f"`{c}`" not in doc]
        assert missing_in_doc == [], (view, missing_in_doc)
    assert served.publish["views"] == VIEWS


def test_user_segments_has_one_row_per_person_and_segments(served: Served):
    persons = _q(served.paths.warehouse, "select count(*) from main.dim_user_profile")[0][0]
    rows, distinct, scored, with_rules = _q(served.paths.serving, """
        select count(*), count(distinct person_id), count(segment_id), count(*) filter (len(rule_segment_ids) > 0)
        from user_segments""")[0]
    assert rows == distinct == persons == scored
    assert 0 < with_rules < rows
    sizes, shares, n_segments = _q(served.paths.serving,
                                   "select sum(size), sum(share), count(*) from segment_summary")[0]
    assert sizes == rows
    assert shares == pytest.approx(1.0)
    k = _q(served.paths.serving, "select k from model_registry where is_champion")[0][0]
    assert n_segments == k
    # the summary describes the run that user_segments shows
    runs = _q(served.paths.serving, "select count(distinct run_id), any_value(run_id) from segment_summary")[0]
    assert runs == (1, served.score["run_id"])
    history = _q(served.paths.serving, "select count(distinct run_id), count(*) from segment_history")[0]
    assert history == (2, 2 * persons)


def test_no_raw_pii_reaches_the_serving_file_or_parquet(served: Served):
    columns = _columns(served.paths.serving, "user_segments")
    assert not set(PII_COLUMNS) & set(columns)
    for relation in ("main.user_profile_public", "dim_user_profile"):
        assert not set(PII_COLUMNS) & set(_columns(served.paths.serving, relation))
    people = _q(served.paths.warehouse, """
        select person_id, email, phone from main.dim_user_profile
        where email like '%@%' and phone is not null and email not in ('test@test.com')
        order by person_id limit 40""")
    assert len(people) == 40
    needles = [v.lower().encode() for _, email, phone in people for v in (email, phone)]
    files = [served.paths.serving, *sorted(parquet_dir(served.paths).glob("*.parquet"))]
    assert len(files) == 1 + len(VIEWS)
    for path in files:
        data = path.read_bytes().lower()
        hits = [n for n in needles if n in data]
        assert hits == [], f"{path.name} holds raw PII: {hits[:3]}"
    # the pseudonyms are the keyed HMAC of the normalised value
    for person_id, email, phone in people[:5]:
        got = _q(served.paths.serving, "select email_hmac, phone_hmac from user_segments where person_id = ?",
                 [person_id])[0]
        assert got == (pseudonymize(email, PII_KEY.encode()), pseudonymize(phone, PII_KEY.encode()))
    # nothing but the serving file and the Parquet folder is left in the serving folder
    leftovers = [p.name for p in served.paths.serving.parent.iterdir()
                 if p.name != served.paths.serving.name and not p.name.startswith(".parquet-") and p.name != "parquet"]
    assert leftovers == []


def test_parquet_exports_match_the_views(served: Served):
    folder = parquet_dir(served.paths)
    assert folder.is_symlink()
    assert re.fullmatch(r"\.parquet-\d+-[0-9a-f]{8}", str(folder.readlink()))
    assert len(list(folder.parent.glob(".parquet-*"))) == 1  # older exports are removed
    with duckdb.connect() as con:
        for view in VIEWS:
            rows = con.execute(f"select count(*) from read_parquet('{folder / view}.parquet')").fetchone()[0]
            assert rows == _q(served.paths.serving, f"select count(*) from {view}")[0][0], view
            assert rows == served.publish["parquet_rows"][view]


def test_publish_without_the_key_publishes_nothing(served: Served, monkeypatch, tmp_path):
    from segwarehouse.pipeline import publish_serving

    paths = private_paths(served.paths, tmp_path)
    monkeypatch.delenv("SEGWAREHOUSE_PII_KEY")
    with pytest.raises(PiiKeyError, match="SEGWAREHOUSE_PII_KEY"):
        publish_serving(paths)
    assert not paths.serving.exists()


def test_views_exist_before_any_scoring_run(served: Served, tmp_path):
    """A first warehouse run (no ML tables yet) still publishes every view, with empty segment data."""
    from segwarehouse.pipeline import publish_serving

    paths = private_paths(served.paths, tmp_path)
    with duckdb.connect(str(paths.warehouse)) as con:
        con.execute("drop schema segments cascade")
    shutil.rmtree(paths.data / "raw", ignore_errors=True)
    result = publish_serving(paths)
    persons = _q(paths.warehouse, "select count(*) from main.dim_user_profile")[0][0]
    assert result["parquet_rows"]["user_segments"] == persons
    assert _q(paths.serving, "select count(*), count(segment_id) from user_segments")[0] == (persons, 0)
    for view in ("segment_summary", "segment_history", "model_registry"):
        assert _q(paths.serving, f"select count(*) from {view}")[0][0] == 0


def test_model_registry_and_events_show_who_changed_the_champion_and_why(served: Served):
    serving = served.paths.serving
    champion = _q(serving, """select model_version, status, last_event, last_event_by, last_event_reason,
                                     length(config_sha256), noise_share
                              from model_registry where is_champion""")
    assert len(champion) == 1
    version, status, event, actor, reason, hash_length, noise = champion[0]
    assert (status, event, hash_length, noise) == ("champion", "promoted", 64, 0.0)
    assert actor
    assert reason.startswith("passed all gates")
    k = _q(serving, "select k from model_registry where is_champion")[0][0]
    events = _q(serving, "select event, count(*), count(distinct segment_id) from model_events "
                         "where model_version = ? group by event order by event", [version])
    assert events == [("promoted", 1, 0), ("segment_named", k, k)]
    keys = _q(serving, "select count(distinct segment_key), count(*), max(unassigned_persons) from segment_summary")
    assert keys == [(k, k, 0)]
    assert _q(serving, "select count(*) from user_segments where segment_key is null") == [(0,)]
