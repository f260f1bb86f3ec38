"""A warehouse rebuilt from scratch (a new DuckDB file) with the same models folder keeps the identity model: it
adopts the newest usable version on disk and registers where it came from; a corrupt or incomplete version is
passed over with a message naming its file; with none usable, the build trains a new one."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from segwarehouse.core.paths import Paths
from tests.identity.conftest import LAST_DAY

pytestmark = pytest.mark.slow


def _fresh(matched: dict, tmp_path, monkeypatch) -> tuple[Paths, list[str]]:
    """A new warehouse file holding only what dbt's staging step writes (stg_crm__contacts), and a copy of the
    models folder as $SEGWAREHOUSE_MODELS; returns the paths and the version folders on disk, newest first."""
    old = matched["paths"]
    models = tmp_path / "models"
    shutil.copytree(old.models / "identity", models / "identity")
    monkeypatch.setenv("SEGWAREHOUSE_MODELS", str(models))
    paths = Paths(home=old.home, data=tmp_path / "data")
    paths.warehouse.parent.mkdir(parents=True)
    with duckdb.connect(str(paths.warehouse)) as con:
        con.execute(f"attach '{old.warehouse}' as old (read_only)")
        con.execute("create table main.stg_crm__contacts as select * from old.main.stg_crm__contacts")
    versions = sorted((p.name for p in (models / "identity").iterdir()), reverse=True)
    return paths, versions


def _registry(paths: Paths) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute("select model_version, source from identity.model_registry order by trained_at").fetchall()


def test_a_fresh_warehouse_adopts_the_newest_model_on_disk(matched, tmp_path, monkeypatch):
    from segwarehouse.warehouse.identity.matching import match_contacts

    paths, versions = _fresh(matched, tmp_path, monkeypatch)
    out = match_contacts(paths, LAST_DAY)
    assert out["adopted"] == out["model_version"] == versions[0]
    assert out["trained"] is None
    assert "unusable_models" not in out
    assert out["mode"] == "full"
    assert out["links"] > 50
    assert _registry(paths) == [(versions[0], f"adopted from {paths.models / 'identity' / versions[0]}")]
    assert sorted(p.name for p in (paths.models / "identity").iterdir()) == sorted(versions)  # nothing trained
    # the next day keeps it, incrementally
    again = match_contacts(paths, LAST_DAY)
    assert (again["mode"], again["model_version"], again["adopted"]) == ("incremental", versions[0], None)


def test_a_corrupt_newest_version_is_passed_over_with_a_clear_message(matched, tmp_path, monkeypatch):
    from segwarehouse.warehouse.identity.matching import match_contacts

    paths, versions = _fresh(matched, tmp_path, monkeypatch)
    newest = paths.models / "identity" / versions[0]
    (newest / "splink_model.json").write_text('{"probability_two_random_records_match": 0.0001, "compar')
    (paths.models / "identity" / "identity-99991231T000000000000-half-written").mkdir()  # a training that died
    out = match_contacts(paths, LAST_DAY)
    if len(versions) > 1:
        assert out["adopted"] == out["model_version"] == versions[1]
    else:
        assert out["adopted"] is None
        assert out["trained"] == out["model_version"]
    reasons = out["unusable_models"]
    assert any(r.startswith(f"{newest / 'splink_model.json'}: not valid JSON") for r in reasons)
    assert any("half-written/splink_model.json: missing" in r for r in reasons)


def test_with_no_usable_version_on_disk_the_build_trains_one(matched, tmp_path, monkeypatch):
    from segwarehouse.warehouse.identity.matching import match_contacts

    paths, versions = _fresh(matched, tmp_path, monkeypatch)
    for version in versions:  # an untrained settings file, and a model whose term-frequency table is gone
        folder = paths.models / "identity" / version
        if version == versions[0]:
            (folder / "splink_model.json").write_text('{"probability_two_random_records_match": 0.0001, '
                                                      '"comparisons": [{"output_column_name": "first_name", '
                                                      '"comparison_levels": [{"sql_condition": "true"}]}]}')
        else:
            (folder / "tf_first_name.parquet").unlink()
    out = match_contacts(paths, LAST_DAY)
    assert out["adopted"] is None
    assert out["trained"] == out["model_version"] not in versions
    assert any("comparison 'first_name' has no estimated m and u probabilities" in r for r in out["unusable_models"])
    assert all(any(v in r for r in out["unusable_models"]) for v in versions)
    assert _registry(paths) == [(out["trained"], "trained")]
