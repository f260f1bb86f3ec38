"""docker-compose.yml matches what the code expects (checked by `docker-compose config`; no engine here)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"}


def _config(*profile: str) -> dict:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail("docker-compose is not installed: .ci/run installs Debian's docker-compose package")
    args = [exe, *(a for p in profile for a in ("--profile", p)), "config"]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False,
                          env={"PATH": "/usr/bin:/bin:/usr/local/bin", "SEGWAREHOUSE_PII_KEY": "test-key",
                               "SEGWAREHOUSE_API_TOKEN": "test-token-0123456789"})
    assert proc.returncode == 0, proc.stderr
    return yaml.safe_load(proc.stdout)


def test_local_executor_deployment_has_every_airflow_component():
    services = _config()["services"]
    default = {name for name, svc in services.items() if not svc.get("profiles")}
    assert AIRFLOW_SERVICES | {"postgres", "airflow-init"} <= default
    assert not {"airflow-worker", "redis"} & default
    for name in AIRFLOW_SERVICES | {"postgres"}:
        assert "healthcheck" in services[name], name
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/segwarehouse/dags"
    assert env["SEGWAREHOUSE_DATA"] == "/opt/segwarehouse/data"


def test_code_folders_are_mounted_where_the_image_expects_them():
    services = _config()["services"]
    targets = {str(v).split(":")[1] if isinstance(v, str) else v["target"] for v in services["airflow-scheduler"]["volumes"]}
    for folder in ("dags", "dbt_project", "ml", "expectations", "config", "data"):
        assert f"/opt/segwarehouse/{folder}" in targets
        if folder != "data":
            assert (ROOT / folder).is_dir(), f"mounted folder {folder}/ missing from the repo"


def test_init_migrates_and_hands_the_volumes_to_the_airflow_user():
    init = _config()["services"]["airflow-init"]
    command = " ".join(init["command"])
    assert init["user"] == "0:0"  # volumes start root-owned; the components run as uid 50000
    assert "chown -R 50000:0 /opt/airflow/logs" in command
    assert "airflow db migrate" in command
    assert "pools set" not in command  # writers serialize on the writer lock: no pool to create


def test_the_landing_zone_is_a_host_folder_the_components_share():
    services = _config()["services"]
    for name in AIRFLOW_SERVICES | {"airflow-init"}:
        mounts = {}
        for v in services[name]["volumes"]:  # long or short syntax, depending on the compose client
            if isinstance(v, str):
                source, target, *mode = v.split(":")
                v = {"source": source, "target": target, "read_only": mode == ["ro"]}
            mounts[v["target"]] = v
        landing = mounts["/opt/segwarehouse/data/raw"]
        assert landing["source"] == str(ROOT / "landing"), name  # a host folder, not a named volume
        assert not landing.get("read_only"), name  # erasure rewrites landed lines


def test_the_image_extends_the_official_airflow_image_at_the_installed_version():
    from importlib.metadata import version

    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"ARG AIRFLOW_VERSION={version('apache-airflow')}" in dockerfile
    assert "FROM apache/airflow:${AIRFLOW_VERSION}-python" in dockerfile
    assert 'pip install "apache-airflow==${AIRFLOW_VERSION}"' in dockerfile


def test_celery_profile_adds_redis_and_workers():
    services = _config("celery")["services"]
    assert services["redis"]["profiles"] == ["celery"]
    assert services["airflow-worker"]["profiles"] == ["celery"]
    assert services["airflow-worker"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert services["airflow-worker"]["environment"]["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"


def test_pii_key_is_mandatory():
    exe = shutil.which("docker-compose") or "docker-compose"
    proc = subprocess.run([exe, "config"], cwd=ROOT, capture_output=True, text=True, check=False,
                          env={"PATH": "/usr/bin:/bin:/usr/local/bin", "SEGWAREHOUSE_API_TOKEN": "test-token-0123456789"})
    assert proc.returncode != 0
    assert "SEGWAREHOUSE_PII_KEY" in proc.stderr


def test_segment_api_service_reads_the_serving_data_read_only_and_needs_a_token():
    api = _config()["services"]["segment-api"]
    command = api["command"] if isinstance(api["command"], str) else " ".join(api["command"])
    assert command.startswith("segwarehouse serve-api")
    assert api["environment"]["SEGWAREHOUSE_DATA"] == "/opt/segwarehouse/data"
    assert api["environment"]["SEGWAREHOUSE_API_TOKEN"] == "test-token-0123456789"
    data = [v for v in api["volumes"] if (v["target"] if isinstance(v, dict) else v.split(":")[1]) == "/opt/segwarehouse/data"]
    assert data
    assert all(v.get("read_only") if isinstance(v, dict) else v.endswith(":ro") for v in data)
    assert "/readyz" in " ".join(api["healthcheck"]["test"])
    exe = shutil.which("docker-compose") or "docker-compose"
    proc = subprocess.run([exe, "config"], cwd=ROOT, capture_output=True, text=True, check=False,
                          env={"PATH": "/usr/bin:/bin:/usr/local/bin", "SEGWAREHOUSE_PII_KEY": "test-key"})
    assert proc.returncode != 0
    assert "SEGWAREHOUSE_API_TOKEN" in proc.stderr
