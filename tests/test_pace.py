"""PACE pinned step by step to ICAO 9303-11 Appendices G.1, G.2, H.1, H.2, I.1 and the BSI worked example,
then whole runs against a scripted chip (vector APDUs byte for byte) and terminal vs PACEChip for every
mapping over several domain parameters and ciphers."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scripted_chip import ScriptedChip

from cccd_reader.crypto.dh import STANDARD_DH_DOMAINS
from cccd_reader.crypto.ec import STANDARD_EC_DOMAINS
from cccd_reader.crypto.sm import SMSession
from cccd_reader.errors import (
    AccessDenied,
    AuthenticationError,
    CCCDError,
    InputError,
    PasswordTypeNotSupported,
    TransportError,
    UnsupportedProtocol,
)
from cccd_reader.iso7816.apdu import CommandAPDU, ResponseAPDU
from cccd_reader.keys import CANKey, MRZKey
from cccd_reader.lds.security_infos import PACEInfo, parse_card_access
from cccd_reader.protocols import pace as P
from cccd_reader.protocols.pace import (
    CCCD_PACE_PROFILES,
    PACEChip,
    PACEPolicy,
    perform_pace,
)

CCCD_CARD_ACCESS = bytes.fromhex(
    "3134300d060804007f0007020202020101300f060a04007f000702020302020201013012060a04007f0007020204020202010202010d")


def h(x: str) -> bytes:
    return bytes.fromhex(x)


def i(x: str) -> int:
    return int(x, 16)


def mrz_key(v: dict[str, Any]) -> MRZKey:
    d = lambda s: dt.datetime.strptime(s, "%y%m%d").date()  # noqa: E731
    return MRZKey(v["document_number"], d(v["date_of_birth"]), d(v["date_of_expiry"]))


def feeder(*chunks: bytes):
    """A random_bytes that hands out the given bytes in order and fails when asked for more."""
    buf = bytearray(b"".join(chunks))

    def rb(n: int) -> bytes:
        assert len(buf) >= n, "the protocol drew more randomness than the vector provides"
        out = bytes(buf[:n])
        del buf[:n]
        return out

    rb.remaining = buf  # type: ignore[attr-defined]
    return rb


def vector_pairs(v: dict[str, Any], skip: set[int] = frozenset()) -> list[tuple[str, str]]:
    out = []
    for n, a in enumerate(v["apdus"]):
        if n in skip:
            continue
        resp = a["response"]
        if not resp.endswith("9000"):
            resp += "9000"  # the G.2 step-4 response is quoted without its status word
        out.append((a["command"], resp))
    return out


class Loop:
    """Terminal <-> PACEChip through encoded APDUs."""

    def __init__(self, chip: PACEChip) -> None:
        self.chip = chip
        self.log: list[bytes] = []

    def transmit(self, apdu: bytes) -> bytes:
        self.log.append(apdu)
        return self.chip.process(CommandAPDU.decode(apdu)).encode()


# --- step by step ----------------------------------------------------------------------------------


def test_password_keys(vectors):
    cases = {c["name"]: c for c in vectors["kdf_and_password_keys"]["cases"]}
    can = cases["CAN 123456 -> K_pi AES-128"]
    assert P.password_key(h(can["password"]), "AES-128") == h(can["key"])
    assert CANKey("123456").k_pi("AES-128") == h(can["key"])
    g1 = vectors["pace_ecdh_gm"]
    key = mrz_key(g1)
    assert key.password == h(g1["k_mrz_sha1"])
    assert key.k_pi("AES-128") == h(g1["k_pi"])


def test_g1_ecdh_gm_steps(vectors):
    v = vectors["pace_ecdh_gm"]
    dom = STANDARD_EC_DOMAINS[13]
    k_pi = P.password_key(h(v["k_mrz_sha1"]), "AES-128")
    s = P.decrypt_nonce(k_pi, h(v["encrypted_nonce_z"]), "AES-128")
    assert s == h(v["nonce_s"])
    assert P.encrypt_nonce(k_pi, s, "AES-128") == h(v["encrypted_nonce_z"])  # chip side
    pk_map_t = dom.public_key(i(v["terminal_mapping_private_key"]))
    pk_map_c = dom.public_key(i(v["chip_mapping_private_key"]))
    assert dom.encode_point(pk_map_t) == h(v["terminal_mapping_public_key"])
    assert dom.encode_point(pk_map_c) == h(v["chip_mapping_public_key"])
    h_t = dom.shared_point(i(v["terminal_mapping_private_key"]), pk_map_c)
    h_c = dom.shared_point(i(v["chip_mapping_private_key"]), pk_map_t)
    assert h_t == h_c
    assert dom.encode_point(h_t) == h(v["mapping_shared_point_h"])
    g2 = dom.generic_map(int.from_bytes(s, "big"), h_t)
    assert dom.encode_point(g2) == h(v["mapped_generator"])
    pk_t = dom.public_key(i(v["terminal_ephemeral_private_key"]), g2)
    pk_c = dom.public_key(i(v["chip_ephemeral_private_key"]), g2)
    assert dom.encode_point(pk_t) == h(v["terminal_ephemeral_public_key"])
    assert dom.encode_point(pk_c) == h(v["chip_ephemeral_public_key"])
    k_t = dom.shared_secret(i(v["terminal_ephemeral_private_key"]), pk_c)
    assert k_t == dom.shared_secret(i(v["chip_ephemeral_private_key"]), pk_t) == h(v["shared_secret_k"])
    ks_enc, ks_mac = P.session_keys(k_t, "AES-128")
    assert (ks_enc, ks_mac) == (h(v["ks_enc"]), h(v["ks_mac"]))
    oid = v["protocol_oid"]
    pk_c_bytes, pk_t_bytes = h(v["chip_ephemeral_public_key"]), h(v["terminal_ephemeral_public_key"])
    assert P.public_key_data_object(oid, "ECDH", pk_c_bytes) == h(v["token_input_for_t_ifd"])
    assert P.public_key_data_object(oid, "ECDH", pk_t_bytes) == h(
        v["token_input_for_t_ic"])
    assert P.authentication_token(ks_mac, "AES-128", oid, "ECDH", pk_c_bytes) == h(v["t_ifd"])
    assert P.authentication_token(ks_mac, "AES-128", oid, "ECDH", h(v["terminal_ephemeral_public_key"])) == h(
        v["t_ic"])


def test_g2_dh_gm_steps(vectors):
    v = vectors["pace_dh_gm"]
    dom = STANDARD_DH_DOMAINS[0]
    assert (dom.p, dom.g, dom.q) == (i(v["group_p"]), i(v["group_g"]), i(v["group_q"]))
    k_pi = P.password_key(h(v["k_mrz_sha1"]), "AES-128")
    assert k_pi == h(v["k_pi"])
    s = P.decrypt_nonce(k_pi, h(v["encrypted_nonce_z"]), "AES-128")
    assert s == h(v["nonce_s"])
    x_t, x_c = i(v["terminal_mapping_private_key"]), i(v["chip_mapping_private_key"])
    y_t, y_c = dom.public_key(x_t), dom.public_key(x_c)
    assert dom.encode(y_t) == h(v["terminal_mapping_public_key"])
    assert dom.encode(y_c) == h(v["chip_mapping_public_key"])
    shared = dom.shared_value(x_t, y_c)
    assert shared == dom.shared_value(x_c, y_t) == i(v["mapping_shared_secret_h"])
    g2 = dom.generic_map(int.from_bytes(s, "big"), shared)
    assert dom.encode(g2) == h(v["mapped_generator"])
    e_t, e_c = i(v["terminal_ephemeral_private_key"]), i(v["chip_ephemeral_private_key"])
    assert dom.encode(dom.public_key(e_t, g2)) == h(v["terminal_ephemeral_public_key"])
    assert dom.encode(dom.public_key(e_c, g2)) == h(v["chip_ephemeral_public_key"])
    k = dom.shared_secret(e_t, dom.public_key(e_c, g2))
    assert k == h(v["shared_secret_k"])
    ks_enc, ks_mac = P.session_keys(k, "AES-128")
    assert (ks_enc, ks_mac) == (h(v["ks_enc"]), h(v["ks_mac"]))
    oid = v["protocol_oid"]
    pk_c_bytes, pk_t_bytes = h(v["chip_ephemeral_public_key"]), h(v["terminal_ephemeral_public_key"])
    assert P.public_key_data_object(oid, "DH", pk_c_bytes) == h(v["token_input_for_t_ifd"])
    assert P.authentication_token(ks_mac, "AES-128", oid, "DH", pk_c_bytes) == h(v["t_ifd"])
    assert P.authentication_token(ks_mac, "AES-128", oid, "DH", pk_t_bytes) == h(v["t_ic"])


def test_h1_ecdh_im_steps(vectors):
    v = vectors["pace_ecdh_im"]
    dom = STANDARD_EC_DOMAINS[13]
    k_pi = P.password_key(v["password_can"].encode(), "AES-128")
    assert k_pi == h(v["k_pi"])
    s = P.decrypt_nonce(k_pi, h(v["encrypted_nonce_z"]), "AES-128")
    assert s == h(v["nonce_s"])
    t = h(v["nonce_t"])
    assert h(v["prf_constant_c0_aes"]) == P._C0_128 and h(v["prf_constant_c1_aes"]) == P._C1_128
    assert P.im_pseudo_random_bytes(s, t, dom.p, "AES-128") == h(v["pseudo_random_r"])
    rp = P.im_pseudo_random(s, t, dom.p, "AES-128")
    assert rp == i(v["pseudo_random_rp_mod_p"])
    g2 = dom.integrated_map(rp)
    assert dom.encode_point(g2) == h(v["mapped_generator"])
    pk_t = dom.public_key(i(v["terminal_ephemeral_private_key"]), g2)
    pk_c = dom.public_key(i(v["chip_ephemeral_private_key"]), g2)
    assert dom.encode_point(pk_t) == h(v["terminal_ephemeral_public_key"])
    assert dom.encode_point(pk_c) == h(v["chip_ephemeral_public_key"])
    k = dom.shared_secret(i(v["terminal_ephemeral_private_key"]), pk_c)
    assert k == h(v["shared_secret_k"])
    ks_enc, ks_mac = P.session_keys(k, "AES-128")
    assert (ks_enc, ks_mac) == (h(v["ks_enc"]), h(v["ks_mac"]))
    oid = v["protocol_oid"]
    assert P.authentication_token(ks_mac, "AES-128", oid, "ECDH", dom.encode_point(pk_c)) == h(v["t_ifd"])
    assert P.authentication_token(ks_mac, "AES-128", oid, "ECDH", dom.encode_point(pk_t)) == h(v["t_ic"])


def test_h2_dh_im_steps(vectors):
    v = vectors["pace_dh_im"]
    dom = STANDARD_DH_DOMAINS[0]
    s, t = h(v["nonce_s"]), h(v["nonce_t"])
    assert P.im_pseudo_random_bytes(s, t, dom.p, "AES-128") == h(v["pseudo_random_r"])
    rp = P.im_pseudo_random(s, t, dom.p, "AES-128")
    assert rp == i(v["pseudo_random_rp_mod_p"])
    assert dom.encode(dom.integrated_map(rp)) == h(v["mapped_generator"])
    assert P.session_keys(h(v["shared_secret_k"]), "AES-128") == (h(v["ks_enc"]), h(v["ks_mac"]))


def test_i1_cam_steps(vectors):
    v = vectors["pace_ecdh_cam"]
    dom = STANDARD_EC_DOMAINS[13]
    ks_enc = h(v["ks_enc"])
    ca_ic = P.cam_decrypt(ks_enc, h(v["encrypted_chip_authentication_data_a_ic"]))
    assert ca_ic == h(v["chip_authentication_data_ca_ic"])
    assert P.cam_encrypt(ks_enc, ca_ic) == h(v["encrypted_chip_authentication_data_a_ic"])  # chip side
    pk_ic = dom.decode_point(h(v["chip_static_public_key_pk_ic"]))
    pk_map = h(v["chip_mapping_public_key"])
    assert dom.encode_point(dom.mul(i(v["chip_authentication_data_ca_ic"]), pk_ic)) == pk_map
    assert dom.encode_point(dom.public_key(i(v["chip_mapping_private_key"]))) == pk_map
    pk_c = dom.decode_point(h(v["chip_ephemeral_public_key"]))
    k = dom.shared_secret(i(v["terminal_ephemeral_private_key"]), pk_c)
    assert k == h(v["shared_secret_k"])
    assert P.session_keys(k, "AES-128") == (ks_enc, h(v["ks_mac"]))


@pytest.mark.parametrize("name", ["bsi_eac_worked_example_ecdh", "bsi_eac_worked_example_dh"])
def test_bsi_worked_example_steps(vectors, name):
    v = vectors[name]
    ecdh = name.endswith("ecdh")
    dom: Any = STANDARD_EC_DOMAINS[13] if ecdh else STANDARD_DH_DOMAINS[0]
    enc = dom.encode_point if ecdh else dom.encode
    k_pi = P.password_key(v["password_pin"].encode(), "AES-128")
    assert k_pi == h(v["k_pi"])
    s = P.decrypt_nonce(k_pi, h(v["encrypted_nonce_z"]), "AES-128")
    assert s == h(v["nonce_s"])
    x_t, x_c = i(v["terminal_mapping_private_key"]), i(v["chip_mapping_private_key"])
    pub_t = dom.public_key(x_t)
    pub_c = dom.public_key(x_c)
    assert enc(pub_t) == h(v["terminal_mapping_public_key"])
    assert enc(pub_c) == h(v["chip_mapping_public_key"])
    if ecdh:
        shared = dom.shared_point(x_t, pub_c)
        assert enc(shared) == h(v["mapping_shared_point_h"])
    else:
        shared = dom.shared_value(x_t, pub_c)
        assert shared == i(v["mapping_shared_secret_h"])
    g2 = dom.generic_map(int.from_bytes(s, "big"), shared)
    assert enc(g2) == h(v["mapped_generator"])
    e_t, e_c = i(v["terminal_ephemeral_private_key"]), i(v["chip_ephemeral_private_key"])
    if ecdh:
        pk_t, pk_c = dom.public_key(e_t, g2), dom.public_key(e_c, g2)
    else:
        pk_t, pk_c = dom.public_key(e_t, g2), dom.public_key(e_c, g2)
    assert enc(pk_t) == h(v["terminal_ephemeral_public_key"])
    assert enc(pk_c) == h(v["chip_ephemeral_public_key"])
    k = dom.shared_secret(e_t, pk_c)
    assert k == dom.shared_secret(e_c, pk_t) == h(v["shared_secret_k"])
    ks_enc, ks_mac = P.session_keys(k, "AES-128")
    assert (ks_enc, ks_mac) == (h(v["ks_enc"]), h(v["ks_mac"]))
    oid = "0.4.0.127.0.7.2.2.4.2.2" if ecdh else "0.4.0.127.0.7.2.2.4.1.2"
    ka = "ECDH" if ecdh else "DH"
    assert P.authentication_token(ks_mac, "AES-128", oid, ka, enc(pk_c)) == h(v["t_pcd_ifd"])
    assert P.authentication_token(ks_mac, "AES-128", oid, ka, enc(pk_t)) == h(v["t_picc_ic"])


def test_bsi_ecdh_chip_side_with_pin_reproduces_the_example(vectors):
    """The chip state machine, fed the example's randomness, answers with the example's values."""
    v = vectors["bsi_eac_worked_example_ecdh"]
    info = PACEInfo(v["protocol_oid"], 2, 13)
    chip = PACEChip([info], passwords={3: v["password_pin"].encode()},
                    random_bytes=feeder(h(v["nonce_s"]), h(v["chip_mapping_private_key"]),
                                        h(v["chip_ephemeral_private_key"])[-32:]))
    mse = P.mse_set_at_pace(v["protocol_oid"], 3, 13)
    assert chip.process(mse).sw == 0x9000
    r1 = chip.process(P._ga(b"", last=False))
    assert r1.data == bytes.fromhex("7C128010") + h(v["encrypted_nonce_z"])
    r2 = chip.process(P._ga(bytes([0x81, 0x41]) + h(v["terminal_mapping_public_key"]), last=False))
    assert r2.data[4:] == h(v["chip_mapping_public_key"])
    r3 = chip.process(P._ga(bytes([0x83, 0x41]) + h(v["terminal_ephemeral_public_key"]), last=False))
    assert r3.data[4:] == h(v["chip_ephemeral_public_key"])
    r4 = chip.process(P._ga(bytes([0x85, 0x08]) + h(v["t_pcd_ifd"]), last=True))
    assert r4.sw == 0x9000 and r4.data == bytes.fromhex("7C0A8608") + h(v["t_picc_ic"])
    assert chip.established


# --- whole runs against the recorded APDUs --------------------------------------------------------------


def test_g1_perform_pace_reproduces_the_apdus(vectors):
    v = vectors["pace_ecdh_gm"]
    rb = feeder(h(v["terminal_mapping_private_key"]), h(v["terminal_ephemeral_private_key"]))
    script = ScriptedChip(vector_pairs(v, skip={0}))  # the MSE variant with DO84 (parameter ID 13)
    res = perform_pace(script, mrz_key(v), card_access=h(v["ef_cardaccess"]), random_bytes=rb)
    assert len(script.sent) == 5 and not rb.remaining
    assert (res.mapping, res.key_agreement, res.cipher, res.parameter_id) == ("GM", "ECDH", "AES-128", 13)
    assert res.chip_ephemeral_public_key == h(v["chip_ephemeral_public_key"])
    assert res.mapped_generator == h(v["mapped_generator"])
    assert (res.terminal_token, res.chip_token) == (h(v["t_ifd"]), h(v["t_ic"]))
    assert res.session.ssc == 0 and res.session.cipher == "AES-128"
    # the session's keys are the vector's: MAC of the same input under KSmac matches
    reference = SMSession(h(v["ks_enc"]), h(v["ks_mac"]), "AES-128")
    assert res.session.mac(b"\x01" * 16) == reference.mac(b"\x01" * 16)
    # the MSE:Set AT as ICAO prints it (no DO84)
    rb = feeder(h(v["terminal_mapping_private_key"]), h(v["terminal_ephemeral_private_key"]))
    script = ScriptedChip(vector_pairs(v, skip={1}))
    perform_pace(script, mrz_key(v), pace_info=parse_card_access(h(v["ef_cardaccess"])).pace_infos[0],
                 random_bytes=rb, send_parameter_id=False)
    assert len(script.sent) == 5


def test_g2_perform_pace_reproduces_the_apdus(vectors):
    v = vectors["pace_dh_gm"]
    rb = feeder(h(v["terminal_mapping_private_key"]), h(v["terminal_ephemeral_private_key"]))
    script = ScriptedChip(vector_pairs(v))
    res = perform_pace(script, mrz_key(v), card_access=h(v["ef_cardaccess"]), random_bytes=rb,
                       send_parameter_id=False)
    assert (res.key_agreement, res.parameter_id, res.domain_name) == ("DH", 0, "MODP-1024-160")
    assert res.certification_authority_references == (b"DETESTCVCA00003",)
    assert res.session.mac(b"x") == SMSession(h(v["ks_enc"]), h(v["ks_mac"]), "AES-128").mac(b"x")


def test_i1_perform_pace_cam_reproduces_the_apdus(vectors):
    v = vectors["pace_ecdh_cam"]
    rb = feeder(h(v["terminal_mapping_private_key"]), h(v["terminal_ephemeral_private_key"]))
    script = ScriptedChip(vector_pairs(v))
    res = perform_pace(script, mrz_key(v), card_access=h(v["ef_cardaccess"]), random_bytes=rb,
                       send_parameter_id=False)
    assert res.mapping == "CAM"
    assert res.encrypted_cam_data == h(v["encrypted_chip_authentication_data_a_ic"])
    assert res.cam_data == h(v["chip_authentication_data_ca_ic"])
    assert res.chip_mapping_public_key == h(v["chip_mapping_public_key"])


@pytest.mark.parametrize("name", ["pace_ecdh_gm", "pace_dh_gm"])
def test_pace_chip_answers_like_the_vector_chip(vectors, name):
    v = vectors[name]
    info = parse_card_access(h(v["ef_cardaccess"])).pace_infos[0]
    eph = h(v["chip_ephemeral_private_key"])
    chip = PACEChip([info], [mrz_key(v)],
                    random_bytes=feeder(h(v["nonce_s"]), h(v["chip_mapping_private_key"]), eph))
    for n, a in enumerate(v["apdus"]):
        if name == "pace_ecdh_gm" and n == 1:
            continue
        resp = chip.process(CommandAPDU.decode(h(a["command"])))
        expected = a["response"] if a["response"].endswith("9000") else None
        if expected is not None:
            assert resp.encode() == h(expected), f"step {a['step']}"
        else:  # G.2 step 4 carries a CAR that the chip does not add: compare the token
            assert resp.data[:10] == h(a["response"])[2:12] or resp.data == bytes.fromhex("7C0A") + h(
                a["response"])[2:12]
    assert chip.established and chip.session is not None


def test_i1_chip_side_cam_data(vectors):
    """The chip's static key is derived from the example (SK_IC = SK_map / CA_IC mod n)."""
    v = vectors["pace_ecdh_cam"]
    dom = STANDARD_EC_DOMAINS[13]
    sk_ic = i(v["chip_mapping_private_key"]) * pow(i(v["chip_authentication_data_ca_ic"]), -1, dom.n) % dom.n
    assert dom.encode_point(dom.public_key(sk_ic)) == h(v["chip_static_public_key_pk_ic"])
    info = parse_card_access(h(v["ef_cardaccess"])).pace_infos[0]
    chip = PACEChip([info], [mrz_key(v)], chip_static_private_key=sk_ic,
                    random_bytes=feeder(h(v["nonce_s"]), h(v["chip_mapping_private_key"]), b"\x42" * 32))
    term = feeder(h(v["terminal_mapping_private_key"]), h(v["terminal_ephemeral_private_key"]))
    res = perform_pace(Loop(chip), mrz_key(v), pace_info=info, random_bytes=term)
    assert res.cam_data == h(v["chip_authentication_data_ca_ic"])


