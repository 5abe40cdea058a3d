"""Every endpoint and security rule of ``cccd-read serve``, through the stack's test client and the
in-process virtual chip."""

from __future__ import annotations

import base64
import logging
import threading
import time
from typing import Any

import pytest
from serve_support import ALLOWED, BASE, OTHER, WS, Gate, ScriptedCard, make_app, make_service, persona
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from cccd_reader.emulator import load_sample
from cccd_reader.errors import ReaderNotFoundError
from cccd_reader.serve import PCSCReaders, ReadService, RefusalLimiter


def client(app: Any) -> TestClient:
    return TestClient(app, base_url=BASE)


def events_until(ws: Any, kind: str, limit: int = 400) -> list[dict[str, Any]]:
    seen = []
    for _ in range(limit):
        event = ws.receive_json()
        seen.append(event)
        if event["type"] == kind:
            return seen
    raise AssertionError(f"no {kind} event in {limit} events: {[e['type'] for e in seen]}")


# --- status, read, result -----------------------------------------------------------------------------------


def test_status_lists_the_reader_and_the_card() -> None:
    service, reader = make_service()
    with client(make_app(service)) as c:
        body = c.get("/v1/status").json()
        assert body["protocol"] == 1
        assert body["service"] == "cccd-reader"
        assert body["readers"] == [{"name": "Virtual chip 0", "kind": "emulator", "card_present": True,
                                    "busy": False}]
        assert body["card_present"] is True
        reader.remove()
        body = c.get("/v1/status").json()
        assert body["card_present"] is False
        assert body["readers"][0]["card_present"] is False


def test_read_with_the_can() -> None:
    p = persona()
    service, _ = make_service()
    with client(make_app(service)) as c:
        r = c.post("/v1/read", json={"can": p.can})
        assert r.status_code == 200, r.text
        record = r.json()["record"]
        assert record["identity"]["id_number"] == p.id_number
        assert record["identity"]["full_name"] == p.full_name
        assert record["identity"]["date_of_birth"] == p.date_of_birth.isoformat()
        assert record["security"]["verdict"] == "genuine"
        assert record["security"]["access"]["key"] == "CAN"
        # the portrait only when asked for: its description stays, the image does not
        assert record["portrait"]["image_base64"] is None
        assert r.json()["reader"] == "Virtual chip 0"


def test_read_with_the_portrait() -> None:
    p = persona()
    service, _ = make_service()
    with client(make_app(service)) as c:
        r = c.post("/v1/read", json={"can": p.id_number, "portrait": True})  # the whole ID gives the CAN
        assert r.status_code == 200, r.text
        image = base64.b64decode(r.json()["record"]["portrait"]["image_base64"])
        assert image[:3] == b"\xff\xd8\xff"
        assert image == p.portrait_path.read_bytes()


def test_read_with_the_qr_text_checks_the_qr_against_the_chip() -> None:
    p = persona("an")
    service, _ = make_service("an")
    with client(make_app(service)) as c:
        r = c.post("/v1/read", json={"qr": p.qr_payload()})
        assert r.status_code == 200, r.text
        sec = r.json()["record"]["security"]
        assert sec["qr_matches_chip"] is True
        assert sec["qr_mismatches"] == []
        assert r.json()["record"]["identity"]["id_number"] == p.id_number


def test_read_with_mrz_fields() -> None:
    p = persona()
    service, _ = make_service()
    body = {"mrz": {"document_number": p.document_number, "date_of_birth": p.date_of_birth.isoformat(),
                    "date_of_expiry": p.expiry_date.isoformat() if p.expiry_date else None}}
    with client(make_app(service)) as c:
        r = c.post("/v1/read", json=body)
        assert r.status_code == 200, r.text
        assert r.json()["record"]["security"]["access"]["key"] == "MRZ"


def test_read_only_some_files() -> None:
    p = persona()
    service, _ = make_service()
    with client(make_app(service)) as c:
        r = c.post("/v1/read", json={"can": p.can, "files": ["DG13"]})
        assert r.status_code == 200, r.text
        files = r.json()["record"]["files_read"]
        assert "DG13" in files and "DG2" not in files


def test_last_result_kept_until_deleted() -> None:
    p = persona()
    service, _ = make_service()
    with client(make_app(service)) as c:
        assert c.get("/v1/result").status_code == 404
        first = c.post("/v1/read", json={"can": p.can}).json()
        assert c.get("/v1/result").json() == first
        assert c.get("/v1/status").json()["last_read"] == first["read_id"]
        assert c.delete("/v1/result").status_code == 204
        assert c.get("/v1/result").status_code == 404


