"""Assignment on hand-made warehouse tables (real DuckDB): deterministic buckets, stability, consent, strata,
the merge rule and the date window."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest
from scipy.stats import chisquare

from segwarehouse.experiments.assignment import arm_for, assign, bucket
from segwarehouse.experiments.config import Experiment

DAY1, DAY2 = date(2026, 3, 2), date(2026, 3, 3)


def experiment(**overrides) -> Experiment:
    spec = {"name": "exp", "start_date": "2026-03-01", "end_date": "2026-03-31",
            "targets": {"model_segments": "all"}, "holdout_share": 0.1,
            "variants": [{"name": "control", "share": 0.5, "control": True},
                         {"name": "treatment", "share": 0.5, "marketing": True}],
            "primary_metric": {"name": "purchase_7d", "kind": "purchase", "window_days": 7}}
    return Experiment.model_validate({**spec, **overrides})


@pytest.fixture
def con(tmp_path):
    """Persons p0000..p1999: segment 1 + 2 alternating, every third without consent, rule r_a/r_b on some."""
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    con.execute("create schema segments")
    con.execute("create schema validated")  # the gate-passed profiles experiments read
    con.execute("""create table validated.dim_user_profile as
        select 'p' || lpad(i::varchar, 4, '0') as person_id, date '2026-03-02' as as_of_date,
               i % 3 <> 0 as has_marketing_consent from range(2000) t(i)""")
    con.execute("""create table segments.segment_assignments as
        select person_id, (right(person_id, 1)::int % 2) + 1 as segment_id,
               'Segment ' || ((right(person_id, 1)::int % 2) + 1) as segment_name from validated.dim_user_profile""")
    con.execute("""create table segments.rule_segment_assignments as
        select person_id, 'r_a' as segment_id, 'Rule A' as segment_name from validated.dim_user_profile
        where right(person_id, 2)::int < 30
        union all
        select person_id, 'r_b', 'Rule B' from validated.dim_user_profile where right(person_id, 2)::int < 10""")
    con.execute("create table main.person_id_history (old_person_id varchar, new_person_id varchar, change_type varchar)")
    yield con
    con.close()


def rows(con, exp="exp"):
    return {r[0]: r[1:] for r in con.execute(
        "select person_id, variant, bucket, segment_type, segment_id, assigned_date, inherited_from, superseded_by "
        "from experiments.assignments where experiment = ?", [exp]).fetchall()}


def test_buckets_in_sql_match_the_python_function_and_arms_follow_the_shares(con):
    exp = experiment()
    assert assign(con, exp, segments_schema="segments", run_id="r1", today=DAY1)["assigned"] == 1333
    got = rows(con)
    for person_id, (variant, u, *_rest) in got.items():
        assert u == pytest.approx(bucket("exp", person_id), abs=1e-15)
        assert variant == arm_for(exp, u)
    counts = [sum(v[0] == arm for v in got.values()) for arm, _ in exp.arms()]
    assert chisquare(counts, [s * len(got) for _, s in exp.arms()]).pvalue > 0.001
    assert experiment(salt="other").assignment_salt == "other"
    assert bucket("other", "p0001") != bucket("exp", "p0001")


def test_assignments_are_stable_across_runs_and_later_config_changes(con):
    assign(con, experiment(), segments_schema="segments", run_id="r1", today=DAY1)
    first = rows(con)
    changed = experiment(holdout_share=0.0, variants=[{"name": "control", "share": 0.2, "control": True},
                                                      {"name": "treatment", "share": 0.8, "marketing": True}])
    con.execute("insert into validated.dim_user_profile values ('p9999', date '2026-03-03', true)")
    con.execute("insert into segments.segment_assignments values ('p9999', 1, 'Segment 1')")
    result = assign(con, changed, segments_schema="segments", run_id="r2", today=DAY2)
    again = rows(con)
    assert result["assigned"] == 1
    assert {k: v for k, v in again.items() if k != "p9999"} == first  # nobody moved
    assert again["p9999"][4] == DAY2
    assert again["p9999"][0] == arm_for(changed, bucket("exp", "p9999"))
    assert assign(con, changed, segments_schema="segments", run_id="r2", today=DAY2)["assigned"] == 0


def test_only_consenting_persons_enter_when_a_variant_is_a_marketing_action(con):
    assign(con, experiment(), segments_schema="segments", run_id="r1", today=DAY1)
    consenting = {r[0] for r in con.execute(
        "select person_id from validated.dim_user_profile where has_marketing_consent").fetchall()}
    assert set(rows(con)) == consenting
    content = experiment(name="content", variants=[{"name": "control", "share": 0.5, "control": True},
                                                  {"name": "new_banner", "share": 0.5}])
    assert not content.requires_consent
    assign(con, content, segments_schema="segments", run_id="r1", today=DAY1)
    assert len(rows(con, "content")) == 2000


def test_targets_decide_eligibility_and_the_stratum(con):
    exp = experiment(name="rules", targets={"model_segments": [2], "rule_segments": ["r_b", "r_a"]},
                     variants=[{"name": "control", "share": 0.5, "control": True}, {"name": "b", "share": 0.5}])
    assign(con, exp, segments_schema="segments", run_id="r1", today=DAY1)
    got = rows(con, "rules")
    for person_id, (_, _, seg_type, seg_id, *_rest) in got.items():
        n = int(person_id[1:])
        if n % 2 == 1:  # segment 2: the model segment wins
            assert (seg_type, seg_id) == ("model", "2")
        elif n % 100 < 10:  # in r_a and r_b: the first listed rule
            assert (seg_type, seg_id) == ("rule", "r_b")
        else:
            assert (seg_type, seg_id) == ("rule", "r_a")
            assert n % 100 < 30
    assert len(got) == 1000 + 2000 // 100 * 15  # all of segment 2, plus even persons in a rule


def test_merged_persons_keep_the_surviving_assignment(con):
    exp = experiment(holdout_share=0.0)
    assign(con, exp, segments_schema="segments", run_id="r1", today=DAY1)
    first = rows(con)
    by_arm = {arm: sorted(p for p, v in first.items() if v[0] == arm) for arm in ("control", "treatment")}
    survivor, merged = by_arm["treatment"][0], by_arm["control"][0]  # merged-away control -> treatment survivor
    c, d = by_arm["control"][1], by_arm["treatment"][1]  # both merge into a brand-new id
    con.execute("update experiments.assignments set assigned_date = date '2026-03-01' where person_id = ?", [d])
    con.execute("delete from validated.dim_user_profile where person_id in (?, ?, ?)", [merged, c, d])
    con.execute("insert into validated.dim_user_profile values ('pNEW', date '2026-03-03', true)")
    con.execute("insert into main.person_id_history values (?, ?, 'merge'), (?, 'pNEW', 'merge'), (?, 'pNEW', 'merge')",
                [merged, survivor, c, d])
    result = assign(con, exp, segments_schema="segments", run_id="r2", today=DAY2)
    assert result["merged"] == 3
    got = rows(con)
    assert got[survivor][0] == "treatment"
    assert got[survivor][5] is None
    assert got[merged][6] == survivor  # the merged-away id is superseded, its row kept
    assert got["pNEW"][0] == first[d][0]
    assert got["pNEW"][5] == d
    assert got[c][6] == got[d][6] == "pNEW"
    current = con.execute("select count(*) from experiments.assignments where superseded_by is null").fetchone()[0]
    assert current == len(first) - 3 + 1
    assert assign(con, exp, segments_schema="segments", run_id="r3", today=DAY2) == {"merged": 0, "assigned": 0}


def test_nobody_is_assigned_outside_the_experiment_dates(con):
    early = experiment(start_date="2026-03-05", end_date="2026-03-31")
    assert assign(con, early, segments_schema="segments", run_id="r1", today=DAY1)["assigned"] == 0
    over = experiment(name="over", start_date="2026-02-01", end_date="2026-02-28")
    assert assign(con, over, segments_schema="segments", run_id="r1", today=DAY1)["assigned"] == 0
    retro = experiment(name="retro", start_date="2026-02-01", end_date="2026-02-28", retrospective=True)
    assert assign(con, retro, segments_schema="segments", run_id="r1", today=DAY1)["assigned"] == 1333
    assert {v[4] for v in rows(con, "retro").values()} == {date(2026, 2, 1)}


@pytest.mark.parametrize(("change", "message"), [
    ({"variants": [{"name": "control", "share": 0.5, "control": True}, {"name": "b", "share": 0.4}]}, "add up to 1"),
    ({"variants": [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5}]}, "exactly one variant"),
    ({"end_date": "2026-02-01"}, "before start_date"),
    ({"name": "Drop Table"}, "pattern"),
    ({"targets": {}}, "targets need"),
    ({"colour": "red"}, "Extra inputs"),
])
def test_bad_experiment_definitions_are_rejected_with_the_reason(change, message):
    with pytest.raises(ValueError, match=message):
        experiment(**change)