# --- terminal vs chip for every mapping ---------------------------------------------------------------


def _run(oid: str, pid: int, key: Any = None, chip_key: Any = None, sk_ic: int | None = None):
    info = PACEInfo(oid, 2, pid)
    key = key or CANKey("123456")
    chip = PACEChip([info], [chip_key or key], chip_static_private_key=sk_ic)
    loop = Loop(chip)
    res = perform_pace(loop, key, card_access=P.SecurityInfos((info,)))
    return res, chip, loop


MATRIX = [
    (f"{P.ID_PACE_ECDH_GM}.{c}", pid)
    for c, pid in ((1, 12), (2, 13), (3, 15), (4, 18), (2, 8), (1, 9), (2, 10), (3, 11), (4, 14), (2, 16),
                   (4, 17))
] + [
    (f"0.4.0.127.0.7.2.2.4.4.{c}", pid) for c, pid in ((1, 13), (2, 12), (3, 16), (4, 17), (2, 9), (4, 18))
] + [
    (f"0.4.0.127.0.7.2.2.4.6.{c}", pid) for c, pid in ((2, 13), (2, 12), (3, 15), (4, 17), (4, 10))
] + [
    (f"0.4.0.127.0.7.2.2.4.1.{c}", pid) for c, pid in ((1, 0), (2, 0), (4, 2))
] + [
    (f"0.4.0.127.0.7.2.2.4.3.{c}", pid) for c, pid in ((1, 0), (3, 0), (2, 1))
]