def test_last_result_forgotten_when_the_card_leaves() -> None:
    p = persona()
    service, reader = make_service()
    with client(make_app(service)) as c:
        c.post("/v1/read", json={"can": p.can})
        assert c.get("/v1/result").status_code == 200
        reader.remove()
        c.get("/v1/status")
        assert c.get("/v1/result").status_code == 404


@pytest.mark.parametrize("body, fragment", [
    ({}, "exactly one access key"),
    ({"can": "123456", "qr": "x"}, "exactly one access key"),
    ({"can": "12345"}, "6 digits"),
    ({"can": 123456}, "6 digits"),
    ({"qr": "not a payload"}, ""),
    ({"mrz": {"document_number": "1"}}, "ISO dates"),
    ({"can": "123456", "files": "DG1"}, "list of file names"),
    ({"can": "123456", "files": ["DG99x"]}, "unknown file"),
    ({"can": "123456", "portrait": "yes"}, "true or false"),
    ({"can": "123456", "wait": 999}, "seconds"),
    ({"can": "123456", "access": "guess"}, "'auto'"),
    ({"can": "123456", "admin": True}, "unknown field"),
    ([1, 2], "JSON object"),
])
def test_bad_requests(body: Any, fragment: str) -> None:
    service, _ = make_service()
    with client(make_app(service)) as c:
        r = c.post("/v1/read", json=body)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "bad_input"
        assert fragment in r.json()["error"]["message"]


def test_bad_bodies() -> None:
    service, _ = make_service()
    with client(make_app(service)) as c:
        r = c.post("/v1/read", content=b'{"can": "123456"}', headers={"content-type": "text/plain"})
        assert r.status_code == 415  # a cross-origin page must go through a CORS preflight
        r = c.post("/v1/read", content=b"{nope", headers={"content-type": "application/json"})
        assert r.status_code == 400
        r = c.post("/v1/read", content=b"[" * 70000, headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert c.get("/v1/read").status_code == 405


def test_no_card() -> None:
    service, reader = make_service()
    reader.remove()
    with client(make_app(service)) as c:
        r = c.post("/v1/read", json={"can": "123456", "wait": 0})
        assert r.status_code == 504
        assert r.json()["error"]["code"] == "no_card"


def test_waits_for_the_card() -> None:
    p = persona()
    card = load_sample("an")
    service, reader = make_service()
    reader.remove()
    threading.Timer(0.3, reader.place, args=(card,)).start()
    with client(make_app(service)) as c:
        r = c.post("/v1/read", json={"can": p.can, "wait": 10})
        assert r.status_code == 200, r.text


# --- Host, Origin, CORS, Private Network Access, token ------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8731", "127.0.0.1.nip.io:8731",
                                  "192.168.1.5:8731"])
def test_foreign_host_is_refused(host: str) -> None:
    card = ScriptedCard(load_sample("an"))
    service, _ = make_service(card=card)
    with client(make_app(service)) as c:
        for method, path in (("GET", "/v1/status"), ("POST", "/v1/read"), ("GET", "/")):
            r = c.request(method, path, headers={"host": host}, json={"can": persona().can})
            assert r.status_code == 403
            assert r.json()["error"]["code"] == "forbidden_host"
    assert card.apdus == 0


@pytest.mark.parametrize("host", ["localhost:8731", "[::1]:8731", "127.0.0.1:8731"])
def test_loopback_hosts_are_served(host: str) -> None:
    service, _ = make_service()
    with client(make_app(service)) as c:
        assert c.get("/v1/status", headers={"host": host}).status_code == 200


def test_other_origin_is_refused_before_the_card_is_touched() -> None:
    card = ScriptedCard(load_sample("an"))
    service, _ = make_service(card=card)
    with client(make_app(service)) as c:
        for origin in (OTHER, "null", "http://127.0.0.1:9999", "http://desk.example.vn"):
            r = c.post("/v1/read", json={"can": persona().can}, headers={"origin": origin})
            assert r.status_code == 403
            assert r.json()["error"]["code"] == "forbidden_origin"
            assert "access-control-allow-origin" not in r.headers
            r = c.get("/v1/status", headers={"origin": origin})
            assert r.status_code == 403
            r = c.get("/v1/result", headers={"origin": origin})
            assert r.status_code == 403
    assert card.apdus == 0


