"""Every file under the landing zone is accounted for, as a data engineer's odd deliveries meet it.

A small generated zone is built once (as of its last day); each test copies that deployment, does to its
landing zone what real deliveries do (links, compressed files, bad partition names, a file completed later
with an older mtime, a late file in an old partition, a past day re-run) and builds it with the pipeline's
own build step, then checks the file ledger, the warehouse and the gate.
"""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from devtools.generator import GeneratorConfig, generate
from segwarehouse import pipeline
from segwarehouse.core.paths import Paths
from segwarehouse.quality.gate import QualityGateFailed

pytestmark = pytest.mark.slow

ZONE = GeneratorConfig(users=60, days=14, seed=3)  # deliveries 2026-01-01 .. 2026-01-14
LAST, DAY1 = "2026-01-14", "2026-01-01"
EVENT = ('{{"event_id": "{id}", "anonymous_id": "a-ledger", "event_type": "page_view", "page_url": "/", '
         '"device": "desktop", "channel": "direct", "event_at": "{at}"}}')


def _q(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _ledger(paths: Paths) -> dict[str, tuple[str, str | None]]:
    return {f: (s, r) for f, s, r in _q(paths.warehouse, "select source_file, status, reason from landing.file_ledger")}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Paths:
    data = tmp_path_factory.mktemp("ledger")
    generate(ZONE, data / "raw", data / "truth")
    paths = Paths(home=Path(__file__).resolve().parents[2], data=data)
    pipeline.build_warehouse(LAST, paths)
    return paths


@pytest.fixture
def deployment(built: Paths, tmp_path) -> Paths:
    """A private copy of the built deployment (landing zone and warehouse)."""
    shutil.copytree(built.data, tmp_path / "data", symlinks=True)
    return Paths(home=built.home, data=tmp_path / "data")


def test_links_and_odd_files_are_listed_with_a_reason_and_never_read(deployment, tmp_path):
    raw = deployment.raw
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "events.jsonl").write_text(EVENT.format(id="e-outside", at=f"{LAST}T10:00:00Z") + "\n")
    contacts, events = raw / "crm/contacts" / f"date={LAST}", raw / "web/events" / f"date={LAST}"
    (contacts / "passwd.csv").symlink_to("/etc/passwd")
    (events / "linked.jsonl").symlink_to(outside / "events.jsonl")
    (raw / "web/events/date=2026-01-15").symlink_to(outside, target_is_directory=True)
    shutil.copy(contacts / "contacts.csv", contacts / "contacts.csv.gz")
    for name in ("date=2026-13-45", "date=latest"):
        (raw / "web/events" / name).mkdir()
        (raw / "web/events" / name / "events.jsonl").write_text(EVENT.format(id=f"e-{name}", at=f"{LAST}T10:00:00Z") + "\n")
    (events / "_SUCCESS").write_text("")
    (events / ".upload.jsonl.part").write_text("{")
    (events / "notes.txt").write_text("hello")
    (raw / "README.txt").write_text("landing zone")

    result = pipeline.build_warehouse(LAST, deployment)
    ledger = _ledger(deployment)
    assert ledger[f"crm/contacts/date={LAST}/passwd.csv"][0] == "rejected"
    assert "symbolic link" in ledger[f"crm/contacts/date={LAST}/passwd.csv"][1]
    assert ledger[f"web/events/date={LAST}/linked.jsonl"][0] == "rejected"
    assert ledger["web/events/date=2026-01-15"][0] == "rejected"
    assert ledger[f"crm/contacts/date={LAST}/contacts.csv.gz"] == (
        "rejected", "compressed file: not read; deliver it uncompressed as *.csv")
    assert ledger["web/events/date=2026-13-45/events.jsonl"][0] == "rejected"
    assert "'date=2026-13-45'" in ledger["web/events/date=2026-13-45/events.jsonl"][1]
    assert "'date=latest'" in ledger["web/events/date=latest/events.jsonl"][1]
    assert ledger[f"web/events/date={LAST}/_SUCCESS"][0] == "ignored"
    assert ledger[f"web/events/date={LAST}/.upload.jsonl.part"][0] == "ignored"
    assert ledger[f"web/events/date={LAST}/notes.txt"][0] == "rejected"
    assert ledger["README.txt"][0] == "ignored"
    assert result["landing"]["by_status"]["rejected"] == 7
    # nothing of them reached the warehouse: no line of /etc/passwd, no outside or misfiled event
    assert _q(deployment.warehouse, "select count(*) from int_quarantine_rows where raw_line like 'root:%'")[0][0] == 0
    assert _q(deployment.warehouse, "select count(*) from base_web__event_lines where event_id like 'e-%' "
              "and (event_id = 'e-outside' or event_id like 'e-date=%')")[0][0] == 0
    lines_from = {r[0] for r in _q(deployment.warehouse, "select distinct source_file from base_crm__contact_lines "
                                   "union select distinct source_file from base_web__event_lines")}
    assert not {f for f, (s, _) in ledger.items() if s in ("rejected", "ignored")} & lines_from
    # a full refresh is not stopped by the odd partition names either
    assert pipeline.build_warehouse(LAST, deployment, full_refresh=True)["full_refresh"] is True
    audit = dict(_q(deployment.warehouse, "select source_name, files_rejected from int_source_load_audit"))
    assert audit["web_events"] == 5
    assert audit["crm_contacts"] == 2


