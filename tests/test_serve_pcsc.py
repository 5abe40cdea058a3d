"""The service over the real PC/SC stack (pcscd + the vpcd virtual reader): the card taken away mid-read,
a second request while a read runs, another program holding the card, wrong CANs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from pcsc_support import card_on
from serve_support import ALLOWED, BASE, WS, make_app
from starlette.testclient import TestClient

from cccd_reader.emulator import Delay, load_sample, sample_persona, sample_trust_anchor
from cccd_reader.serve import PCSCReaders, ReadService, RefusalLimiter
from cccd_reader.transport.pcsc import PCSCTransport
from cccd_reader.verify import TrustStore

pytestmark = pytest.mark.pcsc


@pytest.fixture
def service(pcsc_reader: Any) -> Iterator[ReadService]:
    yield ReadService(PCSCReaders(pcsc_reader.name), trust=TrustStore.from_paths(sample_trust_anchor()),
                      wait=5, recovery_timeout=0.5, limiter=RefusalLimiter(allowed=3, base_lock=30))


def test_read_over_pcsc(pcsc_reader: Any, service: ReadService) -> None:
    person = sample_persona("an")
    with card_on(pcsc_reader, load_sample("an")), TestClient(make_app(service), base_url=BASE) as c:
        status = c.get("/v1/status").json()
        assert status["readers"] == [{"name": pcsc_reader.name, "kind": "pcsc", "card_present": True,
                                      "busy": False}]
        r = c.post("/v1/read", json={"qr": person.qr_payload(), "portrait": True})
        assert r.status_code == 200, r.text
        record = r.json()["record"]
        assert record["identity"]["full_name"] == person.full_name
        assert record["security"]["verdict"] == "genuine"
        assert record["portrait"]["image_base64"]


def test_card_taken_away_mid_read(pcsc_reader: Any, service: ReadService) -> None:
    person = sample_persona("an")
    with card_on(pcsc_reader, load_sample("an")), TestClient(make_app(service), base_url=BASE) as c, \
            c.websocket_connect(WS, headers={"origin": ALLOWED}) as ws:
        assert ws.receive_json()["type"] == "hello"
        seen = [0]

        def take_away(apdu: bytes) -> None:
            seen[0] += 1
            if seen[0] == 12:
                threading.Thread(target=pcsc_reader.bridge.remove, daemon=True).start()

        pcsc_reader.bridge.on_apdu = take_away
        r = c.post("/v1/read", json={"can": person.can})
        pcsc_reader.bridge.on_apdu = None
        assert r.status_code == 502, r.text
        assert r.json()["error"]["code"] == "card_removed"
        assert r.json()["record"]["complete"] is False
        kinds: list[str] = []
        while not {"card_removed", "error"} <= set(kinds):  # the page hears of both, in either order
            kinds.append(ws.receive_json()["type"])
        assert kinds.index("read_started") < kinds.index("error")
        assert c.get("/v1/status").json()["readers"][0]["busy"] is False


def test_card_lifted_and_put_back_is_recovered(pcsc_reader: Any, pcscd_service: Any) -> None:
    person = sample_persona("an")
    service = ReadService(PCSCReaders(pcsc_reader.name), trust=TrustStore.from_paths(sample_trust_anchor()),
                          wait=5, recovery_timeout=15)
    with card_on(pcsc_reader, load_sample("an")), TestClient(make_app(service), base_url=BASE) as c:
        pcsc_reader.bridge.drop_after(14, away=0.6)
        r = c.post("/v1/read", json={"can": person.can})
        assert r.status_code == 200, r.text
        assert r.json()["record"]["stats"]["recoveries"] >= 1
        assert r.json()["record"]["security"]["verdict"] == "genuine"


def test_second_request_while_reading_is_busy(pcsc_reader: Any, service: ReadService) -> None:
    person = sample_persona("an")
    slow = load_sample("an", faults=(Delay(0.05),))
    results: dict[str, Any] = {}
    with card_on(pcsc_reader, slow), TestClient(make_app(service), base_url=BASE) as c:
        started = threading.Event()
        pcsc_reader.bridge.on_apdu = lambda apdu: started.set()
        first = threading.Thread(
            target=lambda: results.update(r=c.post("/v1/read", json={"can": person.can})))
        first.start()
        assert started.wait(10)
        r = c.post("/v1/read", json={"can": person.can})
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "busy"
        first.join(60)
        pcsc_reader.bridge.on_apdu = None
        assert results["r"].status_code == 200, results["r"].text


def test_another_program_holding_the_card_means_busy(pcsc_reader: Any, service: ReadService) -> None:
    person = sample_persona("an")
    with card_on(pcsc_reader, load_sample("an")), TestClient(make_app(service), base_url=BASE) as c:
        with PCSCTransport(pcsc_reader.name, timeout=5, exclusive=True):
            r = c.post("/v1/read", json={"can": person.can})
            assert r.status_code == 409
            assert r.json()["error"]["code"] == "busy"
        assert c.post("/v1/read", json={"can": person.can}).status_code == 200


def test_wrong_can_over_pcsc_is_limited(pcsc_reader: Any, service: ReadService) -> None:
    person = sample_persona("an")
    wrong = "000000" if person.can != "000000" else "111111"
    with card_on(pcsc_reader, load_sample("an")), TestClient(make_app(service), base_url=BASE) as c:
        for _ in range(3):
            r = c.post("/v1/read", json={"can": wrong})
            assert r.status_code == 422
            assert r.json()["error"]["code"] == "access_denied"
        before = pcsc_reader.bridge.apdu_count
        r = c.post("/v1/read", json={"can": person.can})
        assert r.status_code == 429
        assert pcsc_reader.bridge.apdu_count == before
