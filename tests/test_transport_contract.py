"""The declared transport contract: every library transport is a CardTransport, wrappers forward what they
do not change, and capabilities are asked of the transport itself (wrappers are not searched)."""

from __future__ import annotations

import pytest

from cccd_reader.emulator import load_sample
from cccd_reader.errors import CardRemovedError, InputError
from cccd_reader.transport.base import CardTransport, PlainTransport, WrappingTransport, as_card_transport
from cccd_reader.transport.faults import FaultyTransport
from cccd_reader.transport.trace import RecordingTransport


class Declared(CardTransport):
    def __init__(self) -> None:
        self.timeouts: list[float | None] = []
        self.closed = 0

    def transmit(self, apdu: bytes) -> bytes:
        return b"\x90\x00"

    @property
    def atr(self) -> bytes:
        return bytes.fromhex("3B8180018080")

    @property
    def extended_length(self) -> bool | None:
        return True

    @property
    def can_reconnect(self) -> bool:
        return True

    def reconnect(self, timeout: float | None = None) -> None:
        self.timeouts.append(timeout)

    def close(self) -> None:
        self.closed += 1


def test_library_transports_declare_the_contract():
    from cccd_reader.transport.nfc import NFCTransport
    from cccd_reader.transport.pcsc import PCSCTransport
    from cccd_reader.transport.secure import SecureMessagingTransport
    from cccd_reader.transport.trace import ReplayTransport

    for cls in (PCSCTransport, NFCTransport, ReplayTransport, load_sample("an").__class__):
        assert issubclass(cls, CardTransport), cls
    for cls in (SecureMessagingTransport, RecordingTransport, FaultyTransport):
        assert issubclass(cls, WrappingTransport), cls


def test_wrappers_forward_every_capability(tmp_path):
    link = Declared()
    wrapped = RecordingTransport(FaultyTransport(link), tmp_path / "t.jsonl")
    assert wrapped.atr == link.atr
    assert wrapped.extended_length is True
    assert wrapped.can_reconnect
    wrapped.reconnect(1.5)
    assert link.timeouts == [1.5]
    assert wrapped.max_read_length(extended=True) == 65536


def test_a_plain_object_is_asked_directly_not_through_what_it_wraps():
    class Inner:
        atr = bytes.fromhex("3B8180018080")

        def transmit(self, apdu):
            return b"\x90\x00"

    class Outer:  # wraps Inner but declares nothing itself
        def __init__(self):
            self.inner = Inner()

        def transmit(self, apdu):
            return self.inner.transmit(apdu)

    assert as_card_transport(Inner()).atr == Inner.atr
    assert as_card_transport(Outer()).atr == b""  # not discovered through .inner
    plain = as_card_transport(Outer())
    assert isinstance(plain, PlainTransport) and not plain.can_reconnect
    with pytest.raises(CardRemovedError):
        plain.reconnect(1.0)
    card = load_sample("an")
    assert as_card_transport(card) is card


def test_a_plain_objects_reconnect_is_called_without_arguments():
    calls = []

    class Old:
        def transmit(self, apdu):
            return b"\x90\x00"

        def reconnect(self):
            calls.append("reconnect")

    plain = as_card_transport(Old())
    assert plain.can_reconnect
    plain.reconnect(3.0)
    assert calls == ["reconnect"]


def test_not_a_transport_is_an_input_error():
    with pytest.raises(InputError):
        as_card_transport(object())  # type: ignore[arg-type]


def test_context_management_closes():
    link = Declared()
    with link as same:
        assert same is link
    assert link.closed == 1


def test_open_transport_takes_one_kind_of_link():
    from cccd_reader.transport.open import open_transport

    with pytest.raises(InputError):
        open_transport(reader="any", nfc="usb")


def test_a_read_over_a_link_that_cannot_reconnect_says_so():
    from cccd_reader.emulator.card import SeededRandom
    from cccd_reader.emulator.samples import sample_persona
    from cccd_reader.read import read_card

    class OnlyTransmit:
        def __init__(self, card):
            self.card = card

        @property
        def atr(self):
            return self.card.atr

        def transmit(self, apdu):
            return self.card.transmit(apdu)

    key = sample_persona("an").can_key()
    rec = read_card(OnlyTransmit(load_sample("an")), key, random_bytes=SeededRandom("t"))
    assert any("cannot reconnect" in w for w in rec.warnings)
    rec = read_card(load_sample("an"), key, random_bytes=SeededRandom("t"))
    assert not any("cannot reconnect" in w for w in rec.warnings)
