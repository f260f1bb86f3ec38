"""Swapping in a model of your own and recovering from a bad one, as an ML engineer meets it.

A class outside the package (`mysegs.custom.TaggedKMeans`, written to a temp folder) is promoted only when
its artifact loads and scores a sample in a fresh process with the deployment's environment; a champion
that then fails to load where scoring runs is marked failed, `segwarehouse models rollback` puts the
previous good champion back, and every step is an audited row.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ml.config_loader import load_config
from ml.score import score
from ml.train import train
from segwarehouse.cli import main as cli

from .config_files import write_config
from .profiles import make_profiles, write_profiles

CUSTOM = '''
from sklearn.cluster import KMeans


class TaggedKMeans(KMeans):
    """A user's own estimator: K-means that carries a tag."""

    def __init__(self, n_clusters=8, *, tag="custom", n_init=10, random_state=None):
        super().__init__(n_clusters=n_clusters, n_init=n_init, random_state=random_state)
        self.tag = tag
'''
SEGWAREHOUSE = str(Path(sys.executable).with_name("segwarehouse"))


@pytest.fixture
def deployment(tmp_path, monkeypatch):
    """A warehouse with profiles, a package `mysegs` in its own folder, and two configs."""
    db = tmp_path / "wh.duckdb"
    monkeypatch.setenv("SEGWAREHOUSE_DUCKDB", str(db))
    monkeypatch.setenv("SEGWAREHOUSE_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("SEGWAREHOUSE_ACTOR", "ml-engineer")
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.delenv("SEGWAREHOUSE_ML_CONFIG", raising=False)
    write_profiles(str(db), make_profiles(1500, seed=8)[0])
    package = tmp_path / "userlib" / "mysegs"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "custom.py").write_text(CUSTOM)
    prefixes = {"allowed_module_prefixes": ["sklearn", "ml", "mysegs"]}
    base = write_config(tmp_path / "kmeans.yml", prefixes)
    custom = write_config(tmp_path / "custom.yml", {**prefixes, "model": {
        "name": "mysegs.custom.TaggedKMeans", "params": {"tag": "q3-campaign"}}})
    return db, package.parent, base, custom


def _q(db: Path, sql: str, params=()):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def _score_in_fresh_process(config: Path, run_id: str, pythonpath: Path | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([SEGWAREHOUSE, "score", "--config", str(config), "--run-id", run_id], env=env,
                          cwd=str(config.parent), capture_output=True, text=True, timeout=300, check=False)


def test_custom_class_is_promoted_only_where_it_loads_and_a_bad_champion_is_rolled_back(deployment, monkeypatch,
                                                                                        capsys):
    db, userlib, base, custom = deployment
    assert train(db, load_config(base), "r1").status == "champion"

    # importable in this process only (the training shell's folder), not in the deployment's environment
    monkeypatch.syspath_prepend(str(userlib))
    rejected = train(db, load_config(custom), "r2")
    assert (rejected.status, rejected.promoted, rejected.champion_version) == ("failed", False, "m_r1")
    assert "fresh process" in rejected.reasons[0]
    assert "No module named 'mysegs'" in rejected.reasons[0]

    # on the deployment's PYTHONPATH: trained, checked in a fresh process, promoted; skops trusts mysegs.
    monkeypatch.setenv("PYTHONPATH", str(userlib))
    promoted = train(db, load_config(custom), "r3")
    assert (promoted.status, promoted.champion_version) == ("champion", "m_r3")
    fmt, trusted, check = _q(db, "select artifact_format, trusted_prefixes, load_check from segments.model_registry "
                                 "where model_version = 'm_r3'")[0]
    assert fmt == "skops"
    assert "mysegs." in json.loads(trusted)
    assert json.loads(check)["ok"] is True
    assert json.loads(check)["rows"] == 200

    scored = _score_in_fresh_process(custom, "s1", userlib)
    assert scored.returncode == 0, scored.stderr[-2000:]
    assert json.loads(scored.stdout)["model_version"] == "m_r3"

    # a worker without the package: scoring fails loudly, the champion is marked failed
    broken = _score_in_fresh_process(custom, "s2", None)
    assert broken.returncode == 1
    assert "No module named 'mysegs'" in broken.stderr
    assert "segwarehouse models rollback" in broken.stderr
    assert "Traceback" not in broken.stderr
    assert _q(db, "select status from segments.model_registry where model_version = 'm_r3'") == [("failed",)]

    monkeypatch.setenv("SEGWAREHOUSE_ACTOR", "on-call")
    assert cli.main(["models", "rollback", "--config", str(base), "--reason", "mysegs missing on workers"]) == 0
    change = json.loads(capsys.readouterr().out)
    assert (change["model_version"], change["from_model_version"]) == ("m_r1", "m_r3")
    assert change["load_check"]["ok"] is True
    assert _q(db, "select model_version, previous_model_version from segments.model_aliases") == [("m_r1", None)]
    assert score(db, load_config(base), "s3").model_version == "m_r1"

    assert cli.main(["models", "rollback", "--config", str(base), "--reason", "again"]) == 1
    assert "no earlier champion to roll back to from m_r1" in capsys.readouterr().err

    assert cli.main(["models", "list", "--config", str(base)]) == 0
    listing = capsys.readouterr().out
    line = next(row for row in listing.splitlines() if " m_r1 " in row)
    assert line.lstrip().startswith("*")
    assert "champion" in line
    statuses = dict(_q(db, "select model_version, status from segments.model_registry"))
    assert statuses == {"m_r1": "champion", "m_r2": "failed", "m_r3": "failed"}

    # the package is installed on the workers now: a manual promotion re-checks it and puts it back
    assert cli.main(["models", "promote", "m_r3", "--config", str(base), "--reason", "mysegs installed"]) == 0
    capsys.readouterr()
    assert _q(db, "select model_version, previous_model_version from segments.model_aliases") == [("m_r3", "m_r1")]

    events = _q(db, "select event, model_version, from_model_version, actor, reason from segments.model_events "
                    "where event not like 'segment_%' order by event_at")
    assert [e[:3] for e in events] == [
        ("promoted", "m_r1", None),
        ("failed", "m_r2", "m_r1"),
        ("promoted", "m_r3", "m_r1"), ("retired", "m_r1", None),
        ("failed", "m_r3", None),
        ("rolled_back", "m_r1", "m_r3"),
        ("promoted", "m_r3", "m_r1"), ("retired", "m_r1", None),
    ]
    actors = {e[0] + ":" + e[1]: e[3] for e in events}
    assert actors["rolled_back:m_r1"] == "on-call"
    assert actors["promoted:m_r1"] == "ml-engineer"
    reasons = [e[4] for e in events]
    assert reasons[5] == "mysegs missing on workers"
    assert reasons[6].startswith("mysegs installed (was failed: champion m_r3 cannot be loaded")

    assert cli.main(["models", "show", "m_r3", "--config", str(base)]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["is_champion"] is True
    assert card["params"]["segmenter"]["tag"] == "q3-campaign"
    assert [e["event"] for e in card["events"]][:2] == ["promoted", "failed"]


def test_a_model_skops_cannot_write_is_saved_with_joblib_logged_and_recorded(tmp_path, fast_cfg, caplog):
    db = tmp_path / "wh.duckdb"
    write_profiles(str(db), make_profiles(1000, seed=3)[0])
    with caplog.at_level("WARNING", logger="ml.registry"):
        result = train(db, fast_cfg.with_model("sklearn.cluster.Birch"), "b1", models_dir=tmp_path / "models",
                       promote=False)
    assert result.artifact_path.suffix == ".joblib"
    assert _q(db, "select artifact_format, artifact_note from segments.model_registry") == [
        ("joblib", "skops cannot serialize this model (UnsupportedTypeException: Objects of type Birch are not "
                   "supported yet.); saved with joblib instead")]
    assert [r.getMessage() for r in caplog.records] == [f"m_b1: {_q(db, 'select artifact_note from segments.model_registry')[0][0]}"]
