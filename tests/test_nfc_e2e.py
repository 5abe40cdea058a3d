"""nfcpy end to end: nfcpy's real reader-side code (14443-3A activation, RATS, ISO-DEP chaining) through
its ``udp`` driver, against our Type 4A responder in front of a card object in this process."""

from __future__ import annotations

import pytest

from cccd_reader.emulator.nfc_udp import NfcUdpCard
from cccd_reader.errors import CardRemovedError, NoCardError, ReaderNotFoundError
from cccd_reader.transport.nfc import NFCTransport

pytestmark = pytest.mark.nfc


class PatternCard:
    def __init__(self) -> None:
        self.seen: list[bytes] = []
        self.power_offs = 0

    def power_off(self) -> None:
        self.power_offs += 1

    def transmit(self, apdu: bytes) -> bytes:
        self.seen.append(apdu)
        if apdu[1] == 0xB0:
            body = apdu[4:]
            le = (body[0] or 256) if len(body) == 1 else (int.from_bytes(body[1:3], "big") or 65536)
            return bytes(i % 251 for i in range(le)) + b"\x90\x00"
        if apdu[1] == 0xCA:
            return len(apdu).to_bytes(2, "big") + b"\x90\x00"
        return b"\x90\x00"


@pytest.fixture
def udp_card():
    card = PatternCard()
    responder = NfcUdpCard(card, fwi=8).start()
    try:
        yield card, responder
    finally:
        responder.stop()


def test_activation_and_ats(udp_card):
    _card, responder = udp_card
    with NFCTransport(responder.path, timeout=5) as t:
        assert t.uid == responder.uid
        # the ATS we announced, as nfcpy received it (TL 05, T0 78: FSCI 8, TB: FWI 8)
        assert t.ats == bytes([0x05, 0x78, 0x80, 0x80, 0x02])
        assert t.atr[:4] == bytes.fromhex("3B808001")


def test_apdu_exchange_and_chaining_both_ways(udp_card):
    card, responder = udp_card
    with NFCTransport(responder.path, timeout=5) as t:
        select = bytes.fromhex("00A4040C07A0000002471001")
        assert t.transmit(select) == b"\x90\x00"
        assert card.seen[-1] == select
        # extended Le: a 2048-byte answer crosses many ISO-DEP frames (card -> reader chaining)
        r = t.transmit(bytes.fromhex("00B00000000800"))
        assert r[:-2] == bytes(i % 251 for i in range(2048)) and r[-2:] == b"\x90\x00"
        # 300 bytes of command data: reader -> card chaining, which nfcpy's send_apdu would refuse
        cmd = bytes.fromhex("00CA000000012C") + bytes(range(256)) + bytes(44)
        r = t.transmit(cmd)
        assert r == len(cmd).to_bytes(2, "big") + b"\x90\x00"
        assert card.seen[-1] == cmd


def test_tag_loss_then_reconnect(udp_card):
    card, responder = udp_card
    with NFCTransport(responder.path, timeout=5) as t:
        select = bytes.fromhex("00A4040C07A0000002471001")
        assert t.transmit(select) == b"\x90\x00"
        responder.drop_after(1, away=0.2)
        with pytest.raises(CardRemovedError):
            t.transmit(select)
        assert card.power_offs >= 1
        t.reconnect(timeout=5)
        assert t.transmit(select) == b"\x90\x00"


def test_no_card_in_field():
    card = PatternCard()
    responder = NfcUdpCard(card).start()
    responder.remove()
    try:
        with pytest.raises(NoCardError):
            NFCTransport(responder.path, timeout=0.5)
    finally:
        responder.stop()


def test_no_reader_at_path():
    with pytest.raises(ReaderNotFoundError):
        NFCTransport("usb:ffff:ffff", timeout=0.1)


def test_slow_card_gets_waiting_time_extensions():
    import time

    class Slow(PatternCard):
        def transmit(self, apdu: bytes) -> bytes:
            time.sleep(0.4)  # far beyond the 4.8 ms frame waiting time announced (FWI 6)
            return super().transmit(apdu)

    card = Slow()
    with NfcUdpCard(card, fwi=6) as responder, NFCTransport(responder.path, timeout=5) as t:
        assert t.transmit(bytes.fromhex("00A4040C07A0000002471001")) == b"\x90\x00"
        r = t.transmit(bytes.fromhex("00B00000000400"))
        assert r[:-2] == bytes(i % 251 for i in range(1024))
    assert len(card.seen) == 2  # each command ran once: no retransmission executed it twice
