"""Config values that reach SQL text are validated before use, with a message naming the setting and the rule.

dbt vars: checked in Python before the pipeline calls dbt (`segwarehouse.warehouse.dbt_vars`) and again by the
`validate_vars` macro (on-run-start) when dbt is run by hand. ML config: relation, schema, column names and
model import paths (allow-list) are checked when the config is built.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ml.config import config_from_mapping
from ml.config_loader import load_config
from ml.models import ModelConfigError, build_segmenter, resolve_class
from segwarehouse.core.paths import Paths
from segwarehouse.warehouse.dbt import run_dbt
from segwarehouse.warehouse.dbt_vars import RULES, DbtVarError, validate_dbt_vars, validate_raw_path

HOME = Path(__file__).resolve().parents[2]
PROJECT_VARS = yaml.safe_load((HOME / "dbt_project" / "dbt_project.yml").read_text())["vars"]

BAD_VARS = [
    ("as_of_date", "2026-03-01' or 1=1 --", "a date YYYY-MM-DD"),
    ("as_of_date", "2026-02-30", "a date YYYY-MM-DD"),
    ("as_of_date", "2026-3-1", "a date YYYY-MM-DD"),
    ("as_of_date", 20260301, "a date YYYY-MM-DD"),
    ("lookback_days", "3 day; drop table fct_events; --", "an integer in 0..60"),
    ("lookback_days", -1, "an integer in 0..60"),
    ("lookback_days", 10_000, "an integer in 0..60"),
    ("lookback_days", 2.5, "an integer in 0..60"),
    ("lookback_days", True, "an integer in 0..60"),
    ("future_tolerance_days", "1", "an integer in 0..30"),
    ("session_gap_minutes", 0, "an integer in 1..1440"),
    ("max_component_size", None, "an integer in 2..1000000"),
    ("engagement_pages_per_week", 0, "a number > 0"),
    ("engagement_pages_per_week", "15", "a number > 0"),
    ("reporting_currency", "EUR'", "three capital letters"),
    ("raw_path", "/data/raw'; select 1; --", "without quotes"),
    ("raw_path", "/data/raw/*", "glob characters"),
    ("raw_path", "", "non-empty path"),
]


def test_project_defaults_and_pipeline_values_pass():
    from_env = {"raw_path", "reporting_currency"}  # Jinja env_var defaults (SEGWAREHOUSE_RAW, ..._CURRENCY)
    defaults = {k: v for k, v in PROJECT_VARS.items() if k not in from_env}
    assert set(defaults) | from_env == set(RULES), "every dbt var has a rule"
    assert validate_dbt_vars(defaults) == defaults
    assert validate_dbt_vars({"reporting_currency": "EUR"})  # the env var's default
    assert validate_dbt_vars({"as_of_date": "2026-03-01", "lookback_days": 0, "raw_path": "/srv/data/raw-2"})
    assert validate_raw_path("/tmp/pytest-of-root/pytest-1/data0/raw") == "/tmp/pytest-of-root/pytest-1/data0/raw"


@pytest.mark.parametrize(("name", "value", "rule"), BAD_VARS, ids=[f"{n}={v!r}" for n, v, _ in BAD_VARS])
def test_bad_dbt_var_is_rejected_naming_var_and_rule(name, value, rule):
    with pytest.raises(DbtVarError, match=rf"dbt var {name}=.*must be .*{rule}"):
        validate_dbt_vars({name: value})


def test_unknown_dbt_var_is_a_typo_not_ignored():
    with pytest.raises(DbtVarError, match=r"unknown dbt var 'lookback_day'.*lookback_days"):
        validate_dbt_vars({"lookback_day": 3})


def test_run_dbt_refuses_bad_vars_and_raw_paths_before_dbt_runs(tmp_path, monkeypatch):
    paths = Paths(home=HOME, data=tmp_path)
    with pytest.raises(DbtVarError, match="as_of_date"):
        run_dbt(["build"], paths=paths, vars={"as_of_date": "2026-03-01'; drop table x; --"})
    monkeypatch.setenv("SEGWAREHOUSE_RAW", str(tmp_path / "it's raw"))
    with pytest.raises(DbtVarError, match=r"SEGWAREHOUSE_RAW.*without quotes"):
        run_dbt(["build"], paths=paths)
    # nothing ran: no warehouse file, no dbt logs
    assert not paths.warehouse.exists()
    assert not (tmp_path / "dbt_logs").exists()


@pytest.mark.slow
def test_dbt_by_hand_checks_vars_in_the_validate_vars_macro(tmp_path):
    """`dbt` itself (not our Python wrapper) refuses bad vars, naming each, before any model runs."""
    raw = tmp_path / "raw" / "crm" / "contacts" / "date=2026-01-01"
    raw.mkdir(parents=True)
    (raw / "contacts.csv").write_text("customer_id\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEGWAREHOUSE_", "DBT_"))}
    env.update(SEGWAREHOUSE_RAW=str(tmp_path / "raw"), SEGWAREHOUSE_DUCKDB=str(tmp_path / "wh.duckdb"),
               DBT_TARGET_PATH=str(tmp_path / "target"), DBT_LOG_PATH=str(tmp_path / "logs"))
    dbt = [str(Path(sys.executable).with_name("dbt")), "run", "--select", "base_crm__contact_lines",
           "--project-dir", str(HOME / "dbt_project"), "--profiles-dir", str(HOME / "dbt_project")]
    bad = {"as_of_date": "2026-03-01' or '1'='1", "lookback_days": "3 day; drop table x; --",
           "engagement_email_points": -1}
    done = subprocess.run([*dbt, "--vars", json.dumps(bad)], env=env, capture_output=True, text=True, timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode != 0
    assert "invalid dbt var(s)" in out
    for name in bad:
        assert f"{name}=" in out, name
    assert not list((tmp_path / "target").glob("run/**/*.sql")), "no model SQL may run"
    # dbt by hand reads the files the ledger lists: without a scan it says what to do
    unscanned = subprocess.run([*dbt, "--vars", json.dumps({"as_of_date": "2026-01-01"})], env=env,
                               capture_output=True, text=True, timeout=300)
    assert unscanned.returncode != 0
    assert "segwarehouse landing scan" in unscanned.stdout
    env["SEGWAREHOUSE_DATA"] = str(tmp_path)
    scan = subprocess.run([sys.executable, "-m", "segwarehouse.cli.main", "landing", "scan"], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert scan.returncode == 0, scan.stderr[-2000:]
    good = subprocess.run([*dbt, "--vars", json.dumps({"as_of_date": "2026-01-01"})], env=env,
                          capture_output=True, text=True, timeout=300)
    assert good.returncode == 0, good.stdout[-2000:]


BAD_ML = [
    ({"input": {"relation": "dim_user_profile; drop table x"}}, "input.relation"),
    ({"input": {"relation": 'dim_user_profile" --'}}, "input.relation"),
    ({"input": {"relation": "a.b.c.d"}}, "input.relation"),
    ({"input": {"relation": "dim_user_profile\n"}}, "input.relation"),
    ({"input": {"output_schema": "segments.x"}}, "input.output_schema"),
    ({"input": {"output_schema": 'segments"; drop schema main; --'}}, "input.output_schema"),
    ({"input": {"id_column": 'person_id" from x; --'}}, "input.id_column"),
    ({"features": {"numeric": ['age") from x; --']}}, "features.numeric"),
    ({"rules": [{"id": "r", "name": "R", "all": [{"column": "a b", "op": ">", "value": 1}]}]}, r"rules\[\].column"),
]


@pytest.mark.parametrize(("override", "setting"), BAD_ML, ids=[s for _, s in BAD_ML])
def test_ml_config_rejects_names_that_would_reach_sql(override, setting):
    data = yaml.safe_load((HOME / "config" / "ml.yml").read_text())
    for section, values in override.items():
        data[section] = {**data[section], **values} if isinstance(values, dict) else values
    with pytest.raises(ValueError, match=setting):
        config_from_mapping(data)


@pytest.mark.parametrize(("path", "message"), [
    ("builtins.eval", "outside the allowed packages"),
    ("ml.config.re", "is not a class"),
    ("sklearn.cluster.KMeans\n", "neither a registry key"),
    ("sklearn.cluster.KMeans()", "neither a registry key"),
    ("sklearn..cluster.KMeans", "neither a registry key"),
    ("__import__('os').system", "neither a registry key"),
    ("sklearn.cluster.__class__", "private"),
])
def test_model_import_paths_outside_the_allow_list_are_rejected(path, message):
    cfg = load_config()
    with pytest.raises(ModelConfigError, match=message):
        build_segmenter(cfg.with_model(path).model, cfg)


def test_model_allow_list_accepts_allowed_paths():
    from sklearn.cluster import Birch

    assert resolve_class("sklearn.cluster.Birch", ("sklearn",)) is Birch
    with pytest.raises(ModelConfigError, match="outside the allowed packages"):
        resolve_class("sklearn.cluster.Birch", ("sklearn.mixture",))
