"""The whole read of every sample card through the emulator: in-process, and through pcscd + vpcd.

The reader gets only what a person has (the QR text, or the MRZ) and the sample trust anchor; what it
returns must be exactly what the persona file says, with every check passing, and the card whose QR
disagrees with its chip must be reported as such.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pcsc_support import card_on, pcsc_reader, pcscd_service, vpcd_slot  # noqa: F401

from cccd_reader.emulator import SeededRandom, VirtualCard, load_sample, sample_names, sample_trust_anchor
from cccd_reader.emulator.persona import Persona
from cccd_reader.errors import AccessDenied, ReadError
from cccd_reader.keys import CANKey
from cccd_reader.qr.payload import parse_qr_payload
from cccd_reader.read import CardRecord, read_card


def _read(transport: Any, card: VirtualCard, key: Any = None, **kw: Any) -> CardRecord:
    key = key if key is not None else parse_qr_payload(card.persona.qr_payload())
    return read_card(transport, key, random_bytes=SeededRandom("reader"), trust=str(sample_trust_anchor()),
                     **kw)


def _day(value: Any) -> Any:
    return value.to_date() if hasattr(value, "to_date") else value


def _check_identity(record: CardRecord, persona: Persona) -> None:
    ident = record.identity
    assert ident.id_number == persona.id_number
    assert ident.full_name == persona.full_name
    assert _day(ident.date_of_birth) == persona.date_of_birth
    assert ident.place_of_residence == persona.address
    assert _day(ident.issue_date) == persona.issue_date
    if persona.expiry_date is None:
        assert ident.no_expiry
    else:
        assert _day(ident.expiry_date) == persona.expiry_date
    assert ident.old_id_number == persona.old_id_number
    if persona.no_portrait:  # a child under 6: no DG2, and the record says why
        assert record.portrait is None and "DG2" not in record.files
        assert "children under 6" in record.security.details["portrait"]
    else:
        assert record.portrait is not None and record.portrait.image == persona.portrait_bytes()


@pytest.mark.parametrize("name", sample_names())
def test_every_sample_reads_end_to_end_in_process(name: str) -> None:
    card = load_sample(name)
    record = _read(card, card)
    assert record.complete, record.error
    _check_identity(record, card.persona)
    sec = record.security
    assert sec.chip_auth == "passed" and sec.active_auth == "passed" and sec.passive_auth == "passed"
    assert sec.access_protocol == "PACE" and sec.access_key == "CAN"
    if card.persona.qr_overrides:
        assert sec.verdict == "mismatch" and sec.qr_matches is False
        assert {m.field for m in sec.qr_mismatches} >= {"full_name"}
    else:
        assert sec.verdict == "genuine" and sec.qr_matches is True
    for number, content in card.image.data_groups.items():
        if number != 3:  # behind EAC
            assert record.files[f"DG{number}"] == content


@pytest.mark.parametrize("name", ["an", "tho", "mai"])
def test_bac_with_the_mrz_key(name: str) -> None:
    card = load_sample(name)
    record = _read(card, card, key=card.persona.mrz_key(), access="bac")
    assert record.complete and record.security.access_protocol == "BAC"
    assert record.identity.id_number == card.persona.id_number


def test_pace_with_the_mrz_password() -> None:
    card = load_sample("an")
    record = _read(card, card, key=card.persona.mrz_key(), access="pace")
    assert record.complete and record.security.access_protocol == "PACE"
    assert record.security.access_key == "MRZ"


def test_wrong_can_is_access_denied() -> None:
    card = load_sample("an")
    with pytest.raises(ReadError) as info:
        _read(card, card, key=CANKey("000000"), access="pace")
    assert info.value.step == "access" and isinstance(info.value.__cause__, AccessDenied)
    assert "000000" not in str(info.value)
    assert not card.session_active


def test_reads_replay_identically_with_the_same_seeds() -> None:
    runs = []
    for _ in range(2):
        card = load_sample("mai")
        seen: list[bytes] = []

        class Spy:
            atr = card.atr

            def transmit(self, apdu: bytes, _card: VirtualCard = card) -> bytes:
                seen.append(apdu)
                out = _card.transmit(apdu)
                seen.append(out)
                return out

        _read(Spy(), card)
        runs.append(seen)
    assert runs[0] == runs[1]


def test_issue_dates_are_in_the_past() -> None:
    for name in sample_names():
        assert load_sample(name).persona.issue_date < dt.date.today()


# --- through the PC/SC stack ---


@pytest.mark.pcsc
@pytest.mark.parametrize("name", sample_names())
def test_every_sample_reads_through_pcscd_and_vpcd(name: str, pcsc_reader: Any) -> None:  # noqa: F811
    from cccd_reader.transport.pcsc import PCSCTransport

    card = load_sample(name)
    with card_on(pcsc_reader, card) as reader_name:
        transport = PCSCTransport(reader_name, timeout=10)
        try:
            record = _read(transport, card)
        finally:
            transport.close()
    assert record.complete, record.error
    _check_identity(record, card.persona)
    assert record.security.verdict in ("genuine", "mismatch")
    assert record.security.passive_auth == "passed" and record.security.chip_auth == "passed"


# --- other chip profiles a persona can ask for ---


def _variant(profile: dict[str, Any]) -> VirtualCard:
    import json

    from cccd_reader.emulator import build_card
    from cccd_reader.emulator.persona import persona_from_dict
    from cccd_reader.emulator.samples import REPO_SAMPLES

    data = json.loads((REPO_SAMPLES / "cards" / "an" / "persona.json").read_text(encoding="utf-8"))
    data["portrait"] = None  # a drawn one
    data["profile"] = {**data["profile"], **profile}
    return build_card(persona_from_dict(data))


@pytest.mark.parametrize(
    ("profile", "access", "detail"),
    [
        ({"pace": {"parameter_ids": [13], "mappings": ["IM"]}}, "PACE", "IM"),
        ({"pace": {"parameter_ids": [13], "mappings": ["CAM"]}}, "PACE", "CAM"),
        ({"pace": {"parameter_ids": [12, 13], "mappings": ["GM", "IM", "CAM"]}}, "PACE", "CAM"),
        ({"pace": {"parameter_ids": [17], "mappings": ["GM"]}, "chip_authentication": {"parameter_id": 17}},
         "PACE", "brainpoolP512r1"),
        ({"pace": {"parameter_ids": [13], "mappings": ["GM"], "cipher": "AES-256"}}, "PACE",
         "AES-CBC-CMAC-256"),
        ({"pace": None}, "BAC", None),
        ({"select_mf": "9000", "extended_length": False, "max_response": 256}, "PACE", "GM"),
        ({"active_authentication": None}, "PACE", "GM"),
        ({"exact_le": True, "extended_length": False}, "PACE", "GM"),
        ({"chip_authentication": None, "active_authentication": "EC-brainpoolP256r1"}, "PACE", "GM"),
    ],
    ids=["IM", "CAM", "three-mappings", "bp512", "aes256", "bac-only", "short-apdus", "no-aa", "exact-le",
         "no-ca-ec-aa"],
)
def test_profile_variants_read_end_to_end(profile: dict[str, Any], access: str, detail: str | None) -> None:
    card = _variant(profile)
    record = _read(card, card)
    assert record.complete, record.error
    sec = record.security
    assert sec.access_protocol == access
    if detail:
        assert detail in (sec.access_detail or "")
    assert sec.passive_auth == "passed"
    assert sec.verdict == "genuine"
    if profile.get("active_authentication", "x") is None:
        assert "DG15" not in record.files
    if profile.get("chip_authentication", "x") is None:
        assert sec.active_auth == "passed"


# --- through nfcpy (its udp driver and real ISO-DEP code) ---


@pytest.mark.nfc
@pytest.mark.parametrize("name", ["an", "mai", "tho"])
def test_samples_read_through_nfcpy(name: str) -> None:
    from cccd_reader.emulator.nfc_udp import NfcUdpCard
    from cccd_reader.transport.nfc import NFCTransport

    card = load_sample(name)
    responder = NfcUdpCard(card, fwi=8).start()
    try:
        with NFCTransport(responder.path, timeout=5) as transport:
            record = _read(transport, card)
    finally:
        responder.stop()
    assert record.complete, record.error
    _check_identity(record, card.persona)
    assert record.security.verdict == "genuine"


def test_authentication_protocols_need_the_right_channel() -> None:
    card = load_sample("an")
    card.transmit(bytes.fromhex("00A4040C07A0000002471001"))
    # Active Authentication before any session: security status not satisfied
    assert card.transmit(bytes.fromhex("00880000081122334455667788") + b"\x00") == bytes.fromhex("6982")
    # Chip Authentication before any session, likewise
    mse = bytes.fromhex("002241A40F800A04007F00070202030202840100")
    assert card.transmit(mse)[-2:] == bytes.fromhex("6982")


def test_unknown_dg13_entries_survive_the_read() -> None:
    card = load_sample("mai")
    record = _read(card, card)
    assert record.identity.extra[17] == ("Dữ liệu mở rộng",)
    assert record.identity.extra[16] == (card.persona.dg13[16],)


def test_general_authenticate_goes_to_the_protocol_set_up_last() -> None:
    """PACE set up but abandoned, then Chip Authentication set up: GA belongs to Chip Authentication."""
    from cccd_reader.protocols.chip_auth import perform_chip_auth
    from cccd_reader.protocols.pace import perform_pace
    from cccd_reader.transport.secure import SecureMessagingTransport

    card = load_sample("an")
    pace = perform_pace(card, card.persona.can_key(), card_access=card.files.file("EF.CardAccess").data,
                        random_bytes=SeededRandom("t"))
    sm = SecureMessagingTransport(card, pace.session)
    sm.transmit(bytes.fromhex("00A4040C07A0000002471001"))
    # a PACE MSE:Set AT under SM is accepted by the chip, then abandoned
    assert sm.transmit(bytes.fromhex("0022C1A40F800A04007F00070202040202830102")) == bytes.fromhex("9000")
    result = perform_chip_auth(sm, card.image.data_groups[14], random_bytes=SeededRandom("ca"))
    after = SecureMessagingTransport(card, result.session)
    com = card.image.files.file("EF.COM").data
    assert after.transmit(bytes.fromhex("00B09E0004")) == com[:4] + b"\x90\x00"
