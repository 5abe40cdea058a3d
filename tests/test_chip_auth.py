"""Chip Authentication: key agreement and key derivation pinned to the BSI worked example (its CA data,
and the CA key inside the example's EF.CardSecurity), then whole runs over secure messaging against
ChipAuthChip (3DES via MSE:Set KAT, AES via MSE:Set AT + GENERAL AUTHENTICATE, ECDH and DH), clone
cases, and the PACE-CAM check pinned to ICAO 9303-11 Appendix I.1."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scripted_chip import ScriptedChip

from cccd_reader.crypto.dh import STANDARD_DH_DOMAINS
from cccd_reader.crypto.ec import STANDARD_EC_DOMAINS
from cccd_reader.crypto.sm import SMSession
from cccd_reader.errors import (
    CCCDError,
    ChipAuthenticationError,
    InputError,
    SecureMessagingError,
    TransientError,
    UnsupportedProtocol,
)
from cccd_reader.iso7816.apdu import CommandAPDU, ResponseAPDU
from cccd_reader.keys import MRZKey
from cccd_reader.lds.security_infos import (
    DG14,
    CardSecurity,
    ChipAuthenticationInfo,
    ChipAuthenticationPublicKeyInfo,
    PublicKeyInfo,
    SecurityInfos,
    decode_public_key_info,
)
from cccd_reader.protocols import chip_auth as CA
from cccd_reader.protocols.pace import perform_pace
from cccd_reader.transport.secure import SecureMessagingTransport

ID_PK_ECDH = "0.4.0.127.0.7.2.2.1.2"
ID_PK_DH = "0.4.0.127.0.7.2.2.1.1"


def h(x: str) -> bytes:
    return bytes.fromhex(x)


def lds(vectors, ef: str, contains: str = ""):
    return next(f for f in vectors["lds_files"]["files"] if f["ef"] == ef and contains in f["name"])


class Card:
    """A chip behind secure messaging: unprotect, let ChipAuthChip answer, protect, then switch keys."""

    def __init__(self, session: SMSession, chip: CA.ChipAuthChip) -> None:
        self.session, self.chip = session, chip
        self.commands: list[CommandAPDU] = []

    def transmit(self, apdu: bytes) -> bytes:
        try:
            cmd = self.session.unprotect_command(apdu)
        except SecureMessagingError as exc:
            return (exc.sw or 0x6988).to_bytes(2, "big")
        self.commands.append(cmd)
        # a READ BINARY confirms the new session; everything else goes to the CA chip
        resp = ResponseAPDU(b"\x60\x00", 0x9000) if cmd.ins == 0xB0 else self.chip.process(cmd)
        raw = self.session.protect_response(resp.data, resp.sw)
        if self.chip.new_session is not None:
            self.session = self.chip.new_session
        return raw


def ec_keypair(pid: int, sk: int):
    dom = STANDARD_EC_DOMAINS[pid]
    return dom, sk % dom.n, dom.public_key(sk % dom.n)


def setup(pk_info: ChipAuthenticationPublicKeyInfo, sk: int, info: ChipAuthenticationInfo | None,
          chip_sk: int | None = None):
    session_t = SMSession(b"\x11" * 16, b"\x22" * 16, "AES-128")
    session_c = SMSession(b"\x11" * 16, b"\x22" * 16, "AES-128")
    chip = CA.ChipAuthChip(pk_info, sk if chip_sk is None else chip_sk, info)
    card = Card(session_c, chip)
    infos = SecurityInfos(tuple(x for x in (pk_info, info) if x is not None))
    return SecureMessagingTransport(card, session_t), card, DG14(infos)


# --- pinned to the BSI worked example --------------------------------------------------------------


def test_bsi_ca_key_agreement_and_keys(vectors):
    v = vectors["bsi_eac_worked_example_ecdh"]["chip_authentication_v2"]
    dom = STANDARD_EC_DOMAINS[13]
    sk_chip = int(v["chip_static_private_key"], 16)
    sk_term = int(v["terminal_ephemeral_private_key"], 16)
    pk_chip = dom.public_key(sk_chip)
    pk_term = dom.public_key(sk_term)
    assert dom.encode_point(pk_chip) == h(v["chip_static_public_key"])
    assert dom.encode_point(pk_term) == h(v["terminal_ephemeral_public_key"])
    k = dom.shared_secret(sk_term, pk_chip)
    assert k == dom.shared_secret(sk_chip, pk_term) == h(v["shared_secret_k"])
    ks_enc, ks_mac = CA.ca_session_keys(k, "AES-128", h(v["nonce_r"]))
    assert (ks_enc, ks_mac) == (h(v["ks_enc"]), h(v["ks_mac"]))
    oid = "0.4.0.127.0.7.2.2.3.2.2"
    assert CA.ca_token(ks_mac, "AES-128", oid, "ECDH", h(v["terminal_ephemeral_public_key"])) == h(
        v["token_t_picc"])


def test_bsi_card_security_carries_the_ca_key(vectors):
    f = lds(vectors, "EF.CardSecurity")
    infos = CardSecurity.decode(h(f["hex"])).security_infos
    pk, alg, info = CA.select_chip_auth(infos)
    assert pk.key_id == 1 and alg.oid == "0.4.0.127.0.7.2.2.3.2.2" and info is not None and info.version == 2
    assert pk.public_key.ec_point == h(f["chip_authentication_public_key"])
    assert CA.group_of(pk).name == "brainpoolP256r1"
    bsi = vectors["bsi_eac_worked_example_ecdh"]["chip_authentication_v2"]
    assert pk.public_key.ec_point == h(bsi["chip_static_public_key"])


def test_bsi_ca_v2_layout_through_perform_chip_auth(vectors):
    """A chip answering GA with nonce r and token (EAC2 layout): the terminal derives KDF(K||r) keys and
    checks the token; everything reproduces the BSI example from its terminal key."""
    v = vectors["bsi_eac_worked_example_ecdh"]["chip_authentication_v2"]
    card_security = CardSecurity.decode(h(lds(vectors, "EF.CardSecurity")["hex"]))
    sent: list[CommandAPDU] = []

    class V2Chip:
        def transmit(self, apdu: bytes) -> bytes:
            cmd = CommandAPDU.decode(apdu)
            sent.append(cmd)
            if cmd.ins == 0x86:
                body = bytes([0x81, 8]) + h(v["nonce_r"]) + bytes([0x82, 8]) + h(v["token_t_picc"])
                return bytes([0x7C, len(body)]) + body + b"\x90\x00"
            return b"\x90\x00"

    sk = h(v["terminal_ephemeral_private_key"])[-32:]
    res = CA.perform_chip_auth(V2Chip(), card_security.security_infos, random_bytes=lambda n: sk[:n])
    assert res.version == 2 and res.key_id == 1 and res.cipher == "AES-128"
    assert sent[0].encode().hex().upper() == "0022 41A4 0F 800A04007F00070202030202 840101".replace(" ", "")
    assert sent[1].data == bytes.fromhex("7C438041") + h(v["terminal_ephemeral_public_key"])
    assert res.session.mac(b"z") == SMSession(h(v["ks_enc"]), h(v["ks_mac"]), "AES-128").mac(b"z")

    class BadToken(V2Chip):
        def transmit(self, apdu: bytes) -> bytes:
            out = super().transmit(apdu)
            return out[:-3] + bytes([out[-3] ^ 1]) + out[-2:] if CommandAPDU.decode(apdu).ins == 0x86 else out

    with pytest.raises(ChipAuthenticationError, match="token"):
        CA.perform_chip_auth(BadToken(), card_security.security_infos, random_bytes=lambda n: sk[:n])


# --- whole runs over secure messaging -------------------------------------------------------------------


@pytest.mark.parametrize(("suffix", "pid"), [(1, 13), (2, 13), (3, 12), (4, 17), (2, 11), (1, 15)])
def test_ecdh_chip_authentication(suffix, pid):
    dom, sk, pub = ec_keypair(pid, 0xC0FFEE1234567890ABCDEF)
    info = ChipAuthenticationInfo(f"0.4.0.127.0.7.2.2.3.2.{suffix}", 1, 7)
    pk_info = ChipAuthenticationPublicKeyInfo(ID_PK_ECDH, PublicKeyInfo.from_ec(dom, pub, form="explicit"), 7)
    transport, card, dg14 = setup(pk_info, sk, info)
    res = CA.perform_chip_auth(transport, DG14.decode(dg14.encode()))
    assert res.passed is None and res.key_id == 7 and res.session.ssc == 0
    assert res.cipher == ("3DES" if suffix == 1 else f"AES-{(128, 192, 256)[suffix - 2]}")
    first = card.commands[0]
    if suffix == 1:
        assert (first.ins, first.p1, first.p2) == (0x22, 0x41, 0xA6) and first.data[0] == 0x91
    else:
        assert (first.ins, first.p1, first.p2) == (0x22, 0x41, 0xA4) and card.commands[1].ins == 0x86
    assert first.le is None
    # read on with the new session: the chip switched too
    after = SecureMessagingTransport(transport.inner, res.session)
    assert after.transmit(CommandAPDU(0, 0xB0, 0, 0, le=2).encode()) == b"\x60\x00\x90\x00"
    assert res.confirmed(True).passed is True


@pytest.mark.parametrize(("suffix", "pid"), [(1, 0), (2, 2)])
def test_dh_chip_authentication(suffix, pid):
    dom = STANDARD_DH_DOMAINS[pid]
    sk = 0x1234567890ABCDEF1234567890ABCDEF % dom.q
    pk_info = ChipAuthenticationPublicKeyInfo(ID_PK_DH, PublicKeyInfo.from_dh(dom, dom.public_key(sk)))
    info = ChipAuthenticationInfo(f"0.4.0.127.0.7.2.2.3.1.{suffix}", 1)
    transport, _card, dg14 = setup(pk_info, sk, info)
    res = CA.perform_chip_auth(transport, dg14)
    after = SecureMessagingTransport(transport.inner, res.session)
    assert after.transmit(CommandAPDU(0, 0xB0, 0, 0, le=2).encode())[-2:] == b"\x90\x00"
    assert res.key_agreement == "DH"


def test_without_ca_info_3des_is_assumed(vectors):
    dg14 = DG14.decode(h(lds(vectors, "EF.DG14")["hex"]))
    _pk, alg, info = CA.select_chip_auth(dg14.security_infos)
    assert alg.cipher == "3DES" and alg.key_agreement == "ECDH" and info is not None
    dom, _sk, pub = ec_keypair(13, 99991)
    pk_info = ChipAuthenticationPublicKeyInfo(ID_PK_ECDH, PublicKeyInfo.from_ec(dom, pub))
    _pk2, alg2, info2 = CA.select_chip_auth(SecurityInfos((pk_info,)))
    assert alg2.oid == "0.4.0.127.0.7.2.2.3.2.1" and info2 is None


def test_clone_without_the_private_key_fails_on_the_next_read():
    dom, sk, pub = ec_keypair(13, 424242)
    info = ChipAuthenticationInfo("0.4.0.127.0.7.2.2.3.2.2", 1)
    pk_info = ChipAuthenticationPublicKeyInfo(ID_PK_ECDH, PublicKeyInfo.from_ec(dom, pub))
    transport, _card, dg14 = setup(pk_info, sk, info, chip_sk=sk + 1)  # the clone has another key
    res = CA.perform_chip_auth(transport, dg14)
    after = SecureMessagingTransport(transport.inner, res.session)
    with pytest.raises(SecureMessagingError):
        after.transmit(CommandAPDU(0, 0xB0, 0, 0, le=2).encode())
    verdict = res.confirmed(False)
    assert verdict.passed is False and "clone" in (verdict.reason or "")


def test_chip_refusal_and_missing_keys():
    dom, sk, pub = ec_keypair(13, 5)
    pk_info = ChipAuthenticationPublicKeyInfo(ID_PK_ECDH, PublicKeyInfo.from_ec(dom, pub))
    info = ChipAuthenticationInfo("0.4.0.127.0.7.2.2.3.2.2", 1)
    transport, _card, _ = setup(pk_info, sk, ChipAuthenticationInfo("0.4.0.127.0.7.2.2.3.2.4", 1))
    with pytest.raises(ChipAuthenticationError, match="6A80"):
        CA.perform_chip_auth(transport, SecurityInfos((pk_info, info)))
    with pytest.raises(UnsupportedProtocol):
        CA.perform_chip_auth(transport, SecurityInfos((info,)))
    with pytest.raises(UnsupportedProtocol):
        CA.perform_chip_auth(transport, SecurityInfos((pk_info,)), key_id=3)


def test_invalid_dg14_key_is_rejected():
    dom = STANDARD_EC_DOMAINS[13]
    bad_point = b"\x04" + b"\x01" * 64
    spki = bytes.fromhex("305A301406072A8648CE3D020106092B2403030208010107034200") + bad_point
    pk_info = ChipAuthenticationPublicKeyInfo(ID_PK_ECDH, decode_public_key_info(spki))
    assert pk_info.public_key.ec_domain == dom
    with pytest.raises(ChipAuthenticationError, match="invalid"):
        CA.perform_chip_auth(object(), SecurityInfos((pk_info,)))  # type: ignore[arg-type]


def test_chip_side_rejects_garbage():
    dom, sk, pub = ec_keypair(13, 77)
    chip = CA.ChipAuthChip(ChipAuthenticationPublicKeyInfo(ID_PK_ECDH, PublicKeyInfo.from_ec(dom, pub)), sk)
    assert chip.process(CommandAPDU(0, 0x22, 0x41, 0xA6, b"\x91\x03\x04\x01\x02")).sw == 0x6A80
    assert chip.process(CommandAPDU(0, 0x86, 0, 0, b"\x7C\x00", le=256)).sw == 0x6985
    assert chip.process(CommandAPDU(0, 0x22, 0x41, 0xA6, b"\xFF")).sw == 0x6A80
    assert chip.new_session is None


# --- PACE-CAM -------------------------------------------------------------------------------------------


def test_verify_cam_with_the_i1_example(vectors):
    v = vectors["pace_ecdh_cam"]

    key = MRZKey(v["document_number"], dt.date(1996, 8, 12), dt.date(2023, 10, 31))
    term = bytearray(h(v["terminal_mapping_private_key"]) + h(v["terminal_ephemeral_private_key"]))

    def rb(n: int) -> bytes:
        out = bytes(term[:n])
        del term[:n]
        return out

    script = ScriptedChip([(a["command"], a["response"]) for a in v["apdus"]])
    res = perform_pace(script, key, card_access=h(v["ef_cardaccess"]), random_bytes=rb,
                       send_parameter_id=False)
    info = h(v["chip_authentication_public_key_info"])
    card_security_content = bytes([0x31, len(info)]) + info
    verdict = CA.verify_cam(res, card_security_content)
    assert verdict.passed and verdict.key_id == 13
    assert verdict.chip_public_key == h(v["chip_static_public_key_pk_ic"])
    # the same chip data against another key: a clone signal
    dom, _, other = ec_keypair(13, 31337)
    other_info = ChipAuthenticationPublicKeyInfo(ID_PK_ECDH, PublicKeyInfo.from_ec(dom, other))
    bad = CA.verify_cam(res, SecurityInfos((other_info,)))
    assert not bad.passed and "clone" in (bad.reason or "")
    assert not CA.verify_cam(res, SecurityInfos(())).passed
    assert not CA.verify_cam(res, b"\x30\x03\x02\x01").passed  # unreadable file: a failed check


def test_verify_cam_needs_a_cam_result(vectors):
    from cccd_reader.keys import CANKey
    from cccd_reader.protocols.pace import CCCD_PACE_PROFILES, PACEChip

    info = CCCD_PACE_PROFILES[0]
    chip = PACEChip([info], [CANKey("123456")])

    class Loop:
        def transmit(self, apdu: bytes) -> bytes:
            return chip.process(CommandAPDU.decode(apdu)).encode()

    res = perform_pace(Loop(), CANKey("123456"), pace_info=info)
    with pytest.raises(InputError):
        CA.verify_cam(res, SecurityInfos(()))


# --- totality -------------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(ins=st.sampled_from([0x22, 0x86, 0x88]), p2=st.sampled_from([0xA4, 0xA6, 0x00]),
       data=st.binary(max_size=100), cipher=st.sampled_from(["1", "2"]))
def test_chip_side_answers_anything(ins, p2, data, cipher):
    dom, sk, pub = ec_keypair(13, 4711)
    info = ChipAuthenticationInfo(f"0.4.0.127.0.7.2.2.3.2.{cipher}", 1)
    pk_info = ChipAuthenticationPublicKeyInfo(ID_PK_ECDH, PublicKeyInfo.from_ec(dom, pub))
    chip = CA.ChipAuthChip(pk_info, sk, info)
    assert isinstance(chip.process(CommandAPDU(0, ins, 0x41, p2, data)), ResponseAPDU)


@settings(max_examples=150, deadline=None)
@given(first=st.binary(max_size=20), second=st.binary(max_size=120))
def test_any_terminal_side_answer_gives_a_library_error(first, second):
    dom, _sk, pub = ec_keypair(13, 4711)
    pk_info = ChipAuthenticationPublicKeyInfo(ID_PK_ECDH, PublicKeyInfo.from_ec(dom, pub))
    answers = [first, second]

    class Fuzz:
        def transmit(self, apdu: bytes) -> bytes:
            return answers.pop(0) if answers else b"\x90\x00"

    with contextlib.suppress(CCCDError):
        infos = SecurityInfos((pk_info, ChipAuthenticationInfo("0.4.0.127.0.7.2.2.3.2.2", 1)))
        CA.perform_chip_auth(Fuzz(), infos)


# --- a link glitch is "could not complete", an intact wrong answer is a failed CA ---------------------


class Glitch:
    """Between terminal and card: answer the nth command bare with ``sw`` (the card never sees it), or
    flip a bit of the nth answer (``sw`` None)."""

    def __init__(self, card: Card, nth: int, sw: int | None) -> None:
        self.card, self.nth, self.sw, self.n = card, nth, sw, 0

    def transmit(self, apdu: bytes) -> bytes:
        self.n += 1
        if self.n == self.nth and self.sw is not None:
            return self.sw.to_bytes(2, "big")
        raw = self.card.transmit(apdu)
        if self.n == self.nth:
            raw = raw[:-3] + bytes([raw[-3] ^ 1]) + raw[-2:]
        return raw


def _aes_case():
    dom, sk, pub = ec_keypair(13, 4242)
    info = ChipAuthenticationInfo("0.4.0.127.0.7.2.2.3.2.2", 1)  # id-CA-ECDH-AES-CBC-CMAC-128
    pk_info = ChipAuthenticationPublicKeyInfo(ID_PK_ECDH, PublicKeyInfo.from_ec(dom, pub))
    return setup(pk_info, sk, info)


@pytest.mark.parametrize("nth", [1, 2])  # MSE:Set AT, GENERAL AUTHENTICATE
@pytest.mark.parametrize("sw", [0x6A82, 0x6982, 0x6A80, 0x6700])
def test_bare_status_word_is_transient_not_a_failed_ca(nth, sw):
    transport, card, dg14 = _aes_case()
    glitchy = SecureMessagingTransport(Glitch(card, nth, sw), transport.session)
    with pytest.raises(TransientError) as info:
        CA.perform_chip_auth(glitchy, dg14)
    assert not isinstance(info.value, ChipAuthenticationError)
    assert info.value.step == "chip_auth" and "could not complete" in str(info.value)


@pytest.mark.parametrize("nth", [1, 2])
def test_damaged_answer_is_a_secure_messaging_error_not_a_failed_ca(nth):
    transport, card, dg14 = _aes_case()
    glitchy = SecureMessagingTransport(Glitch(card, nth, None), transport.session)
    with pytest.raises(SecureMessagingError):
        CA.perform_chip_auth(glitchy, dg14)


def test_intact_refusal_under_secure_messaging_is_a_failed_ca():
    # the same status word, but sent by the chip inside secure messaging (DO99 + a valid MAC): the chip
    # that holds the session keys refused the key DG14 vouches for
    dom, sk, pub = ec_keypair(13, 4242)
    pk_info = ChipAuthenticationPublicKeyInfo(ID_PK_ECDH, PublicKeyInfo.from_ec(dom, pub))
    transport, _card, _ = setup(pk_info, sk, ChipAuthenticationInfo("0.4.0.127.0.7.2.2.3.2.4", 1))
    infos = SecurityInfos((pk_info, ChipAuthenticationInfo("0.4.0.127.0.7.2.2.3.2.2", 1)))
    with pytest.raises(ChipAuthenticationError, match="6A80") as info:
        CA.perform_chip_auth(transport, infos)
    assert not isinstance(info.value, TransientError)
