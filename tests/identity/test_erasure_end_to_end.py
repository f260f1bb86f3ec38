"""The real erasure (rebuild, gate, swap, publish) on a pipeline-built warehouse with probabilistic links.

A small deployment gets two hand-written pairs of contacts on its last day that share no e-mail or phone but
names, birth date and address, so only probabilistic matching merges each pair into one person; the identity
model is the one the shared identity fixture trained, adopted from its models folder. Erasing the non-anchor side
of one pair (its publish failing once, then retried) and the anchor side of the other leaves the other contact
of each pair with its lines, as a person of its own where it lost its partner.
"""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from devtools.generator import GeneratorConfig, generate
from segwarehouse import pipeline
from segwarehouse.core.paths import Paths

pytestmark = pytest.mark.slow

ZONE = GeneratorConfig(users=40, days=14, seed=5)
LAST = str(ZONE.start_date + timedelta(days=ZONE.days - 1))
TS = f"{LAST}T10:00:00+00:00"
HEADER = ("customer_id,email,phone,first_name,last_name,birth_date,gender,city,country,signup_at,"
          "marketing_consent,loyalty_tier,income_bracket,interests,updated_at,address_line,postcode")
# (customer id, e-mail, phone, first name, last name, birth date, address line): each pair is one person who
# signed up twice, the second time with a new e-mail and phone and the street type spelled out
CONTACTS = [
    ("CY01", "quillon.m@example.org", "+49 30 5550201", "Quillon", "Marchetti", "1977-03-09", "41 Arden St"),
    ("CY02", "qm.shop@example.net", "+49 30 5550202", "Quillon", "Marchetti", "1977-03-09", "41 Arden Street"),
    ("CY03", "oriane.v@example.org", "+49 30 5550203", "Oriane", "Vasquelle", "1985-11-23", "7 Holm Rd"),
    ("CY04", "ov.store@example.net", "+49 30 5550204", "Oriane", "Vasquelle", "1985-11-23", "7 Holm Road"),
]