def test_changed_content_is_reloaded_even_with_an_older_modification_time(deployment):
    """A file completed later but stamped with its original time (cp -p, scp -p, rsync -t) is read again."""
    events = deployment.raw / "web/events" / f"date={LAST}" / "events.jsonl"
    before = events.stat()
    with events.open("a") as fh:
        fh.write(EVENT.format(id="e-completed-later", at=f"{LAST}T11:00:00Z") + "\n")
    os.utime(events, ns=(before.st_atime_ns, before.st_mtime_ns - 86_400 * 10**9))

    pipeline.build_warehouse(LAST, deployment)
    assert _q(deployment.warehouse, "select count(*) from stg_web__events where event_id = 'e-completed-later'")[0][0] == 1
    assert _ledger(deployment)[f"web/events/date={LAST}/events.jsonl"][0] == "reloaded"
    events_log = _q(deployment.warehouse, "select event from landing.file_ledger_events where source_file = ? "
                    "order by event_at", [f"web/events/date={LAST}/events.jsonl"])
    assert [e for (e,) in events_log][-2:] == ["changed", "reloaded"]


def test_new_file_in_a_partition_older_than_the_lookback_is_loaded(deployment):
    late = deployment.raw / "web/events" / f"date={DAY1}" / "late_export.jsonl"
    late.write_text(EVENT.format(id="e-late-in-old-partition", at=f"{DAY1}T09:00:00Z") + "\n")

    result = pipeline.build_warehouse(LAST, deployment)
    assert result["full_refresh"] is True
    assert any(f"web/events/date={DAY1}/late_export.jsonl" in r for r in result["full_refresh_reasons"])
    assert _q(deployment.warehouse, "select count(*) from stg_web__events where event_id = 'e-late-in-old-partition'"
              )[0][0] == 1
    assert _ledger(deployment)[f"web/events/date={DAY1}/late_export.jsonl"][0] == "loaded"
    # the full refresh finished: the next build is incremental again
    assert pipeline.build_warehouse(LAST, deployment)["full_refresh"] is False


def test_a_past_day_re_run_builds_the_profile_as_of_that_day(deployment, built):
    earlier = "2026-01-12"
    result = pipeline.build_warehouse(earlier, deployment)
    assert result["full_refresh"] is True
    assert "delivered after 2026-01-12" in result["full_refresh_reasons"][0]
    latest_fact, min_recency, as_of = _q(deployment.warehouse, """
        select max(greatest(last_seen_at, signup_at)), min(recency_days), max(as_of_date) from dim_user_profile""")[0]
    assert as_of == date(2026, 1, 12)
    assert latest_fact.date() <= date(2026, 1, 13)  # at most future_tolerance_days (1) after as_of_date
    assert min_recency is None or min_recency >= -1
    assert _q(deployment.warehouse, "select max(delivery_date) from base_web__event_lines")[0][0] == date(2026, 1, 12)
    gate = pipeline.validate_profiles(earlier, "past_day", deployment)
    assert gate["success"] is True
    # catching up to the last day again gives the warehouse of the original build
    assert pipeline.build_warehouse(LAST, deployment)["full_refresh"] is False
    profile = "select count(*), sum(hash(columns(* exclude (as_of_date)))) from dim_user_profile"
    assert _q(deployment.warehouse, profile) == _q(built.warehouse, profile)


def test_the_gate_fails_when_a_profile_fact_postdates_as_of_date(deployment):
    with duckdb.connect(str(deployment.warehouse)) as con:
        con.execute("update dim_user_profile set last_seen_at = as_of_date + interval 9 day "
                    "where person_id = (select min(person_id) from dim_user_profile)")
    with pytest.raises(QualityGateFailed, match="days the newest profile fact lies after as_of_date"):
        pipeline.validate_profiles(LAST, "postdated", deployment)
    summary = _q(deployment.warehouse, "select failed_summary from quality.data_quality_runs "
                 "where run_id = 'postdated' and not success")
    assert any("days the newest profile fact lies after as_of_date" in s and "observed 9" in s for (s,) in summary)
