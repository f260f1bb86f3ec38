"""Stable segment names: a segment keeps its name while the traits the name stands for hold on its own
figures; otherwise it is renamed (a neutral name when no trait is strong) and the rename is an event with
old name, new name and why. `segment_key` never changes."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from ml.config import PersonaConfig
from ml.naming import CatalogEntry, check_rule, decide_names
from ml.score import score
from ml.train import train

from .profiles import make_profiles, write_profiles

TERMS = {"search_share": {"high": "Searching", "low": "Non-searching"},
         "frequency": {"high": "Frequent", "low": "Rare"},
         "avg_order_value": {"high": "Big-basket", "low": "Bargain"}}
PERSONAS = PersonaConfig(z_threshold=0.5, max_terms=2, keep_name_z=0.3, terms=TERMS)
SEARCHING = CatalogEntry(1, "searching_frequent_buyers", "Searching frequent buyers",
                         {"traits": [["search_share", "high"], ["frequency", "high"]], "buyers": True})


def _decide(catalog, segments: dict[int, tuple[float, dict[str, float]]]):
    profiles = pd.DataFrame([{"segment_id": s, "buyer_share": b} for s, (b, _) in segments.items()])
    features = pd.DataFrame([{"segment_id": s, "feature": f, "z_score": z}
                             for s, (_, zs) in segments.items() for f, z in zs.items()])
    return {d.segment_id: d for d in decide_names(catalog, profiles, features, PERSONAS)}


def test_a_name_is_kept_while_its_traits_hold_even_if_others_became_stronger():
    d = _decide({1: SEARCHING}, {1: (0.8, {"search_share": 0.35, "frequency": 0.9, "avg_order_value": 2.0})})[1]
    assert (d.name, d.status, d.segment_key) == ("Searching frequent buyers", "kept", "searching_frequent_buyers")
    assert d.why == "traits hold: search_share +0.35z, frequency +0.90z"


@pytest.mark.parametrize(("figures", "name", "why"), [
    ((0.8, {"search_share": 0.1, "frequency": 0.9, "avg_order_value": 2.0}), "Big-basket frequent buyers",
     "search_share no longer high (z +0.10 < +0.3)"),
    ((0.3, {"search_share": 0.95, "frequency": 0.9, "avg_order_value": 0.0}), "Searching frequent visitors",
     "buyer share 30% is now below 50%"),
    ((0.8, {"search_share": 0.0, "frequency": 0.2, "avg_order_value": -0.1}), "Typical buyers",
     "search_share no longer high (z +0.00 < +0.3)"),
    ((0.8, {"frequency": 0.9}), "Frequent buyers", "search_share is no longer a model feature"),
], ids=["trait-gone", "noun-flipped", "neutral", "feature-dropped"])
def test_a_name_whose_rule_fails_is_replaced_by_what_the_figures_say(figures, name, why):
    d = _decide({1: SEARCHING}, {1: figures})[1]
    assert (d.status, d.old_name, d.name, d.why) == ("renamed", "Searching frequent buyers", name, why)
    assert d.segment_key == "searching_frequent_buyers"


def test_new_segments_get_unique_names_and_keys():
    out = _decide({1: SEARCHING}, {1: (0.8, {"search_share": 0.95, "frequency": 0.9}),
                                   2: (0.8, {"search_share": 0.95, "frequency": 0.9}),
                                   3: (0.7, {"avg_order_value": -1.0})})
    assert out[1].status == "kept"
    assert (out[2].status, out[2].name, out[2].segment_key) == \
        ("new", "Searching frequent buyers (2)", "searching_frequent_buyers_2")
    assert (out[3].name, out[3].segment_key) == ("Bargain buyers", "bargain_buyers")
    assert check_rule(out[3].rule, {"avg_order_value": -0.31}, 0.7, 0.3)[0]


def _catalog(db):
    with duckdb.connect(str(db), read_only=True) as con:
        return {r[0]: r[1:] for r in con.execute(
            "select segment_id, segment_key, segment_name, name_rule from segments.segment_catalog").fetchall()}


def test_renames_are_recorded_at_promotion_and_at_scoring_and_keys_never_change(tmp_path, fast_cfg):
    import json

    db = tmp_path / "wh.duckdb"
    frame, _ = make_profiles(1500, seed=5)
    write_profiles(str(db), frame)
    relaxed = fast_cfg.replace(gates={"silhouette_tolerance": 1.0, "ari_tolerance": 1.0})
    assert train(db, relaxed, "r1", models_dir=tmp_path / "models").status == "champion"
    first = _catalog(db)
    assert sorted(first) == [1, 2, 3, 4, 5]
    # a retrain on the same data keeps every name
    assert train(db, relaxed, "r2", models_dir=tmp_path / "models").status == "champion"
    assert _catalog(db) == first

    # the engineer drops a feature some names stand for: those segments are renamed on promotion, the rest
    # keep their names, every key stays
    dropped = "search_share"
    named_by_it = {s for s, (_, _, rule) in first.items() if dropped in {f for f, _ in json.loads(rule)["traits"]}}
    assert named_by_it
    fewer = relaxed.replace(features={"numeric": [c for c in relaxed.features.numeric if c != dropped]})
    assert train(db, fewer, "r3", models_dir=tmp_path / "models").status == "champion"
    after = _catalog(db)
    assert {s: v[0] for s, v in after.items()} == {s: v[0] for s, v in first.items()}  # keys
    with duckdb.connect(str(db), read_only=True) as con:
        renames = con.execute("select segment_id, old_name, new_name, reason, model_version, actor "
                              "from segments.model_events where event = 'segment_renamed' order by segment_id").fetchall()
    assert {r[0] for r in renames} == named_by_it
    for seg, old, new, reason, version, actor in renames:
        assert (old, new, version) == (first[seg][1], after[seg][1], "m_r3")
        assert reason == f"promoted m_r3: {dropped} is no longer a model feature"
        assert actor
    assert all(after[s][1] == first[s][1] for s in first if s not in named_by_it)

    # at scoring, a name is checked against the run's own figures: a trait every person now shares
    frame2 = frame.copy()
    target = min(named for named in after if json.loads(after[named][2])["traits"])
    trait, side = json.loads(after[target][2])["traits"][0]
    frame2[trait] = frame2[trait].median()
    write_profiles(str(db), frame2)
    result = score(db, fewer, "s1")
    renamed = {r["segment_id"]: r for r in result.renamed}
    assert target in renamed
    assert renamed[target]["why"] == f"{trait} no longer {side} (z +0.00 {'<' if side == 'high' else '>'} " \
                                     f"{'+' if side == 'high' else '-'}0.3)"
    final = _catalog(db)
    with duckdb.connect(str(db), read_only=True) as con:
        names = dict(con.execute("select segment_id, any_value(segment_name) from segments.segment_assignments "
                                 "where segment_id is not null group by all").fetchall())
        keys = dict(con.execute("select segment_id, any_value(segment_key) from segments.segment_history "
                                "where segment_id is not null group by all").fetchall())
        event = con.execute("select run_id, old_name, new_name from segments.model_events "
                            "where event = 'segment_renamed' and segment_id = ? and run_id = 's1'", [target]).fetchone()
        profile = con.execute("select segment_name, segment_key from segments.segment_profiles "
                              "where segment_id = ?", [target]).fetchone()
    assert names[target] == final[target][1] == renamed[target]["new_name"] != after[target][1]
    assert event == ("s1", after[target][1], final[target][1])
    assert profile == (final[target][1], first[target][0])
    assert keys == {s: v[0] for s, v in first.items() if s in keys}

    # rolling back to the model with the dropped feature brings its names back (recorded) and it scores on
    # its own features, whatever the config lists now
    from ml.lifecycle import rollback

    write_profiles(str(db), frame)
    with duckdb.connect(str(db)) as con:
        assert rollback(con, "segments", reason="search_share is back", load_check=False).model_version == "m_r2"
        back = con.execute("select segment_id, new_name from segments.model_events where event = 'segment_renamed' "
                           "and reason like 'rolled_back m_r2%'").fetchall()
    assert dict(back) == {s: first[s][1] for s in dict(back)}
    assert named_by_it <= set(dict(back))
    rescored = score(db, fewer, "s2")
    assert (rescored.model_version, rescored.renamed) == ("m_r2", [])
    assert {s: v[1] for s, v in _catalog(db).items()} == {s: v[1] for s, v in first.items()}


def test_a_word_must_be_true_in_days_not_only_relative_to_the_population():
    """A data set where everyone is old: the least old segment (first seen 219-502 days ago) is not "New"."""
    cfg = PersonaConfig(z_threshold=0.5, max_terms=2, keep_name_z=0.3,
                        terms={**TERMS, "days_since_first_activity": {"high": "Long-standing", "low": "New"}},
                        bounds={"days_since_first_activity": {"low_max": 90}})
    profiles = pd.DataFrame([{"segment_id": 1, "buyer_share": 1.0}, {"segment_id": 2, "buyer_share": 1.0}])
    features = pd.DataFrame([
        {"segment_id": 1, "feature": "days_since_first_activity", "z_score": -1.2, "segment_mean": 330.0},
        {"segment_id": 1, "feature": "frequency", "z_score": 0.6, "segment_mean": 3.0},
        {"segment_id": 2, "feature": "days_since_first_activity", "z_score": -1.2, "segment_mean": 20.0},
        {"segment_id": 2, "feature": "frequency", "z_score": 0.1, "segment_mean": 1.0}])
    out = {d.segment_id: d for d in decide_names({}, profiles, features, cfg)}
    assert out[1].name == "Frequent buyers"  # "New" is skipped: 330 days on average
    assert out[2].name == "New buyers"
    new = CatalogEntry(1, "new_buyers", "New buyers", {"traits": [["days_since_first_activity", "low"]],
                                                       "buyers": True})
    kept = {d.segment_id: d for d in decide_names({1: new}, profiles, features, cfg)}[1]
    assert (kept.status, kept.name) == ("renamed", "Frequent buyers")
    assert "days_since_first_activity low is not true of the segment: days_since_first_activity mean 330.0 > 90" \
        in kept.why
