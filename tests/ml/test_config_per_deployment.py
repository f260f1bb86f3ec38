"""One ML config per deployment: `--config PATH` on train and score, `SEGWAREHOUSE_ML_CONFIG` (what the DAG
tasks read through `segwarehouse.pipeline`), and the whole config validated before any data is read, with
errors naming the file and the key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ml.config import ConfigError
from ml.config_loader import load_config
from segwarehouse import pipeline
from segwarehouse.cli import main as cli

from .config_files import write_config
from .profiles import make_profiles, write_profiles

# the model class is built by `train` only: `score` uses the champion, whatever the config names now
MODEL = [
    ({"model": {"name": "sklearn.cluster.KMeanz"}}, "model.name", "KMeanz"),
    ({"model": {"name": "ml.config.ModelSpec"}}, "model.name", r"has no fit\(\)"),
    ({"model": {"name": "mysegs.custom.TaggedKMeans"}}, "model.name", "outside the allowed packages"),
    ({"model": {"params": {"n_clusterz": 5}}}, "model.params", "n_clusterz"),
    ({"model": {"params": {"n_init": "ten"}}}, "model.params", "n_init"),
]
BAD = [
    *MODEL,
    ({"model": {"parms": {"n_init": 3}}}, "model.parms", "did you mean 'params'"),
    ({"selection": {"k_mx": 6}}, "selection.k_mx", "did you mean 'k_max'"),
    ({"selection": {"k_min": "3"}}, "selection.k_min", "must be an integer"),
    ({"gates": {"min_ari": 7}}, "gates.min_ari", r"share in \[0, 1\]"),
    ({"artifact_format": "pickle"}, "artifact_format", "skops or joblib"),
    ({"rules": [{"id": "r", "name": "R", "all": [{"column": "age", "op": "~", "value": 1}]}]}, "rules", "bad condition"),
]


@pytest.fixture
def nowhere(tmp_path, monkeypatch) -> Path:
    """A warehouse path that does not exist: a command that reads data would create or open it."""
    warehouse = tmp_path / "absent" / "warehouse.duckdb"
    monkeypatch.setenv("SEGWAREHOUSE_DUCKDB", str(warehouse))
    monkeypatch.setenv("SEGWAREHOUSE_MODELS", str(tmp_path / "absent" / "models"))
    monkeypatch.delenv("SEGWAREHOUSE_ML_CONFIG", raising=False)
    return warehouse


@pytest.mark.parametrize(("change", "key", "message"), BAD, ids=[k for _, k, _ in BAD])
def test_a_bad_config_fails_before_any_data_is_read_naming_file_and_key(nowhere, tmp_path, change, key, message):
    config = write_config(tmp_path / "deploy.yml", change)
    with pytest.raises(ConfigError, match=message) as err:
        load_config(config)
    assert err.value.key == key
    for command in ("train", "score") if (change, key, message) not in MODEL else ("train",):
        with pytest.raises(SystemExit) as exit_:
            cli.main([command, "--config", str(config)])
        text = str(exit_.value.code)
        assert text.startswith(f"segwarehouse {command}: {config}: {key}:"), text
    assert not nowhere.parent.exists(), "the warehouse was opened"


def test_scoring_does_not_need_the_configured_model_class(tmp_path):
    config = write_config(tmp_path / "deploy.yml", {"model": {"name": "sklearn.cluster.KMeanz"}})
    assert load_config(config, for_scoring=True).model.name == "sklearn.cluster.KMeanz"


def test_the_environment_variable_names_the_config_and_its_errors(nowhere, tmp_path, monkeypatch):
    config = write_config(tmp_path / "env.yml", {"scoring": {"chunk_row": 10}})
    monkeypatch.setenv("SEGWAREHOUSE_ML_CONFIG", str(config))
    with pytest.raises(SystemExit, match=rf"{config}: scoring.chunk_row: .*did you mean 'chunk_rows'"):
        cli.main(["score"])
    monkeypatch.setenv("SEGWAREHOUSE_ML_CONFIG", str(tmp_path / "missing.yml"))
    with pytest.raises(SystemExit, match=r"missing\.yml does not exist"):
        cli.main(["train"])
    assert not nowhere.parent.exists()


def test_the_command_line_reports_a_config_error_without_a_traceback(nowhere, tmp_path):
    config = write_config(tmp_path / "typo.yml", {"model": {"name": "sklearn.cluster.KMeanz"}})
    done = subprocess.run([str(Path(sys.executable).with_name("segwarehouse")), "train", "--config", str(config)],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ), check=False)
    assert done.returncode == 1
    assert "model.name" in done.stderr
    assert "KMeanz" in done.stderr
    assert "Traceback" not in done.stderr
    assert not nowhere.parent.exists()


def _count(db: Path, sql: str) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


def test_train_and_score_read_the_flag_or_the_environment(tmp_path, monkeypatch, capsys):
    """Two deployments on one warehouse, told apart by their output schema: the flag wins over the variable,
    and the pipeline functions the DAG tasks call read the variable."""
    db = tmp_path / "wh.duckdb"
    monkeypatch.setenv("SEGWAREHOUSE_DUCKDB", str(db))
    monkeypatch.setenv("SEGWAREHOUSE_MODELS", str(tmp_path / "models"))
    write_profiles(str(db), make_profiles(1500, seed=8)[0])
    quick = {"gates": {"load_check": False}}  # the fresh-process check has its own tests
    a = write_config(tmp_path / "a.yml", {"input": {"output_schema": "deploy_a"}, **quick})
    b = write_config(tmp_path / "b.yml", {"input": {"output_schema": "deploy_b"}, **quick})

    assert cli.main(["train", "--config", str(a), "--run-id", "t1"]) == 0
    assert '"status": "champion"' in capsys.readouterr().out
    monkeypatch.setenv("SEGWAREHOUSE_ML_CONFIG", str(a))
    assert cli.main(["score", "--run-id", "s1"]) == 0
    assert _count(db, "select count(*) from deploy_a.segment_assignments") == 1500

    monkeypatch.setenv("SEGWAREHOUSE_ML_CONFIG", str(b))
    trained = pipeline.retrain_segments("t2")  # what segments_retrain's task runs
    assert (trained["model_version"], trained["status"]) == ("m_t2", "champion")
    assert cli.main(["score", "--config", str(a), "--run-id", "s2"]) == 0  # the flag wins
    assert _count(db, "select count(*) from deploy_a.segment_history where run_id = 's2'") == 1500
    assert _count(db, "select count(*) from deploy_b.segment_assignments") == 0
    assert pipeline.score_segments("s3")["model_version"] == "m_t2"  # the variable: deployment b
    assert _count(db, "select count(*) from deploy_b.segment_assignments") == 1500
    assert _count(db, "select count(*) from deploy_a.model_registry") == 1