@pytest.mark.parametrize(("oid", "pid"), MATRIX)
def test_terminal_and_chip_agree(oid, pid):
    alg = P.PACE_ALGORITHMS[oid]
    sk_ic = None
    if alg.mapping == "CAM":
        sk_ic = 0x1234567890ABCDEF1234567890ABCDEF % STANDARD_EC_DOMAINS[pid].n
    res, chip, loop = _run(oid, pid, sk_ic=sk_ic)
    assert chip.established and chip.session is not None
    assert (res.mapping, res.cipher, res.parameter_id) == (alg.mapping, alg.cipher, pid)
    # both sides hold the same keys: what the terminal protects, the chip opens
    cmd = CommandAPDU(0x00, 0xB0, 0x00, 0x00, le=16)
    assert chip.session.unprotect_command(res.session.protect_command(cmd)) == cmd
    # MSE:Set AT carries 80/83/84 and no Le; GA 1-3 chain (CLA 10), GA 4 does not
    assert loop.log[0][:4] == bytes.fromhex("0022C1A4") and len(loop.log[0]) == 5 + loop.log[0][4]
    assert [a[0] for a in loop.log[1:]] == [0x10, 0x10, 0x10, 0x00]
    if alg.mapping == "CAM":
        from cccd_reader.lds.security_infos import (
            ChipAuthenticationPublicKeyInfo,
            PublicKeyInfo,
            SecurityInfos,
        )
        from cccd_reader.protocols.chip_auth import verify_cam

        dom = STANDARD_EC_DOMAINS[pid]
        spki = PublicKeyInfo.from_ec(dom, dom.public_key(sk_ic))
        pk = ChipAuthenticationPublicKeyInfo("0.4.0.127.0.7.2.2.1.2", spki)
        assert verify_cam(res, SecurityInfos((pk,))).passed


