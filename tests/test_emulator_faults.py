"""Chip-side fault injection: each fault does what docs/emulator.md says, and the reader survives it."""

from __future__ import annotations

import pytest

from cccd_reader.crypto.sm import SMSession
from cccd_reader.emulator import (
    CorruptMAC,
    Delay,
    DropLink,
    NakedError,
    ReadLimit,
    SeededRandom,
    VirtualCard,
    When,
    load_sample,
    sample_trust_anchor,
)
from cccd_reader.errors import CardRemovedError, SecureMessagingError
from cccd_reader.iso7816.apdu import CommandAPDU
from cccd_reader.protocols.pace import perform_pace
from cccd_reader.qr.payload import parse_qr_payload
from cccd_reader.read import read_card

H = bytes.fromhex
SELECT_AID = H("00A4040C07A0000002471001")


def open_session(card: VirtualCard) -> SMSession:
    persona = card.persona
    result = perform_pace(card, persona.can_key(), card_access=card.files.file("EF.CardAccess").data,
                          random_bytes=SeededRandom("terminal"))
    return result.session


def protected(card: VirtualCard, session: SMSession, cmd: CommandAPDU) -> bytes:
    return session.unprotect_response(card.transmit(session.protect_command(cmd)))


# --- link drop ---


def test_drop_link_after_n_apdus_then_back_without_session() -> None:
    card = load_sample("an", faults=(DropLink(after=7),))
    session = open_session(card)  # MSE + 4 GA = 5 APDUs
    assert protected(card, session, CommandAPDU(0, 0xA4, 4, 0x0C, H("A0000002471001"))) == H("9000")
    assert protected(card, session, CommandAPDU(0, 0xB0, 0x9E, 0, le=4))[-2:] == H("9000")  # 7th
    with pytest.raises(CardRemovedError):
        card.transmit(session.protect_command(CommandAPDU(0, 0xB0, 0, 4, le=4)))
    assert not card.present
    with pytest.raises(CardRemovedError):  # still gone until it is powered again
        card.transmit(SELECT_AID)
    card.reconnect()
    assert card.present and not card.session_active
    assert card.transmit(SELECT_AID) == H("9000")
    assert card.transmit(H("00B09E0004")) == H("6982")
    # it fired once: a new session works to the end
    session = open_session(card)
    for _ in range(10):
        assert protected(card, session, CommandAPDU(0, 0xB0, 0x9E, 0, le=4))[-2:] == H("9000")


def test_repeating_drop_counts_again_after_each_reconnection() -> None:
    card = load_sample("an", faults=(DropLink(after=2, repeat=True),))
    for _ in range(3):
        card.transmit(SELECT_AID)
        card.transmit(H("00B09C0004"))
        with pytest.raises(CardRemovedError):
            card.transmit(H("00B09C0004"))
        card.power_on()


def test_drop_counts_only_the_chosen_instruction() -> None:
    card = load_sample("an", faults=(DropLink(after=1, ins=0xB0),))
    card.transmit(SELECT_AID)
    card.transmit(SELECT_AID)
    card.transmit(H("00B09C0004"))
    card.transmit(SELECT_AID)
    with pytest.raises(CardRemovedError):
        card.transmit(H("00B09C0004"))


# --- wrong length on long reads ---


def test_read_limit_answers_6700_above_the_limit() -> None:
    card = load_sample("an", faults=(ReadLimit(100),))
    card.transmit(SELECT_AID)  # plain: EF.CardAccess is readable without a session
    assert card.transmit(H("00B09C0065")) == H("6700")
    assert card.transmit(H("00B09C0020"))[-2:] == H("9000")
    session = open_session(card)
    assert protected(card, session, CommandAPDU(0, 0xB0, 0x82, 0, le=0xDF)) == H("6700")  # protected 6700
    assert card.session_active
    assert len(protected(card, session, CommandAPDU(0, 0xB0, 0x82, 0, le=100))) == 102


# --- naked status word under SM ---