def test_allowed_origin_gets_its_own_name_back() -> None:
    service, _ = make_service()
    with client(make_app(service)) as c:
        r = c.post("/v1/read", json={"can": persona().can}, headers={"origin": ALLOWED})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == ALLOWED
        assert "Origin" in r.headers["vary"]
        assert r.headers["cache-control"] == "no-store"
        # the service's own page (same origin) is allowed too
        r = c.get("/v1/status", headers={"origin": BASE})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == BASE


def test_preflight_and_private_network_access() -> None:
    service, _ = make_service()
    request_headers = {"access-control-request-method": "POST",
                       "access-control-request-headers": "content-type",
                       "access-control-request-private-network": "true"}
    with client(make_app(service)) as c:
        r = c.options("/v1/read", headers={**request_headers, "origin": ALLOWED})
        assert r.status_code == 204
        assert r.headers["access-control-allow-origin"] == ALLOWED
        assert r.headers["access-control-allow-private-network"] == "true"
        assert "POST" in r.headers["access-control-allow-methods"]
        assert "content-type" in r.headers["access-control-allow-headers"]

        r = c.options("/v1/read", headers={**request_headers, "origin": OTHER})
        assert r.status_code == 403
        assert "access-control-allow-private-network" not in r.headers
        assert "access-control-allow-origin" not in r.headers

        r = c.options("/v1/read", headers={"access-control-request-method": "POST", "origin": ALLOWED})
        assert r.status_code == 204
        assert "access-control-allow-private-network" not in r.headers  # not asked, not given