def test_mrz_password_and_both_cccd_profiles():
    key = MRZKey("090123456", dt.date(1990, 1, 1), dt.date(2030, 1, 1))
    for info in CCCD_PACE_PROFILES:
        chip = PACEChip([info], [key, CANKey("123456")])
        res = perform_pace(Loop(chip), key, pace_info=info)
        assert res.password_type == "MRZ" and res.domain_name in ("brainpoolP256r1", "secp256r1")


def test_cccd_card_access_selects_gm_brainpool():
    chosen = P.select_pace_infos(CCCD_CARD_ACCESS)
    assert [(c.protocol, c.parameter_id) for c in chosen] == [("0.4.0.127.0.7.2.2.4.2.2", 13)]
    assert P.pace_profiles_to_try(None) == list(CCCD_PACE_PROFILES)
    assert P.pace_profiles_to_try(b"\x31\x00") == list(CCCD_PACE_PROFILES)
    assert P.pace_profiles_to_try(b"garbage") == list(CCCD_PACE_PROFILES)
    assert P.pace_profiles_to_try(CCCD_CARD_ACCESS) == chosen


def test_selection_prefers_cam_then_gm_and_skips_unsupported():
    infos = P.SecurityInfos((
        PACEInfo("0.4.0.127.0.7.2.2.4.4.2", 2, 13),  # IM
        PACEInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 13),  # GM
        PACEInfo("0.4.0.127.0.7.2.2.4.6.2", 2, 13),  # CAM
        PACEInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 5),  # reserved ID
        PACEInfo("0.4.0.127.0.7.2.2.4.4.2", 2, 10),  # IM on P-224: no point encoding
        PACEInfo("0.4.0.127.0.7.2.2.4.9.9", 2, 13),  # unknown
    ))
    assert [c.algorithm.mapping for c in P.select_pace_infos(infos)] == ["CAM", "GM", "IM"]


