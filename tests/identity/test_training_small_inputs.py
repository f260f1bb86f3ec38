"""Training on a small CRM (1.8k contacts, 4 cities per country) where an EM session breaks down: Splink drives
an m probability to 0 and refuses it. The build still trains a complete model (every comparison, a sane prior)
from the session's next blocking rule, and records what it dropped."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from devtools.generator import GeneratorConfig, generate
from segwarehouse.core.paths import Paths
from segwarehouse.warehouse.identity.settings import EM_BLOCKING

pytestmark = pytest.mark.slow

SMALL = GeneratorConfig(users=2000, days=14, seed=1, events_per_user=5)  # the benchmark harness's smallest shape


def test_a_broken_em_session_falls_back_to_the_next_rule_and_the_model_stays_complete(tmp_path):
    from segwarehouse.warehouse.build import build

    paths = Paths(home=Path(__file__).resolve().parents[2], data=tmp_path / "data")
    generate(SMALL, paths.raw, paths.truth)
    out = build(SMALL.start_date + timedelta(days=SMALL.days - 2), paths)
    assert out["matching"]["mode"] == "full"
    folder = paths.models / "identity" / out["matching"]["trained"]
    model = json.loads((folder / "splink_model.json").read_text())
    assert [c["output_column_name"] for c in model["comparisons"]] == [
        "first_name", "last_name", "birth_date", "location", "gender", "email", "phone"]
    assert 1e-7 < model["probability_two_random_records_match"] < 1e-2
    sessions = json.loads((folder / "training.json").read_text())["em_sessions"]
    estimated = [s for s in sessions if s["status"] == "estimated"]
    assert len(estimated) == len(EM_BLOCKING)
    print("EM sessions:", [(s["blocking_rule"], s["status"][:40]) for s in sessions])
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from identity.probabilistic_links").fetchone()[0] > 0
        # every comparison is in the explanations, so the links were scored with the whole model
        assert con.execute("select count(distinct comparison) from identity.probabilistic_link_explanations"
                           ).fetchone()[0] == 9


def test_a_crm_too_small_for_em_builds_with_deterministic_links_only(tmp_path):
    """A pilot CRM of a few hundred contacts gives EM too little evidence: the build must not fail for the optional
    probabilistic step. It says why matching was skipped, links nothing probabilistically and builds the profiles."""
    from segwarehouse.warehouse.build import build

    tiny = GeneratorConfig(users=300, days=14, seed=42, events_per_user=5)  # seed 1 happens to give EM enough
    paths = Paths(home=Path(__file__).resolve().parents[2], data=tmp_path / "data")
    generate(tiny, paths.raw, paths.truth)
    out = build(tiny.start_date + timedelta(days=tiny.days - 2), paths)
    assert out["matching"]["mode"] == "skipped"
    assert "broke down" in out["matching"]["reason"]
    assert not (paths.models / "identity").exists() or not any((paths.models / "identity").iterdir())
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from identity.probabilistic_links").fetchone()[0] == 0
        assert con.execute("select count(*) from main.dim_user_profile").fetchone()[0] > 200