def test_naked_error_drops_the_session() -> None:
    card = load_sample("an", faults=(NakedError(0x6A82, When(nth=2, secure=True)),))
    session = open_session(card)
    assert protected(card, session, CommandAPDU(0, 0xA4, 4, 0x0C, H("A0000002471001"))) == H("9000")
    raw = card.transmit(session.protect_command(CommandAPDU(0, 0xB0, 0x9E, 0, le=4)))
    assert raw == H("6A82")  # no DO99, no DO8E
    assert not card.session_active
    assert card.transmit(session.protect_command(CommandAPDU(0, 0xB0, 0x9E, 0, le=4))) == H("6987")


def test_naked_error_can_keep_the_session() -> None:
    card = load_sample("an", faults=(NakedError(0x6A82, When(nth=1, ins=0xB0), keep_session=True),))
    session = open_session(card)
    assert protected(card, session, CommandAPDU(0, 0xA4, 4, 0x0C, H("A0000002471001"))) == H("9000")
    raw = card.transmit(session.protect_command(CommandAPDU(0, 0xB0, 0x9E, 0, le=4)))
    assert raw == H("6A82") and card.session_active
    # refused before secure messaging saw it: neither side's counter moves, the session goes on
    with pytest.raises(Exception):
        session.unprotect_response(raw)
    assert protected(card, session, CommandAPDU(0, 0xB0, 0x9E, 0, le=4))[-2:] == H("9000")


# --- corrupted response MAC ---


def test_corrupt_mac_is_caught_by_the_terminal() -> None:
    card = load_sample("an", faults=(CorruptMAC(When(nth=1, ins=0xB0)),))
    session = open_session(card)
    with pytest.raises(SecureMessagingError):
        protected(card, session, CommandAPDU(0, 0xB0, 0x9E, 0, le=4))
    assert not session.usable


# --- delays ---


def test_delay_sleeps_before_answering() -> None:
    slept: list[float] = []
    card = load_sample("an", faults=(Delay(0.25, sleep=slept.append),))
    card.transmit(SELECT_AID)
    card.transmit(H("00B09C0004"))
    assert slept == [0.25, 0.25]
    real = load_sample("an", faults=(Delay(0.001, When(nth=1, ins=0xA4)),))
    assert real.transmit(SELECT_AID) == H("9000")


def test_when_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        When(nth=0)
    with pytest.raises(ValueError):
        DropLink(after=-1)
    with pytest.raises(ValueError):
        ReadLimit(0)
    with pytest.raises(ValueError):
        NakedError(0x9000)


# --- the whole read survives the faults ---


def _read(card: VirtualCard) -> object:
    qr = parse_qr_payload(card.persona.qr_payload())
    return read_card(card, qr, random_bytes=SeededRandom("reader"), trust=str(sample_trust_anchor()),
                     recovery_timeout=2.0)


@pytest.mark.parametrize(
    ("fault", "recovers"),
    [
        (ReadLimit(128), False),
        (DropLink(after=14), True),
        (NakedError(0x6988, When(nth=6, secure=True)), True),
        (CorruptMAC(When(nth=5, ins=0xB0)), True),
        (Delay(0.0005, When(nth=3, repeat=True)), False),
    ],
    ids=["read-limit", "drop-link", "naked-6988", "corrupt-mac", "delay"],
)
def test_full_read_recovers_from_each_fault(fault: object, recovers: bool) -> None:
    card = load_sample("an", faults=(fault,))  # type: ignore[arg-type]
    record = _read(card)
    assert record.complete, record.error  # type: ignore[attr-defined]
    assert record.security.verdict == "genuine"  # type: ignore[attr-defined]
    for number, content in card.image.data_groups.items():
        if number != 3:
            assert record.files[f"DG{number}"] == content  # type: ignore[attr-defined]
    stats = record.stats  # type: ignore[attr-defined]
    assert (stats.recoveries > 0) is recovers
    if isinstance(fault, DropLink):
        assert card.power_ons == 2  # the reader reconnected once