# --- failures -------------------------------------------------------------------------------------------


def test_wrong_can_is_access_denied_at_mutual_authentication():
    info = CCCD_PACE_PROFILES[0]
    chip = PACEChip([info], [CANKey("123456")])
    with pytest.raises(AccessDenied) as err:
        perform_pace(Loop(chip), CANKey("654321"), pace_info=info)
    msg = str(err.value)
    assert "step 4" in msg and "6300" in msg and "CAN" in msg
    assert "654321" not in msg and "123456" not in msg
    assert chip.session is None


@pytest.mark.parametrize(("ins_step", "sw", "expected"), [
    (3, 0x6982, "AccessDenied"),  # the 4th General Authenticate refused: a wrong password
    (1, 0x6982, "AuthenticationError"),  # the same SW at mapping is no verdict on the password
    (0, 0x6A80, "UnsupportedProtocol"),  # encrypted nonce: these parameters are not the card's
    (2, 0x6A80, "AuthenticationError"),
])
def test_the_error_a_refusal_gives_depends_on_the_step(ins_step, sw, expected):
    import cccd_reader.errors as E

    info = CCCD_PACE_PROFILES[0]
    chip = PACEChip([info], [CANKey("123456")])

    class Refuses:
        def __init__(self):
            self.ga = 0

        def transmit(self, apdu: bytes) -> bytes:
            cmd = CommandAPDU.decode(apdu)
            if cmd.ins == 0x86:
                self.ga += 1
                if self.ga - 1 == ins_step:
                    return sw.to_bytes(2, "big")
            return chip.process(cmd).encode()

    with pytest.raises(E.CCCDError) as err:
        perform_pace(Refuses(), CANKey("123456"), pace_info=info)
    assert type(err.value).__name__ == expected, err.value