def test_token() -> None:
    service, _ = make_service()
    with client(make_app(service, token="desk-secret")) as c:
        r = c.get("/v1/status")
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthorized"
        assert c.get("/v1/status", headers={"authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/v1/status", headers={"authorization": "Bearer desk-secret"}).status_code == 200
        assert c.get("/v1/status", headers={"x-cccd-token": "desk-secret"}).status_code == 200
        r = c.post("/v1/read", json={"can": persona().can}, headers={"origin": ALLOWED})
        assert r.status_code == 401
        # the demo page itself is public (it asks for the token); the preflight carries no token
        assert c.get("/").status_code == 200
        r = c.options("/v1/read", headers={"origin": ALLOWED, "access-control-request-method": "POST"})
        assert r.status_code == 204
        with pytest.raises(WebSocketDisconnect), c.websocket_connect(WS, headers={"origin": ALLOWED}):
            pass
        with c.websocket_connect(WS + "?token=desk-secret", headers={"origin": ALLOWED}) as ws:
            assert ws.receive_json()["type"] == "hello"


def test_websocket_refuses_other_origins_and_hosts() -> None:
    service, _ = make_service()
    with client(make_app(service)) as c:
        with pytest.raises(WebSocketDisconnect) as info, \
                c.websocket_connect(WS, headers={"origin": OTHER}):
            pass
        assert info.value.code == 1008
        with pytest.raises(WebSocketDisconnect), c.websocket_connect(
                "ws://evil.example:8731/v1/events", headers={"origin": ALLOWED}):
            pass
        assert service.hub.subscribers == 0


def test_demo_page_headers() -> None:
    service, _ = make_service()
    with client(make_app(service)) as c:
        r = c.get("/")
        assert r.status_code == 200
        assert str(r.url) == BASE + "/demo/"
        assert "text/html" in r.headers["content-type"]
        assert 'id="verdict"' in r.text
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY"
        assert c.get("/demo/demo.js").status_code == 200


# --- events -------------------------------------------------------------------------------------------------


def test_events_of_a_read() -> None:
    p = persona()
    service, _ = make_service()
    with client(make_app(service)) as c, c.websocket_connect(WS, headers={"origin": ALLOWED}) as ws:
        hello = ws.receive_json()
        assert hello["type"] == "hello"
        assert hello["protocol"] == 1
        assert hello["status"]["readers"][0]["card_present"] is True
        r = c.post("/v1/read", json={"can": p.can})
        assert r.status_code == 200
        seen = events_until(ws, "record")
        kinds = [e["type"] for e in seen]
        assert kinds.index("read_started") < kinds.index("progress") < kinds.index("record")
        steps = [e["step"] for e in seen if e["type"] == "progress" and e["event"] == "done"]
        assert steps[:3] == ["probe", "card_access", "access"]
        assert any(e["type"] == "progress" and e["event"] == "bytes" and e["file"] == "DG2" for e in seen)
        record_event = seen[-1]
        assert record_event["read_id"] == r.json()["read_id"]
        assert record_event["record"]["identity"]["full_name"] == p.full_name
        seqs = [e["seq"] for e in seen]
        assert seqs == sorted(seqs)


def test_events_of_cards_and_readers() -> None:
    service, reader = make_service()
    with client(make_app(service)) as c, c.websocket_connect(WS, headers={"origin": ALLOWED}) as ws:
        ws.receive_json()
        reader.remove()
        assert events_until(ws, "card_removed")[-1]["reader"] == "Virtual chip 0"
        reader.place(load_sample("an"))
        assert events_until(ws, "card_placed")[-1]["reader"] == "Virtual chip 0"
        reader.unplug()
        events_until(ws, "reader_removed")
        reader.plug()
        assert events_until(ws, "reader_added")[-1]["kind"] == "emulator"
        assert c.get("/v1/status").status_code == 200


# --- one read per reader, wrong keys, removal, unplugging ---------------------------------------------------


def test_second_concurrent_read_is_busy() -> None:
    p = persona()
    gate = Gate()
    card = ScriptedCard(load_sample("an"), gate)
    service, _ = make_service(card=card)
    results: dict[str, Any] = {}
    with client(make_app(service)) as c:
        first = threading.Thread(target=lambda: results.update(first=c.post("/v1/read", json={"can": p.can})))
        first.start()
        assert gate.entered.wait(10)
        apdus_before = card.apdus
        r = c.post("/v1/read", json={"can": p.can})
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "busy"
        assert c.get("/v1/status").json()["readers"][0]["busy"] is True
        assert card.apdus == apdus_before  # the second request never reached the card
        gate.open()
        first.join(30)
        assert results["first"].status_code == 200
        assert results["first"].json()["record"]["security"]["verdict"] == "genuine"
        assert c.get("/v1/status").json()["readers"][0]["busy"] is False
        assert c.post("/v1/read", json={"can": p.can}).status_code == 200


def test_wrong_can_then_rate_limited_per_card() -> None:
    p = persona()
    card = ScriptedCard(load_sample("an"))
    service, reader = make_service(card=card, limiter=RefusalLimiter(allowed=3, base_lock=30))
    wrong = "000000" if p.can != "000000" else "111111"
    with client(make_app(service)) as c:
        for _ in range(3):
            r = c.post("/v1/read", json={"can": wrong})
            assert r.status_code == 422
            body = r.json()
            assert body["error"]["code"] == "access_denied"
            assert body["error"]["step"] == "access"
            assert body["record"]["identity"] is None
            assert wrong not in r.text
        touched = card.apdus
        r = c.post("/v1/read", json={"can": p.can})  # even the right key waits: the card is locked
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(r.headers["retry-after"]) <= 30
        assert card.apdus == touched  # a locked card is not asked at all
        # a person takes the card off and puts it back: a new placement, a new count
        reader.remove()
        c.get("/v1/status")
        reader.place(card)
        r = c.post("/v1/read", json={"can": p.can})
        assert r.status_code == 200, r.text


def test_rate_limit_of_a_qr_payload_counts_every_key() -> None:
    p = persona()
    service, _ = make_service(limiter=RefusalLimiter(allowed=3, base_lock=30))
    wrong_qr = p.qr_payload().replace(p.id_number, p.id_number[:-6] + ("000000" if p.can != "000000"
                                                                         else "111111"))
    with client(make_app(service)) as c:
        r = c.post("/v1/read", json={"qr": wrong_qr})  # the CAN and the MRZ key: two refused keys
        assert r.status_code == 422
        assert r.json()["record"]["security"]["access"]["keys_tried"] == 2
        r = c.post("/v1/read", json={"can": wrong_qr.split("|")[0][-6:]})  # the third
        assert r.status_code == 422
        assert c.post("/v1/read", json={"can": p.can}).status_code == 429


def test_card_removed_mid_read() -> None:
    p = persona()
    service, reader = make_service(recovery_timeout=0.3)

    def take_away(n: int) -> None:
        if n == 12:
            reader.remove()

    card = ScriptedCard(load_sample("an"), take_away)
    reader.place(card)
    with client(make_app(service)) as c, c.websocket_connect(WS, headers={"origin": ALLOWED}) as ws:
        ws.receive_json()
        r = c.post("/v1/read", json={"can": p.can})
        assert r.status_code == 502
        body = r.json()
        assert body["error"]["code"] == "card_removed"
        assert body["error"]["step"] in ("access", "files")
        assert body["record"]["complete"] is False
        seen = events_until(ws, "error")
        assert seen[-1]["error"]["code"] == "card_removed"
        assert c.get("/v1/status").json()["readers"][0]["busy"] is False


def test_card_removed_and_put_back_mid_read_recovers() -> None:
    p = persona()
    service, reader = make_service(recovery_timeout=10)
    card_holder: dict[str, Any] = {}

    def lift(n: int) -> None:
        if n == 14:
            reader.remove()
            card_holder["card"].card.power_off()
            threading.Timer(0.3, reader.place, args=(card_holder["card"],)).start()

    card_holder["card"] = ScriptedCard(load_sample("an"), lift)
    reader.place(card_holder["card"])
    with client(make_app(service)) as c:
        r = c.post("/v1/read", json={"can": p.can})
        assert r.status_code == 200, r.text
        assert r.json()["record"]["stats"]["recoveries"] >= 1
        assert r.json()["record"]["security"]["verdict"] == "genuine"


def test_reader_unplugged_while_serving() -> None:
    p = persona()
    service, reader = make_service()

    def unplug(n: int) -> None:
        if n == 10:
            reader.unplug()

    reader.place(ScriptedCard(load_sample("an"), unplug))
    with client(make_app(service)) as c:
        r = c.post("/v1/read", json={"can": p.can})
        assert r.status_code in (502, 503)
        assert r.json()["error"]["code"] in ("no_reader", "card_removed")
        status = c.get("/v1/status").json()
        assert status["readers"] == []
        r = c.post("/v1/read", json={"can": p.can})
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "no_reader"
        reader.plug()
        reader.place(load_sample("an"))
        assert c.post("/v1/read", json={"can": p.can}).status_code == 200


def test_pcsc_service_gone() -> None:
    """The PC/SC service stops (or the last reader is unplugged): status says so, reads say no_reader."""
    def lister() -> list[Any]:
        raise ReaderNotFoundError("cannot reach the PC/SC service; is the PC/SC service (pcscd) running?")

    service = ReadService(PCSCReaders(lister=lister))
    with client(make_app(service)) as c:
        body = c.get("/v1/status").json()
        assert body["readers"] == []
        assert body["reader_service"] == "unavailable"
        assert "pcscd" in body["problem"]
        r = c.post("/v1/read", json={"can": "123456"})
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "no_reader"


# --- logs ---------------------------------------------------------------------------------------------------


def test_no_personal_data_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    p = persona()
    service, reader = make_service(limiter=RefusalLimiter(allowed=2, base_lock=30))
    secrets = [p.id_number, p.full_name, p.can, p.date_of_birth.isoformat(),
               p.date_of_birth.strftime("%d%m%Y"), p.document_number, p.address]
    caplog.set_level(logging.DEBUG)
    with client(make_app(service)) as c:
        assert c.post("/v1/read", json={"can": p.can, "portrait": True}).status_code == 200
        c.post("/v1/read", json={"qr": p.qr_payload(), "reader": "nope"})
        c.post("/v1/read", json={"can": "999999" if p.can != "999999" else "888888"})
        c.post("/v1/read", json={"can": "999999" if p.can != "999999" else "888888"})
        c.post("/v1/read", json={"can": p.can})  # rate limited
        c.post("/v1/read", json={"can": p.can}, headers={"origin": OTHER})
        reader.remove()
        c.post("/v1/read", json={"qr": p.qr_payload()})
        time.sleep(0.1)
    text = caplog.text
    assert "cccd_reader.serve" in {r.name for r in caplog.records}
    assert "refused a request from origin" in text
    assert "verdict genuine" in text
    for secret in secrets:
        assert secret not in text


def test_monitor_survives_a_failing_look_at_the_readers(caplog: pytest.LogCaptureFixture) -> None:
    service, reader = make_service()
    real_list = service.backend.list
    calls = {"n": 0}

    def flaky() -> list[Any]:
        calls["n"] += 1
        if calls["n"] <= 3:
            raise RuntimeError("driver hiccup")
        return real_list()

    service.backend.list = flaky  # type: ignore[method-assign]
    with client(make_app(service)) as c, c.websocket_connect(WS, headers={"origin": ALLOWED}) as ws:
        time.sleep(0.3)  # the monitor looks every 0.05 s here: the failures are behind us
        assert ws.receive_json()["type"] in ("hello", "reader_added", "card_placed")
        reader.remove()
        assert events_until(ws, "card_removed")[-1]["reader"] == "Virtual chip 0"
    assert "listing the readers failed: RuntimeError" in caplog.text
