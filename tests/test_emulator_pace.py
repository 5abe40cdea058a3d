"""PACE through the virtual chip, pinned to ICAO 9303-11 Appendix G.1 (and I.1 for CAM) byte for byte.

The chip is given the example's nonce s and private keys through its randomness, the example's
EF.CardAccess and password; each command APDU of the example must then get exactly the example's
response APDU from the emulator's dispatcher.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cccd_reader.emulator import CardProfile, FileSystem, ScriptedRandom, VirtualCard
from cccd_reader.emulator.card import SteppedProtocolResponder
from cccd_reader.errors import AccessDenied
from cccd_reader.iso7816.apdu import CommandAPDU
from cccd_reader.keys import CANKey, MRZKey
from cccd_reader.lds.security_infos import parse_card_access
from cccd_reader.protocols.pace import PACEChip, perform_pace

H = bytes.fromhex


def _card(vec: dict[str, Any], key: CANKey | MRZKey, rb: Any, static: int | None = None) -> VirtualCard:
    card_access = H(vec["ef_cardaccess"])
    infos = parse_card_access(card_access).pace_infos
    fs = FileSystem.from_lds(card_access=card_access, com=H("60145F0104303130375F36063034303030305C026175"),
                             sod=H("7703020100"), data_groups={1: H("6103020100")})

    def factory() -> PACEChip:
        return PACEChip(infos, [key], random_bytes=rb, chip_static_private_key=static)

    return VirtualCard(fs, profile=CardProfile(),
                       responders=[SteppedProtocolResponder("PACE", factory, mse=(0xC1, 0xA4))],
                       random_bytes=rb)


def _mrz_key(vec: dict[str, Any]) -> MRZKey:
    def date(text: str, century: int) -> dt.date:
        return dt.date(century + int(text[:2]), int(text[2:4]), int(text[4:]))

    return MRZKey(vec["document_number"], date(vec["date_of_birth"], 1900), date(vec["date_of_expiry"], 2000))


@pytest.mark.parametrize("mse_variant", [0, 1])
def test_pace_gm_matches_icao_g1(vectors: dict[str, Any], mse_variant: int) -> None:
    vec = vectors["pace_ecdh_gm"]
    rb = ScriptedRandom(H(vec["nonce_s"]), H(vec["chip_mapping_private_key"]),
                        H(vec["chip_ephemeral_private_key"]))
    card = _card(vec, _mrz_key(vec), rb)
    # the file the terminal reads first is there without SELECT MF
    resp = card.transmit(H("00B09C0000"))
    assert resp[:-2] == H(vec["ef_cardaccess"])
    apdus = vec["apdus"]
    steps = [apdus[mse_variant], *apdus[2:]]
    for step in steps:
        assert card.transmit(H(step["command"])) == H(step["response"]), step["step"]
    assert rb.remaining == 0
    assert card.session_active and card.authenticated_via == "PACE"


def _cam_static_key(vec: dict[str, Any]) -> int:
    """ICAO I.1 does not print the chip's static key; CA_IC = s_map / sk recovers it (and is checked)."""
    from cccd_reader.crypto.ec import STANDARD_EC_DOMAINS

    dom = STANDARD_EC_DOMAINS[13]
    s_map = int(vec["chip_mapping_private_key"], 16)
    ca_ic = int(vec["chip_authentication_data_ca_ic"], 16)
    static = (s_map * pow(ca_ic, -1, dom.n)) % dom.n
    assert dom.encode_point(dom.public_key(static)) == H(vec["chip_static_public_key_pk_ic"])
    return static


def test_pace_cam_first_steps_match_icao_i1(vectors: dict[str, Any]) -> None:
    """I.1 prints no chip ephemeral private key, so only MSE and GA 1-2 can be compared byte for byte."""
    vec = vectors["pace_ecdh_cam"]
    rb = ScriptedRandom(H(vec["nonce_s"]), H(vec["chip_mapping_private_key"]))
    card = _card(vec, _mrz_key(vec), rb, static=_cam_static_key(vec))
    for step in vec["apdus"][:3]:
        assert card.transmit(H(step["command"])) == H(step["response"]), step["step"]
    assert rb.remaining == 0


def test_pace_cam_full_run_proves_the_static_key(vectors: dict[str, Any]) -> None:
    from cccd_reader.emulator import SeededRandom

    vec = vectors["pace_ecdh_cam"]
    card = _card(vec, _mrz_key(vec), SeededRandom("cam-chip"), static=_cam_static_key(vec))
    result = perform_pace(card, _mrz_key(vec), card_access=H(vec["ef_cardaccess"]),
                          random_bytes=SeededRandom("cam-terminal"))
    assert result.mapping == "CAM" and result.cam_data is not None
    assert card.authenticated_via == "PACE"