def test_chip_token_mismatch_is_access_denied():
    v_chip = PACEChip([CCCD_PACE_PROFILES[0]], [CANKey("111111")])

    class Liar:
        def transmit(self, apdu: bytes) -> bytes:
            cmd = CommandAPDU.decode(apdu)
            if cmd.cla == 0 and cmd.ins == 0x86:  # step 4: answer with a wrong token
                return bytes.fromhex("7C0A8608") + b"\x00" * 8 + b"\x90\x00"
            return v_chip.process(cmd).encode()

    # the chip accepts any terminal token here, so the terminal is the one that notices
    v_chip._passwords[2] = b"111111"
    with pytest.raises(AccessDenied, match="token does not match"):
        perform_pace(Liar(), CANKey("111111"), pace_info=CCCD_PACE_PROFILES[0])


def test_pin_is_refused():
    class PINKey:
        pace_password_ref = 3
        password = b"123456"

    with pytest.raises(PasswordTypeNotSupported):
        perform_pace(Loop(PACEChip([], [])), PINKey(), pace_info=CCCD_PACE_PROFILES[0])  # type: ignore[arg-type]


def test_unsupported_parameters():
    for bad in (PACEInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 5), PACEInfo("0.4.0.127.0.7.2.2.4.4.2", 2, 10),
                PACEInfo("0.4.0.127.0.7.2.2.4.9.9", 2, 13)):
        with pytest.raises(UnsupportedProtocol):
            perform_pace(Loop(PACEChip([], [])), CANKey("123456"), pace_info=bad)
    # the chip refuses the parameters in MSE:Set AT (6A80)
    chip = PACEChip([CCCD_PACE_PROFILES[1]], [CANKey("123456")])
    with pytest.raises(UnsupportedProtocol, match="MSE:Set AT"):
        perform_pace(Loop(chip), CANKey("123456"), pace_info=CCCD_PACE_PROFILES[0])
    with pytest.raises(InputError):
        perform_pace(Loop(chip), CANKey("123456"))
    with pytest.raises(UnsupportedProtocol):
        perform_pace(Loop(chip), CANKey("123456"), card_access=b"\x31\x00")


class Hostile:
    """Relays to a real chip but replaces one answer."""

    def __init__(self, chip: PACEChip, step: int, data: bytes) -> None:
        self.chip, self.step, self.data, self.n = chip, step, data, 0

    def transmit(self, apdu: bytes) -> bytes:
        resp = self.chip.process(CommandAPDU.decode(apdu))
        self.n += 1
        if self.n == self.step + 1:
            return ResponseAPDU(self.data, 0x9000).encode()
        return resp.encode()


@pytest.mark.parametrize(("step", "data", "what"), [
    (2, bytes.fromhex("7C438241") + b"\x04" + b"\x01" * 64, "step 2"),  # point not on the curve
    (2, bytes.fromhex("7C038201") + b"\x00", "step 2"),  # point at infinity
    (3, bytes.fromhex("7C438441") + b"\x04" + b"\x02" * 64, "step 3"),
    (1, bytes.fromhex("7C038005") + b"\x00" * 3, "step 1"),  # malformed
    (1, bytes.fromhex("7C0380010000"), "step 1"),  # nonce of a wrong length
    (3, bytes.fromhex("7C00"), "step 3"),  # missing DO84
])
def test_hostile_chip_data_is_rejected(step, data, what):
    chip = PACEChip([CCCD_PACE_PROFILES[0]], [CANKey("123456")])
    with pytest.raises(AuthenticationError, match=what):
        perform_pace(Hostile(chip, step, data), CANKey("123456"), pace_info=CCCD_PACE_PROFILES[0])


