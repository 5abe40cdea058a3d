"""The service with an nfcpy reader: nfcpy's real reader code through its udp driver, in front of the
built-in virtual chip."""

from __future__ import annotations

import pytest
from serve_support import BASE, make_app
from starlette.testclient import TestClient

from cccd_reader.emulator import load_sample, sample_persona, sample_trust_anchor
from cccd_reader.emulator.nfc_udp import NfcUdpCard
from cccd_reader.serve import NFCReaders, ReadService
from cccd_reader.verify import TrustStore

pytestmark = pytest.mark.nfc


def test_read_through_nfcpy() -> None:
    person = sample_persona("an")
    with NfcUdpCard(load_sample("an"), fwi=10) as responder:
        service = ReadService(NFCReaders(responder.path), trust=TrustStore.from_paths(sample_trust_anchor()),
                              wait=5)
        with TestClient(make_app(service), base_url=BASE) as c:
            status = c.get("/v1/status").json()
            assert status["readers"] == [{"name": f"nfc:{responder.path}", "kind": "nfc",
                                          "card_present": False, "busy": False}]
            r = c.post("/v1/read", json={"can": person.can})
            assert r.status_code == 200, r.text
            assert r.json()["record"]["identity"]["full_name"] == person.full_name
            assert r.json()["record"]["security"]["verdict"] == "genuine"
            r = c.post("/v1/read", json={"can": person.can, "reader": "nfc:usb"})
            assert r.status_code == 503
            assert r.json()["error"]["code"] == "no_reader"


def test_no_card_on_the_nfc_reader() -> None:
    with NfcUdpCard(load_sample("an"), fwi=10) as responder:
        responder.remove()
        service = ReadService(NFCReaders(responder.path), wait=0.5)
        with TestClient(make_app(service), base_url=BASE) as c:
            r = c.post("/v1/read", json={"can": "123456"})
            assert r.status_code == 504
            assert r.json()["error"]["code"] == "no_card"
