"""The segment lookup API on a real published serving file: answers, auth, bad keys, and publishes under load."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import httpx
import pytest
from fastapi.testclient import TestClient

from segwarehouse.api.app import create_app, parse_tokens
from segwarehouse.core.pii import pseudonymize
from segwarehouse.experiments.config import ExperimentsConfig
from segwarehouse.experiments.refresh import refresh

from .conftest import PII_KEY, Served, private_paths

TOKEN = "api-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LOOP = Path(__file__).with_name("publish_loop.py")


@pytest.fixture(scope="module")
def published(served: Served, tmp_path_factory):
    """A private warehouse with a running experiment (consent required), published to its serving file."""
    from segwarehouse.pipeline import publish_serving

    paths = private_paths(served.paths, tmp_path_factory.mktemp("api"))
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        as_of = con.execute("select max(as_of_date) from main.dim_user_profile").fetchone()[0]
    cfg = ExperimentsConfig.model_validate({"experiments": [{
        "name": "homepage_banner", "start_date": as_of - timedelta(days=3), "end_date": as_of + timedelta(days=30),
        "targets": {"model_segments": "all"}, "holdout_share": 0.1,
        "variants": [{"name": "control", "share": 0.5, "control": True},
                     {"name": "voucher_mail", "share": 0.5, "marketing": True}],
        "primary_metric": {"name": "purchase_7d", "kind": "purchase", "window_days": 7}}]})
    refresh(paths.warehouse, cfg, "api-exp")
    publish_serving(paths)
    return paths


@pytest.fixture(scope="module")
def client(published):
    app = create_app(published.serving, (TOKEN,), reload_seconds=0.2)
    with TestClient(app) as c:
        for _ in range(100):
            if c.get("/readyz").status_code == 200:
                break
            time.sleep(0.1)
        yield c


def _expected(serving: Path, person_id: str) -> dict:
    with duckdb.connect(str(serving), read_only=True) as con:
        seg = con.execute("select segment_id, segment_name, rule_segment_ids, as_of_date::varchar from user_segments "
                          "where person_id = ?", [person_id]).fetchone()
        experiments = con.execute("select experiment, variant from experiment_assignments where person_id = ? "
                                  "and is_active order by experiment", [person_id]).fetchall()
    return {"segment_id": seg[0], "segment_name": seg[1], "rules": list(seg[2]), "as_of": seg[3],
            "experiments": [{"experiment": e, "variant": v} for e, v in experiments]}


def test_answers_match_the_published_views_for_every_kind_of_key(published, client):
    with duckdb.connect(str(published.warehouse), read_only=True) as con:
        people = con.execute("""
            select p.person_id, p.primary_customer_id, p.email,
                   (select min(id_value) from main.int_person_map m
                    where m.person_id = p.person_id and m.id_type = 'anonymous_id') as anonymous_id,
                   p.has_marketing_consent
            from main.dim_user_profile p
            where p.primary_customer_id is not null and p.email is not null and p.email not like 'test@%'
              and exists (select 1 from main.int_person_map m where m.person_id = p.person_id
                          and m.id_type = 'anonymous_id')
            order by hash(p.person_id) limit 60""").fetchall()
    assert len(people) == 60
    assert {c for *_, c in people} == {True, False}
    with_experiment = 0
    for person_id, customer_id, email, anonymous_id, consent in people:
        want = _expected(published.serving, person_id)
        for key, key_type in ((customer_id, "customer_id"), (anonymous_id, "anonymous_id"),
                              (pseudonymize(email, PII_KEY.encode()), "email_hmac")):
            for params in ({}, {"key_type": key_type}):
                r = client.get(f"/v1/persons/{key}", headers=AUTH, params=params)
                assert r.status_code == 200, (key_type, r.text)
                body = r.json()
                assert body["person_id"] == person_id
                assert key_type in body["matched_key_types"]
                assert body["segment"]["id"] == want["segment_id"]
                assert body["segment"]["name"] == want["segment_name"]
                assert [s["id"] for s in body["rule_segments"]] == want["rules"]
                assert body["experiments"] == want["experiments"]
                assert body["as_of_date"] == want["as_of"]
        with_experiment += bool(want["experiments"])
        if not consent:  # a marketing experiment never shows for a person without consent
            assert want["experiments"] == []
    assert 0 < with_experiment < len(people)


def test_without_a_valid_token_nothing_is_revealed(client):
    known = client.get("/v1/persons/C00000001", headers=AUTH)
    assert known.status_code == 200
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": f"Basic {TOKEN}"},
                    {"Authorization": TOKEN}, {"Authorization": f"Bearer {TOKEN[:-1]}"}, {"Authorization": "Bearer "}):
        for key in ("C00000001", "no-such-key", "jane@example.com", "x" * 300):
            r = client.get(f"/v1/persons/{key}", headers=headers)
            assert r.status_code == 401, (headers, key, r.status_code)
            assert r.headers["www-authenticate"] == "Bearer"
            assert r.json() == {"detail": "missing or invalid bearer token"}
            assert "p_" not in r.text
            assert "segment" not in r.text


def test_unknown_keys_are_404_and_malformed_keys_400(client):
    r = client.get("/v1/persons/C99999999", headers=AUTH)
    assert (r.status_code, r.json()) == (404, {"detail": "no person with this key"})
    assert client.get(f"/v1/persons/{'a' * 64}", headers=AUTH, params={"key_type": "email_hmac"}).status_code == 404
    bad = {
        "jane.doe@example.com": "raw e-mail",
        "x" * 257: "malformed key",
        "two words": "malformed key",
        "quote'd": "malformed key",
        "C00000001%0A": "malformed key",  # a newline, percent-encoded as a client must send it
        "C0000%000001": "malformed key",
    }
    for key, message in bad.items():
        r = client.get(f"/v1/persons/{key}", headers=AUTH)
        assert r.status_code == 400, key
        assert message in r.json()["detail"]
        assert key.strip() not in r.text  # the key is never echoed back
    assert client.get("/v1/persons/C00000001", headers=AUTH, params={"key_type": "phone"}).status_code == 400
    r = client.get("/v1/persons/not-hex", headers=AUTH, params={"key_type": "email_hmac"})
    assert r.status_code == 400
    assert "64 lower-case hex" in r.json()["detail"]


def test_health_readiness_and_openapi(client, tmp_path):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["ready"] is True
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/v1/persons/{key}"]["get"]
    assert {"400", "401", "404", "200"} <= set(operation["responses"])
    assert operation["security"] == [{"HTTPBearer": []}]
    assert client.get("/docs").status_code == 200
    with TestClient(create_app(tmp_path / "missing.duckdb", (TOKEN,), reload_seconds=0.05)) as empty:
        for _ in range(100):  # the watcher thread's first look
            r = empty.get("/readyz")
            if "does not exist" in r.json()["error"]:
                break
            time.sleep(0.05)
        assert r.status_code == 503
        assert "does not exist" in r.json()["error"]
        assert empty.get("/v1/persons/C00000001", headers=AUTH).status_code == 503
        assert empty.get("/v1/persons/C00000001").status_code == 401


def test_the_service_refuses_to_start_without_a_real_token():
    for raw in (None, "", " , ", "short"):
        with pytest.raises(RuntimeError, match="SEGWAREHOUSE_API_TOKEN"):
            parse_tokens(raw)
    assert parse_tokens(f"{TOKEN}, {TOKEN}x") == (TOKEN, f"{TOKEN}x")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_zero_errors_while_the_serving_file_is_republished(published, tmp_path):
    """A real uvicorn server with 2 workers; 4 client threads poll while another process publishes A, B, A, ..."""
    variant = tmp_path / "variant.duckdb"
    shutil.copy2(published.warehouse, variant)
    with duckdb.connect(str(variant)) as con:
        gone = con.execute("select primary_customer_id from validated.dim_user_profile where primary_customer_id "
                           "is not null and hash(person_id) % 10 = 0 order by 1 limit 1").fetchone()[0]
        con.execute("delete from validated.dim_user_profile where hash(person_id) % 10 = 0")
        stable = con.execute("select min(primary_customer_id) from validated.dim_user_profile").fetchone()[0]
    port = _free_port()
    env = {**os.environ, "SEGWAREHOUSE_API_TOKEN": TOKEN, "SEGWAREHOUSE_SERVING": str(published.serving),
           "SEGWAREHOUSE_API_RELOAD_SECONDS": "0.2"}
    server = subprocess.Popen([sys.executable, "-m", "segwarehouse.cli.main", "serve-api", "--port", str(port),
                               "--workers", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        stop, result = tmp_path / "stop", tmp_path / "result.json"
        publisher = subprocess.Popen([sys.executable, str(LOOP), str(published.home), str(published.data),
                                      str(published.warehouse), str(variant), str(stop), str(result)],
                                     env={**os.environ, "SEGWAREHOUSE_PII_KEY": PII_KEY})
        errors, seen, requests = [], set(), [0]

        def poll():
            with httpx.Client(base_url=base, headers=AUTH, timeout=10) as http:
                while not stop.exists():
                    try:
                        ok = http.get(f"/v1/persons/{stable}")
                        other = http.get(f"/v1/persons/{gone}")
                    except httpx.HTTPError as exc:
                        errors.append(f"{type(exc).__name__}: {exc}")
                        continue
                    requests[0] += 2
                    if ok.status_code != 200:
                        errors.append(f"{ok.status_code}: {ok.text[:200]}")
                    if other.status_code not in (200, 404):
                        errors.append(f"{other.status_code}: {other.text[:200]}")
                    seen.add(other.status_code)

        threads = [threading.Thread(target=poll) for _ in range(4)]
        for t in threads:
            t.start()
        started = time.monotonic()
        while time.monotonic() - started < 120 and publisher.poll() is None:
            if seen == {200, 404} and time.monotonic() - started > 15:
                break
            time.sleep(0.5)
        stop.touch()
        for t in threads:
            t.join(timeout=30)
        publisher.wait(timeout=120)
        stats = json.loads(result.read_text())
        loads = httpx.get(f"{base}/readyz").json()["loaded_publishes"]
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    print(f"{requests[0]} requests during {stats['publishes']} publishes, {len(errors)} errors")
    assert stats["error"] is None
    assert stats["publishes"] >= 2  # B, then A again: two swaps under load
    assert errors == []
    assert requests[0] > 200
    assert seen == {200, 404}  # both snapshots were served: the person removed in B disappears and comes back
    assert loads >= 2
    assert gone not in output
    assert stable not in output