def _q(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _person(paths: Paths, customer_id: str) -> str | None:
    rows = _q(paths.warehouse, "select person_id from int_person_map where node_key = ?", [f"customer_id:{customer_id}"])
    return rows[0][0] if rows else None


@pytest.fixture(scope="module")
def deployment(matched, tmp_path_factory) -> dict:
    """Built, gated and published for its last day, with the identity fixture's model adopted."""
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("erasure_links")
    shutil.copytree(matched["paths"].models / "identity", root / "models" / "identity")
    mp.setenv("SEGWAREHOUSE_MODELS", str(root / "models"))
    mp.setenv("SEGWAREHOUSE_PII_KEY", "identity-erasure-tests-only-key")
    data = root / "data"
    generate(ZONE, data / "raw", data / "truth")
    rows = [",".join([cid, email, phone, first, last, birth, "F", "Berlin", "DE", TS, "true", "gold", "", "", TS,
                      street, "10115"]) for cid, email, phone, first, last, birth, street in CONTACTS]
    (data / "raw" / "crm" / "contacts" / f"date={LAST}" / "hand_contacts.csv").write_text(
        "\n".join([HEADER, *rows]) + "\n")
    paths = Paths(home=Path(__file__).resolve().parents[2], data=data)
    built = pipeline.build_warehouse(LAST, paths)
    assert pipeline.validate_profiles(LAST, "last_day", paths)["success"]
    assert pipeline.publish_profiles(LAST, "last_day", paths)["published"]
    yield {"paths": paths, "matching": built["matching"], "before": {c[0]: _person(paths, c[0]) for c in CONTACTS}}
    mp.undo()


def test_the_pairs_are_merged_by_probabilistic_links_only(deployment):
    paths, before = deployment["paths"], deployment["before"]
    assert deployment["matching"]["adopted"] == deployment["matching"]["model_version"]
    links = _q(paths.warehouse, "select customer_id_l, customer_id_r from identity.probabilistic_links "
                                "where customer_id_l like 'CY%' order by 1")
    assert links == [("CY01", "CY02"), ("CY03", "CY04")]
    assert before["CY01"] == before["CY02"]
    assert before["CY03"] == before["CY04"]
    assert before["CY01"] != before["CY03"]


def test_erasing_the_non_anchor_side_after_a_failed_publish_and_a_retry(deployment, monkeypatch):
    paths, before = deployment["paths"], deployment["before"]
    real_publish = pipeline.publish_profiles

    def failing_publish(*args, **kwargs):
        raise OSError("serving disk full (injected)")

    monkeypatch.setattr(pipeline, "publish_profiles", failing_publish)
    with pytest.raises(OSError, match="injected"):
        pipeline.erase_person("qm.shop@example.net", "erase_cy02", paths)
    # the failure came after the swap: the landing files and the warehouse are already without CY02
    assert _q(paths.warehouse, "select count(*) from stg_crm__contacts where customer_id = 'CY02'")[0][0] == 0
    monkeypatch.setattr(pipeline, "publish_profiles", real_publish)
    report = pipeline.erase_person("qm.shop@example.net", "erase_cy02", paths)
    assert report["resumed_from"] == "swapped"
    assert report["leftover_files"] == []
    assert report["published"] == "republished"
    assert report["persons"] == 0  # the merged person's id stays with its anchor, CY01
    assert report["raw_lines_removed"] == 1

    wh = paths.warehouse
    assert _q(wh, "select customer_id from stg_crm__contacts where customer_id in ('CY01', 'CY02')") == [("CY01",)]
    assert _person(paths, "CY01") == before["CY01"]
    assert _q(wh, "select count(*) from identity.probabilistic_links where 'CY02' in (customer_id_l, customer_id_r)"
              )[0][0] == 0
    assert _q(paths.serving, "select count(*) from user_profile_public where person_id = ?", [before["CY01"]])[0][0] == 1
    audit = _q(wh, "select run_name, persons, identifiers, raw_lines_removed from main.privacy_erasure_audit "
                   "where run_name = 'erase_cy02'")
    assert audit == [("erase_cy02", 0, audit[0][2], 1)]
    assert audit[0][2] >= 2
    on_disk = json.loads((paths.runs / "erase_cy02" / "erasure_audit.json").read_text())
    assert on_disk["raw_lines_removed"] == 1
    assert on_disk["resumed_from"] == "swapped"
    raw = "".join(p.read_text() for p in (paths.raw / "crm" / "contacts").rglob("*.csv"))
    assert "qm.shop@example.net" not in raw
    assert "quillon.m@example.org" in raw


def test_erasing_the_anchor_side_leaves_the_other_contact_as_its_own_person(deployment):
    paths, before = deployment["paths"], deployment["before"]
    report = pipeline.erase_person("CY03", "erase_cy03", paths)
    assert report["leftover_files"] == []
    assert report["persons"] == 1  # the merged person's id: the subject held its anchor
    wh = paths.warehouse
    assert _q(wh, "select customer_id from stg_crm__contacts where customer_id in ('CY03', 'CY04')") == [("CY04",)]
    after = _person(paths, "CY04")
    assert after is not None
    assert after != before["CY03"]
    assert _q(wh, "select count(*) from int_person_map where person_id = ?", [before["CY03"]])[0][0] == 0
    assert _q(wh, "select count(*) from int_person_map where person_id = ? and node_key like 'customer_id:%'",
              [after])[0][0] == 1
    assert _q(paths.serving, "select count(*) from user_profile_public where person_id = ?", [before["CY03"]])[0][0] == 0
    assert _q(wh, "select persons, raw_lines_removed from main.privacy_erasure_audit where run_name = 'erase_cy03'"
              ) == [(1, 1)]
    raw = "".join(p.read_text() for p in (paths.raw / "crm" / "contacts").rglob("*.csv"))
    assert "oriane.v@example.org" not in raw
    assert "ov.store@example.net" in raw
