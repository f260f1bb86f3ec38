"""A source whose every line is rejected fails the gate, naming it; a failed gate blocks every publish path
until it passes or the override is given deliberately; thresholds come from the deployment's config file."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb
import pytest

from devtools.generator import GeneratorConfig, generate
from segwarehouse.core.paths import Paths
from tests.own_data.conftest import HOME

pytestmark = pytest.mark.slow

ZONE = GeneratorConfig(users=300, days=20, seed=11, omit_sources=("events",))
AS_OF = date(2026, 1, 20)


def _break_contacts(raw: Path) -> int:
    """Every contact line gets an unparseable updated_at (an export whose date format changed)."""
    n = 0
    for path in sorted((raw / "crm" / "contacts").glob("date=*/*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        header, body = rows[0], rows[1:]
        col = header.index("updated_at")
        body = [[*r[:col], "31/12/2025 25h", *r[col + 1:]] for r in body if len(r) == len(header)]
        n += len(body)
        with path.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh, lineterminator="\n").writerows([header, *body])
    return n


@pytest.fixture(scope="module")
def broken(own_env, tmp_path_factory) -> Paths:
    from segwarehouse import pipeline

    data = tmp_path_factory.mktemp("broken") / "data"
    generate(ZONE, data / "raw", data / "truth")
    assert _break_contacts(data / "raw") > 100
    paths = Paths(home=HOME, data=data)
    pipeline.build_warehouse(AS_OF, paths)
    return paths


def test_all_rejected_source_fails_the_gate_naming_it(broken):
    from segwarehouse import pipeline
    from segwarehouse.quality.results import QualityGateFailed

    with pytest.raises(QualityGateFailed) as failed:
        pipeline.validate_profiles(AS_OF, "gate_broken", broken)
    message = str(failed.value)
    assert "share of the source's lines quarantined" in message
    assert "source_name=crm_contacts" in message
    assert "source_name=shop_orders" not in message
    per_file = [line for line in message.splitlines() if "share of the file's lines quarantined" in line]
    assert per_file
    assert "crm/contacts/date=2026-01-01" in per_file[0]


def test_failed_gate_blocks_every_publish_path(broken, monkeypatch, capsys):
    from segwarehouse import pipeline
    from segwarehouse.cli.main import main
    from segwarehouse.quality.guard import GateNotPassed

    with pytest.raises(GateNotPassed) as refused:
        pipeline.publish_profiles(AS_OF, "publish_broken", broken)
    text = str(refused.value)
    assert "'gate_broken'" in text
    assert "int_source_load_audit" not in text
    assert "source_quarantine_suite" in text
    assert "--allow-failed-gate" in text
    assert "SEGWAREHOUSE_PUBLISH_WITHOUT_GATE=1" in text
    with pytest.raises(GateNotPassed):
        pipeline.publish_segments("publish_broken", broken)
    assert not broken.serving.exists()

    monkeypatch.setenv("SEGWAREHOUSE_DATA", str(broken.data))
    assert main(["publish"]) == 1
    assert "refusing to publish: the latest quality gate run 'gate_broken'" in capsys.readouterr().err
    assert not broken.serving.exists()
    assert main(["publish", "--allow-failed-gate"]) == 0  # deliberate, and the publication says so
    assert broken.serving.exists()
    assert '"gate_overridden": true' in capsys.readouterr().out


def test_gate_thresholds_come_from_the_deployment_config(broken, tmp_path, monkeypatch):
    """A deployment that accepts the rejected source says so in config/quality.yml; the gate then passes and
    publishing needs no override."""
    from segwarehouse import pipeline

    config = tmp_path / "quality.yml"
    config.write_text("quarantine:\n  max_rejected_share_per_source: 1.0\n  max_rejected_share_per_file: 1.0\n")
    monkeypatch.setenv("SEGWAREHOUSE_GATE_CONFIG", str(config))
    result = pipeline.validate_profiles(AS_OF, "gate_accepting", broken)
    assert result["success"]
    published = pipeline.publish_serving(broken)
    assert published["gate_run"] == "gate_accepting"
    assert published["gate_passed"]
    with duckdb.connect(str(broken.warehouse), read_only=True) as con:
        contacts = con.execute("select count(*) from stg_crm__contacts").fetchall()[0][0]
    assert contacts == 0


def test_bad_gate_config_names_file_and_key(tmp_path):
    from expectations.thresholds import GateConfigError, load_thresholds

    path = tmp_path / "quality.yml"
    path.write_text("mostly:\n  stg_crm__contacts.email: 1.5\n")
    with pytest.raises(GateConfigError, match=r"quality.yml: `mostly.stg_crm__contacts.email` must be a share"):
        load_thresholds(path)
    path.write_text("mostly:\n  stg_crm__contacts.nickname: 0.5\n")
    with pytest.raises(GateConfigError, match=r"names .*nickname.* which no completeness check reads"):
        load_thresholds(path)
    path.write_text("tolerence: 0.3\n")
    with pytest.raises(GateConfigError, match="unknown key"):
        load_thresholds(path)
    path.write_text("mostly:\n  stg_crm__contacts.email: 0.5\n")
    assert load_thresholds(path).mostly["stg_crm__contacts.email"] == 0.5


def test_shipped_gate_config_states_the_defaults():
    """config/quality.yml documents the defaults: loading it changes nothing."""
    from dataclasses import replace

    from expectations.thresholds import GateThresholds, load_thresholds

    shipped = load_thresholds(HOME / "config" / "quality.yml")
    assert replace(shipped, source=None) == replace(GateThresholds(), tolerance=0.2)  # the file states 0.2