def test_hostile_dh_public_value_is_rejected():
    info = PACEInfo("0.4.0.127.0.7.2.2.4.1.2", 2, 0)
    chip = PACEChip([info], [CANKey("123456")])
    bad = bytes.fromhex("7C8183828180") + (1).to_bytes(128, "big")  # y = 1
    with pytest.raises(AuthenticationError, match="step 2"):
        perform_pace(Hostile(chip, 2, bad), CANKey("123456"), pace_info=info)


def test_chip_rejects_out_of_order_and_bad_chaining():
    info = CCCD_PACE_PROFILES[0]
    chip = PACEChip([info], [CANKey("123456")])
    assert chip.process(P._ga(b"", last=False)).sw == 0x6985  # no MSE:Set AT yet
    assert chip.process(P.mse_set_at_pace(info.protocol, 2, 13)).sw == 0x9000
    assert chip.process(P._ga(b"", last=True)).sw == 0x6883  # step 1 must chain
    assert chip.process(P.mse_set_at_pace(info.protocol, 1, 13)).sw == 0x6A88  # no MRZ password known
    assert chip.process(CommandAPDU(0, 0xA4, 0, 0)).sw == 0x6D00
    assert "123456" not in repr(chip)


def test_transport_errors_pass_through():
    class Dead:
        def transmit(self, apdu: bytes) -> bytes:
            raise TransportError("tag lost")

    with pytest.raises(TransportError):
        perform_pace(Dead(), CANKey("123456"), pace_info=CCCD_PACE_PROFILES[0])


def test_result_repr_hides_secrets():
    res, _, _ = _run(CCCD_PACE_PROFILES[0].protocol, 13)
    text = repr(res)
    assert "session" not in text and "AES-128" in text


# --- policy ---------------------------------------------------------------------------------------------


def test_fallback_policy():
    pol = PACEPolicy()
    assert pol.may_fall_back_to_bac(card_access_available=False, pace_error=None)
    assert not pol.may_fall_back_to_bac(card_access_available=True, pace_error=None)
    assert pol.may_fall_back_to_bac(card_access_available=True, pace_error=UnsupportedProtocol("x"))
    assert not pol.may_fall_back_to_bac(card_access_available=True, pace_error=AccessDenied("x"))
    assert PACEPolicy(fallback_after_wrong_password=True).may_fall_back_to_bac(
        card_access_available=True, pace_error=AccessDenied("x"))
    assert not pol.may_fall_back_to_bac(card_access_available=True, pace_error=TransportError("x"))
    assert not pol.may_fall_back_to_bac(card_access_available=True, pace_error=AuthenticationError("x"))
    assert not PACEPolicy(allow_bac=False).may_fall_back_to_bac(card_access_available=False, pace_error=None)


# --- totality against hostile input ------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(step=st.integers(0, 4), data=st.binary(max_size=140),
       sw=st.sampled_from([0x9000, 0x6300, 0x6A80, 0x6982]), mapping=st.sampled_from(["2", "4", "6"]))
def test_any_chip_answer_gives_a_library_error(step, data, sw, mapping):
    info = PACEInfo(f"0.4.0.127.0.7.2.2.4.{mapping}.2", 2, 13)
    chip = PACEChip([info], [CANKey("123456")], chip_static_private_key=777)

    class Fuzz:
        n = 0

        def transmit(self, apdu: bytes) -> bytes:
            resp = chip.process(CommandAPDU.decode(apdu))
            self.n += 1
            if self.n == step + 1:
                return data + sw.to_bytes(2, "big")
            return resp.encode()

    with contextlib.suppress(CCCDError):
        perform_pace(Fuzz(), CANKey("123456"), pace_info=info)


@settings(max_examples=200, deadline=None)
@given(cla=st.sampled_from([0x00, 0x10]), ins=st.sampled_from([0x22, 0x86, 0xB0]),
       p1=st.sampled_from([0xC1, 0x00]), data=st.binary(max_size=120), prime=st.booleans())
def test_pace_chip_answers_anything(cla, ins, p1, data, prime):
    chip = PACEChip([CCCD_PACE_PROFILES[0]], [CANKey("123456")])
    if prime:
        chip.process(P.mse_set_at_pace(CCCD_PACE_PROFILES[0].protocol, 2, 13))
    resp = chip.process(CommandAPDU(cla, ins, p1, 0xA4 if ins == 0x22 else 0x00, data))
    assert isinstance(resp, ResponseAPDU)