def test_wrong_can_fails_at_step_4_with_6300() -> None:
    """cccd-card-facts §3.2: a wrong CAN fails at mutual authentication with 6300."""
    from cccd_reader.emulator import SeededRandom

    vec = {"ef_cardaccess": "31143012060A04007F0007020204020202010202010D"}
    card = _card(vec, CANKey("123456"), SeededRandom("chip"))
    answers: list[bytes] = []

    class Spy:
        def transmit(self, apdu: bytes) -> bytes:
            answers.append(card.transmit(apdu))
            return answers[-1]

    with pytest.raises(AccessDenied):
        perform_pace(Spy(), CANKey("654321"), card_access=H(vec["ef_cardaccess"]),
                     random_bytes=SeededRandom("t"))
    assert len(answers) == 5 and answers[-1] == H("6300")
    assert not card.session_active


def test_pace_then_protected_reads() -> None:
    from cccd_reader.emulator import SeededRandom
    from cccd_reader.transport.secure import SecureMessagingTransport

    vec = {"ef_cardaccess": "31143012060A04007F0007020204020202010202010D"}
    card = _card(vec, CANKey("123456"), SeededRandom("chip"))
    result = perform_pace(card, CANKey("123456"), card_access=H(vec["ef_cardaccess"]),
                          random_bytes=SeededRandom("terminal"))
    sm = SecureMessagingTransport(card, result.session)
    assert sm.transmit(H("00A4040C07A0000002471001")) == H("9000")
    assert sm.transmit(CommandAPDU(0, 0xB0, 0x81, 0, le=5).encode()) == H("6103020100") + H("9000")
    assert sm.transmit(CommandAPDU(0, 0xB0, 0x81, 0, le=8).encode()) == H("6103020100") + H("6282")


def test_pace_gm_matches_the_bsi_worked_example(vectors: dict[str, Any]) -> None:
    """BSI TR-03110 worked example (PIN 123456, brainpoolP256r1): the chip's answers carry the printed
    nonce, mapping and ephemeral keys and authentication token, command by command."""
    vec = vectors["bsi_eac_worked_example_ecdh"]
    card_access = H(vec["ef_cardaccess"])
    infos = parse_card_access(card_access).pace_infos
    rb = ScriptedRandom(H(vec["nonce_s"]), H(vec["chip_mapping_private_key"]),
                        H(vec["chip_ephemeral_private_key"]))

    def factory() -> PACEChip:
        return PACEChip(infos, passwords={3: vec["password_pin"].encode()}, random_bytes=rb)

    fs = FileSystem.from_lds(card_access=card_access, com=H("60145F0104303130375F36063034303030305C026175"),
                             sod=H("7703020100"), data_groups={1: H("6103020100")})
    card = VirtualCard(fs, responders=[SteppedProtocolResponder("PACE", factory, mse=(0xC1, 0xA4))],
                       random_bytes=rb)
    oid = H("060A04007F00070202040202")[2:]

    def ga(tag: int, value: bytes, last: bool = False) -> bytes:
        inner = bytes([tag]) + bytes([len(value)]) + value if value else b""
        data = b"\x7C" + bytes([len(inner)]) + inner
        return bytes([0x00 if last else 0x10, 0x86, 0, 0, len(data)]) + data + b"\x00"

    assert card.transmit(H("0022C1A40F800A") + oid + H("830103")) == H("9000")
    resp = card.transmit(H("10860000027C0000"))
    assert resp == H("7C128010") + H(vec["encrypted_nonce_z"]) + H("9000")
    resp = card.transmit(ga(0x81, H(vec["terminal_mapping_public_key"])))
    assert resp == H("7C438241") + H(vec["chip_mapping_public_key"]) + H("9000")
    resp = card.transmit(ga(0x83, H(vec["terminal_ephemeral_public_key"])))
    assert resp == H("7C438441") + H(vec["chip_ephemeral_public_key"]) + H("9000")
    resp = card.transmit(ga(0x85, H(vec["t_pcd_ifd"]), last=True))
    assert resp == H("7C0A8608") + H(vec["t_picc_ic"]) + H("9000")
    assert rb.remaining == 0 and card.authenticated_via == "PACE"
