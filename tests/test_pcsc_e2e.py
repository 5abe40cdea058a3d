"""PC/SC end to end: pyscard -> libpcsclite -> pcscd -> vpcd -> our bridge -> a card object in this process.

The transport tests use a tiny scripted card; the read tests put the virtual CCCD chip behind the same
reader. All are marked ``pcsc`` (one pcscd per machine, serialised through the slot lock).
"""

from __future__ import annotations

import hashlib
import time

import pytest
from pcsc_support import card_on

from cccd_reader.errors import CardRemovedError, NoCardError, ReaderNotFoundError
from cccd_reader.transport.pcsc import PCSCTransport, list_readers, map_error, select_reader

pytestmark = pytest.mark.pcsc


class EchoCard:
    """Answers SELECT with 9000, READ BINARY with a deterministic pattern of the asked length, and
    anything with INS CA with the command data reversed; counts power cycles."""

    def __init__(self) -> None:
        self.atr = bytes.fromhex("3B80800101")
        self.power_ons = 0
        self.power_offs = 0
        self.seen: list[bytes] = []

    def power_on(self) -> None:
        self.power_ons += 1

    def power_off(self) -> None:
        self.power_offs += 1

    def reset(self) -> None:
        self.power_ons += 1

    def transmit(self, apdu: bytes) -> bytes:
        self.seen.append(apdu)
        ins = apdu[1]
        if ins == 0xB0:
            body = apdu[4:]
            le = (body[0] or 256) if len(body) == 1 else (int.from_bytes(body[1:3], "big") or 65536)
            offset = int.from_bytes(apdu[2:4], "big")
            return bytes((offset + i) % 251 for i in range(le)) + b"\x90\x00"
        if ins == 0xCA:
            lc = apdu[4] if apdu[4] else int.from_bytes(apdu[5:7], "big")
            data = apdu[5:5 + lc] if apdu[4] else apdu[7:7 + lc]
            return data[::-1] + b"\x90\x00"
        if ins == 0xC0:
            return b"\x6d\x00"
        return b"\x90\x00"


def test_readers_listed_with_card_and_atr(pcsc_reader):
    card = EchoCard()
    with card_on(pcsc_reader, card):
        infos = {r.name: r for r in list_readers()}
        assert pcsc_reader.name in infos
        assert infos[pcsc_reader.name].card_present
        assert infos[pcsc_reader.name].atr == bytes.fromhex("3B80800101")


def test_connect_transmit_t1(pcsc_reader):
    card = EchoCard()
    with card_on(pcsc_reader, card), PCSCTransport(pcsc_reader.name, timeout=5) as t:
        assert t.protocol == "T=1"  # the contactless ATR 3B 80 80 01 01 gives T=1
        assert t.atr == bytes.fromhex("3B80800101")
        select = bytes.fromhex("00A4040C07A0000002471001")
        assert t.transmit(select) == b"\x90\x00"
        assert card.seen[-1] == select  # the bytes reached the card unchanged


def test_extended_length_both_directions(pcsc_reader):
    card = EchoCard()
    with card_on(pcsc_reader, card), PCSCTransport(pcsc_reader.name, timeout=5) as t:
        # extended Le: 4000 bytes in one response
        r = t.transmit(bytes.fromhex("00B00000000FA0"))
        assert r[-2:] == b"\x90\x00"
        assert r[:-2] == bytes(i % 251 for i in range(4000))
        assert t.extended_length is True
        # extended Lc: 1000 bytes of command data
        payload = hashlib.sha256(b"x").digest() * 31 + b"abcdefgh"
        cmd = b"\x00\xca\x00\x00\x00" + len(payload).to_bytes(2, "big") + payload + b"\x00\x00"
        r = t.transmit(cmd)
        assert r[:-2] == payload[::-1]


def test_reader_selection_by_index_and_substring(pcsc_reader):
    names = ["ACS ACR1252 1S CL Reader PICC 0", "Virtual PCD 00 00", "Virtual PCD 00 01"]
    assert select_reader(names, "1") == ["Virtual PCD 00 00"]
    assert select_reader(names, "acr1252") == ["ACS ACR1252 1S CL Reader PICC 0"]
    assert select_reader(names, "Virtual PCD 00 01") == ["Virtual PCD 00 01"]
    assert select_reader(names, None) == names
    assert select_reader(names, "omnikey") == []
    with pytest.raises(ReaderNotFoundError):
        PCSCTransport("no such reader anywhere", timeout=0)


def test_no_card_in_time(pcsc_reader):
    pcsc_reader.bridge.remove()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not any(r.name == pcsc_reader.name and r.card_present for r in list_readers()):
                break
            time.sleep(0.05)
        with pytest.raises(NoCardError):
            PCSCTransport(pcsc_reader.name, timeout=0.3)
    finally:
        pcsc_reader.bridge.insert()
        pcsc_reader.wait_present()


def test_tag_loss_is_card_removed_and_reconnect_works(pcsc_reader):
    card = EchoCard()
    with card_on(pcsc_reader, card), PCSCTransport(pcsc_reader.name, timeout=5) as t:
        select = bytes.fromhex("00A4040C07A0000002471001")
        assert t.transmit(select) == b"\x90\x00"
        offs = card.power_offs
        pcsc_reader.bridge.drop_after(1, away=0.6)
        with pytest.raises(CardRemovedError):
            t.transmit(select)
        assert card.power_offs == offs + 1  # the card lost power with the field
        # the card comes back by itself: reconnect within the documented bound, then it answers again
        deadline = time.monotonic() + 10
        while True:
            t.reconnect(timeout=5)
            try:
                assert t.transmit(select) == b"\x90\x00"
                break
            except CardRemovedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def test_pcsc_error_mapping():
    from smartcard import scard

    assert isinstance(map_error(scard.SCARD_E_NO_SERVICE, "x"), ReaderNotFoundError)
    assert isinstance(map_error(scard.SCARD_W_REMOVED_CARD, "x"), CardRemovedError)
    assert isinstance(map_error(scard.SCARD_E_NO_SMARTCARD, "x"), NoCardError)
    assert isinstance(map_error(scard.SCARD_E_NO_SMARTCARD, "x", connected=True), CardRemovedError)
    from cccd_reader.errors import ReaderBusyError

    assert isinstance(map_error(scard.SCARD_E_SHARING_VIOLATION, "x"), ReaderBusyError)


def test_link_parameters_are_what_the_driver_reports(pcsc_reader, monkeypatch):
    card = EchoCard()
    with card_on(pcsc_reader, card), PCSCTransport(pcsc_reader.name, timeout=5) as t:
        reported = t.link_parameters()
        # whatever vpcd answers is decoded as integers; nothing is invented for what it does not answer
        assert all(isinstance(v, int) for v in reported.values())
        assert set(reported) <= {name for name, _attr in PCSCTransport._LINK_ATTRIBUTES}
        import smartcard.scard as scard

        answers = {scard.SCARD_ATTR_CURRENT_D: [4, 0, 0, 0], scard.SCARD_ATTR_CURRENT_IFSC: [0xFE, 0, 0, 0],
                   scard.SCARD_ATTR_MAX_DATA_RATE: list((424_000).to_bytes(4, "little"))}

        def fake(hcard, attribute):
            if attribute in answers:
                return scard.SCARD_S_SUCCESS, answers[attribute]
            return scard.SCARD_E_UNSUPPORTED_FEATURE, []

        monkeypatch.setattr(scard, "SCardGetAttrib", fake)
        assert t.link_parameters() == {"current_d": 4, "ifsc": 254, "max_data_rate_bps": 424_000}