def test_proprietary_parameters_from_a_domain_parameter_info():
    """A PACEInfo with a proprietary ID (>= 32) and explicit curve parameters in PACEDomainParameterInfo."""
    from cccd_reader.iso7816.tlv import decode_one, encode_tlv
    from cccd_reader.lds.security_infos import PublicKeyInfo

    dom = STANDARD_EC_DOMAINS[13]
    algorithm_identifier = decode_one(PublicKeyInfo.from_ec(dom, dom.generator, form="explicit").encode()
                                      ).children[0].encode()
    pace_info = PACEInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 40).encode()
    oid = bytes.fromhex("060904007F000702020402")  # id-PACE-ECDH-GM
    dpi = encode_tlv(0x30, oid + algorithm_identifier + bytes.fromhex("020128"))  # parameterId 40
    infos = parse_card_access(encode_tlv(0x31, pace_info + dpi))
    assert infos.pace_domain_parameter_infos[0].domain_parameter.ec_domain is dom
    info = infos.pace_infos[0]
    sent: list[bytes] = []

    class Relay:
        """The chip only knows ID 13; the terminal takes the curve from the explicit parameters."""

        def __init__(self) -> None:
            self.chip = PACEChip([PACEInfo(info.protocol, 2, 13)], [CANKey("123456")])

        def transmit(self, apdu: bytes) -> bytes:
            sent.append(apdu)
            if apdu[1] == 0x22:
                apdu = P.mse_set_at_pace(info.protocol, 2, 13).encode()
            return self.chip.process(CommandAPDU.decode(apdu)).encode()

    res = perform_pace(Relay(), CANKey("123456"), card_access=infos)
    assert res.parameter_id == 40 and res.domain_name == "brainpoolP256r1"
    assert sent[0].endswith(bytes.fromhex("840128"))


def test_hostile_explicit_parameters_in_card_access_are_a_library_error():
    """EF.CardAccess is read before any authentication: explicit parameters on a composite modulus or
    with a bogus order made PACE raise raw ValueError / AttributeError from the curve arithmetic."""
    from cccd_reader.asn1 import oids
    from cccd_reader.errors import CCCDError
    from cccd_reader.iso7816.tlv import encode_tlv
    from cccd_reader.lds.security_infos import _int, _oid, _seq

    def card_access(p: int, n: int, h: int, gx: int, gy: int, a: int) -> bytes:
        b = (gy * gy - gx ** 3 - a * gx) % p
        size = (p.bit_length() + 7) // 8
        def octets(v: int) -> bytes:
            return v.to_bytes(size, "big")

        params = _seq(_int(1), _seq(_oid(oids.ID_PRIME_FIELD), _int(p)),
                      _seq(encode_tlv(0x04, octets(a)), encode_tlv(0x04, octets(b))),
                      encode_tlv(0x04, b"\x04" + octets(gx) + octets(gy)), _int(n), _int(h))
        alg = _seq(_oid(oids.ID_EC_PUBLIC_KEY), params)
        return encode_tlv(0x31, _seq(_oid(oids.ID_PACE_ECDH_GM + ".2"), _int(2), _int(32))
                          + _seq(_oid(oids.ID_PACE_ECDH_GM), alg, _int(32)))

    class Answers:
        """MSE ok, an encrypted nonce, then the base point as the chip's mapping and ephemeral keys."""

        def __init__(self, point: bytes) -> None:
            self.answers = [b"", *(encode_tlv(0x7C, encode_tlv(tag, value)) for tag, value in
                                   ((0x80, bytes(16)), (0x82, point), (0x84, point), (0x86, bytes(8))))]

        def transmit(self, apdu: bytes) -> bytes:
            return (self.answers.pop(0) if self.answers else b"") + b"\x90\x00"

    cases = [(205, 206, 2, 163, 107, 173),  # p = 5 * 41: validating the chip's point divided by 0 mod p
             (11337277303060511803, 4, 2, 11313281194502604715, 8066423484344819778, 11302144373809538354)]
    for params in cases:
        with pytest.raises(CCCDError):
            size = (params[0].bit_length() + 7) // 8
            point = b"\x04" + params[3].to_bytes(size, "big") + params[4].to_bytes(size, "big")
            perform_pace(Answers(point), CANKey("123456"), card_access=card_access(*params),
                         random_bytes=lambda k: b"\x01" * k)


@pytest.mark.parametrize("q", [0, 1, 2, 3])
@pytest.mark.parametrize("mapping", ["GM", "IM"])
def test_hostile_explicit_dh_subgroup_order_in_card_access(q: int, mapping: str):
    """Explicit DH parameters with q = 0 or 1 in EF.CardAccess made the private-key draw loop forever
    (nothing lies in [1, q)); q = 0 divided by zero in the Integrated Mapping. Now the parameter set is
    refused as unsupported, before any exchange."""
    from cccd_reader.asn1 import oids
    from cccd_reader.crypto.dh import STANDARD_DH_DOMAINS
    from cccd_reader.errors import CCCDError
    from cccd_reader.iso7816.tlv import encode_tlv
    from cccd_reader.lds.security_infos import _int, _oid, _seq

    dom = STANDARD_DH_DOMAINS[0]
    base = oids.ID_PACE_DH_GM if mapping == "GM" else oids.ID_PACE_DH_IM
    alg = _seq(_oid(oids.DH_PUBLIC_NUMBER), _seq(_int(dom.p), _int(3), _int(q)))
    card_access = encode_tlv(0x31, _seq(_oid(base + ".2"), _int(2), _int(32))
                             + _seq(_oid(base), alg, _int(32)))
    sent: list[bytes] = []

    class Answers:
        def transmit(self, apdu: bytes) -> bytes:
            sent.append(apdu)
            return encode_tlv(0x7C, encode_tlv(0x80 if len(sent) == 2 else 0x82, bytes(16))) + b"\x90\x00"

    with pytest.raises(CCCDError):
        perform_pace(Answers(), CANKey("123456"), card_access=card_access, random_bytes=lambda k: b"\x01" * k)
    assert sent == []


def test_private_key_draw_needs_a_bound_of_two():
    from cccd_reader.errors import InputError
    from cccd_reader.transport.base import random_int_below

    for bound in (0, 1):
        with pytest.raises(InputError):
            random_int_below(lambda k: b"\x00" * k, bound)
    assert random_int_below(lambda k: b"\x01" * k, 2) == 1
