"""nfcpy bit-rate negotiation: PPS to the highest rate card and reader share, with a clean fallback.

nfcpy's real reader-side code over its ``udp`` driver, against our Type 4A responder announcing higher
rates in its ATS (TA(1)) and switching on PPS as a card does (emulator/nfc_udp.py).
"""

from __future__ import annotations

import pytest

from cccd_reader.emulator import load_sample
from cccd_reader.emulator.nfc_udp import NfcUdpCard
from cccd_reader.emulator.samples import sample_qr_payload
from cccd_reader.qr.payload import parse_qr_payload
from cccd_reader.read import read_card
from cccd_reader.transport import nfc as nfc_transport
from cccd_reader.transport.nfc import NFCTransport

pytestmark = pytest.mark.nfc


class EchoCard:
    def __init__(self) -> None:
        self.power_offs = 0

    def power_off(self) -> None:
        self.power_offs += 1

    def transmit(self, apdu: bytes) -> bytes:
        return b"\x90\x00"


@pytest.mark.parametrize(("card_rates", "limit", "expected"), [
    ((106, 212, 424, 848), 848, 848),
    ((106, 212, 424), 848, 424),
    ((106, 212), 848, 212),
    ((106, 212, 424, 848), 424, 424),  # the caller's ceiling
    ((106, 212, 424, 848), 106, 106),  # negotiation off
    ((106,), 848, 106),  # the card announces nothing above 106
])
def test_the_highest_common_rate_is_negotiated(card_rates: tuple[int, ...], limit: int,
                                               expected: int) -> None:
    card = EchoCard()
    with NfcUdpCard(card, fwi=8, bit_rates=card_rates) as responder, \
            NFCTransport(responder.path, timeout=5, max_bit_rate=limit) as t:
        assert t.bit_rate == expected
        assert t.frame_size == 256
        assert t.transmit(bytes.fromhex("00A4040C07A0000002471001")) == b"\x90\x00"
        assert responder.apdu_rates == [f"{expected}A"]  # the APDU travelled at that rate
        assert t.bit_rate_note == ""
        assert card.power_offs == 0  # no re-activation was needed


def test_the_reader_limits_the_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(nfc_transport.READER_BIT_RATES, "udp", (106, 212))
    with NfcUdpCard(EchoCard(), fwi=8, bit_rates=(106, 212, 424, 848)) as responder, \
            NFCTransport(responder.path, timeout=5) as t:
        assert t.bit_rate == 212
    monkeypatch.setitem(nfc_transport.READER_BIT_RATES, "udp", (106,))
    with NfcUdpCard(EchoCard(), fwi=8, bit_rates=(106, 424)) as responder, \
            NFCTransport(responder.path, timeout=5) as t:
        assert t.bit_rate == 106
        assert "424 kbit/s" in t.bit_rate_note and "106 kbit/s" in t.bit_rate_note


@pytest.mark.parametrize(("pps", "why"), [("silent", "did not accept"), ("stuck", "link failed")])
def test_a_refused_or_broken_rate_falls_back_to_106(pps: str, why: str) -> None:
    card = load_sample("an")
    key = parse_qr_payload(sample_qr_payload("an"))
    with NfcUdpCard(card, fwi=8, bit_rates=(106, 424), pps=pps) as responder, \
            NFCTransport(responder.path, timeout=5) as t:
        assert t.bit_rate == 106
        assert why in t.bit_rate_note
        record = read_card(t, key)
        assert record.complete
        assert set(responder.apdu_rates) == {"106A"}
        # a later re-activation (after a tag loss) does not try the failed rate again
        t.reconnect(timeout=5)
        assert t.bit_rate == 106 and t.max_bit_rate == 106


def test_a_full_read_at_848_and_after_a_tag_loss() -> None:
    card = load_sample("an")
    key = parse_qr_payload(sample_qr_payload("an"))
    with NfcUdpCard(card, fwi=8, bit_rates=(106, 212, 424, 848)) as responder, \
            NFCTransport(responder.path, timeout=5) as t:
        assert t.bit_rate == 848
        responder.drop_after(12, away=0.2)  # the card leaves the field half-way through the files
        record = read_card(t, key)
        assert record.complete
        assert record.stats.recoveries >= 1
        assert t.bit_rate == 848  # negotiated again on re-activation
        assert set(responder.apdu_rates) == {"848A"}


def test_ats_parsing() -> None:
    assert nfc_transport._ats_bit_rates(bytes([0x05, 0x78, 0xF7, 0x80, 0x02])) == (106, 212, 424, 848)
    assert nfc_transport._ats_bit_rates(bytes([0x05, 0x78, 0x80, 0x80, 0x02])) == (106,)
    # DS 424 without DR 424: not both ways, not used
    assert nfc_transport._ats_bit_rates(bytes([0x05, 0x78, 0xB1, 0x80, 0x02])) == (106, 212)
    assert nfc_transport._ats_bit_rates(bytes([0x03, 0x68, 0x80])) == (106,)  # no TA(1)
    assert nfc_transport._ats_bit_rates(b"") == (106,)
    assert nfc_transport._ats_frame_size(bytes([0x05, 0x75])) == 64
    assert nfc_transport._ats_frame_size(b"") is None
