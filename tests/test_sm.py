"""Secure messaging: pinned byte-for-byte to ICAO 9303-11 Appendix D.4, the further 3DES vectors, the
AES vectors and the BSI TR-03110 worked-example SM steps; then the strict-mode and naked-SW state machine."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cccd_reader.crypto import primitives as P
from cccd_reader.crypto.sm import DO_MAC, DO_STATUS, SMSession, max_plain_response
from cccd_reader.errors import (
    CardError,
    EndOfFile,
    FileNotFoundOnCard,
    ParseError,
    SecureMessagingError,
    SecurityStatusNotSatisfied,
    TransportError,
    WrongLength,
)
from cccd_reader.iso7816.apdu import CommandAPDU
from cccd_reader.transport.secure import SecureMessagingTransport

H = bytes.fromhex


def _ssc(hexstr: str) -> int:
    return int(hexstr, 16)


# --- primitives against external vectors --------------------------------------------------------------


def test_retail_mac_vectors(vectors: dict[str, Any]) -> None:
    cases = [c for c in vectors["sm_3des_additional"]["cases"] if "mac_input_padded" in c]
    assert len(cases) == 2
    for case in cases:
        assert P.retail_mac(H(case["ks_mac"]), H(case["mac_input_padded"]), padded=True) == H(case["mac"])


def test_bac_mac_over_e_ifd(vectors: dict[str, Any]) -> None:
    v = vectors["bac_mutual_auth"]
    assert P.retail_mac(H(v["kmac"]), H(v["e_ifd"])) == H(v["m_ifd"])
    assert P.des3_cbc_encrypt(H(v["kenc"]), H(v["s"])) == H(v["e_ifd"])


def test_padding() -> None:
    assert P.pad(b"", 8) == H("8000000000000000")
    assert P.pad(bytes(8), 8) == bytes(8) + H("8000000000000000")
    assert P.pad(b"\x01" * 15, 16) == b"\x01" * 15 + b"\x80"
    assert P.unpad(H("0102800000")) == H("0102")
    with pytest.raises(ParseError):
        P.unpad(H("01020000"))
    with pytest.raises(ParseError):
        P.unpad(b"")


@given(st.binary(max_size=64), st.sampled_from([8, 16]))
@settings(max_examples=200)
def test_pad_roundtrip(data: bytes, block: int) -> None:
    padded = P.pad(data, block)
    assert len(padded) % block == 0 and len(padded) > len(data)
    assert P.unpad(padded) == data


@pytest.mark.parametrize("set_name", ["bsi_eac_worked_example_ecdh", "bsi_eac_worked_example_dh"])
def test_bsi_sm_examples(vectors: dict[str, Any], set_name: str) -> None:
    v = vectors[set_name]
    enc, mac = v["sm_examples"]
    s = SMSession(H(v["ks_enc"]), H(v["ks_mac"]), "AES-128", ssc=_ssc(enc["ssc"]))
    assert s.encrypt(H(enc["plain"])) == H(enc["cipher_padded"])
    assert s.decrypt(H(enc["cipher_padded"])) == H(enc["plain"])
    s.ssc = _ssc(mac["ssc"])
    assert s.mac(H(mac["data"])) == H(mac["mac"])


def test_aes_iv_is_encrypted_ssc(vectors: dict[str, Any]) -> None:
    c = vectors["aes_secure_messaging"]["cases"][0]
    assert P.aes_ecb_block(H(c["ks_enc"]), H(c["ssc"])) == H(c["iv_derived"])


# --- ICAO 9303-11 D.4, step by step ---------------------------------------------------------------------


def test_icao_d4_terminal_side(vectors: dict[str, Any]) -> None:
    v = vectors["bac_secure_messaging"]
    s = SMSession(H(v["ks_enc"]), H(v["ks_mac"]), "3DES", ssc=_ssc(v["ssc_initial"]))
    plain = b""
    for step in v["steps"]:
        assert s.ssc_bytes == H(step["ssc_before"])
        cmd = CommandAPDU.decode(H(step["unprotected_command"]))
        assert s.protect_command(cmd) == H(step["protected_command"]), step["step"]
        assert s.ssc_bytes == H(step["ssc_cmd"])
        out = s.unprotect_response(H(step["protected_response"]))
        assert out == H(step["unprotected_response"]), step["step"]
        assert s.ssc_bytes == H(step["ssc_rsp"])
        plain += out[:-2]
    assert plain == H(v["ef_com_plain"])


def test_icao_d4_mac_inputs(vectors: dict[str, Any]) -> None:
    """The MAC input N printed by ICAO (SSC || padded header || DOs, padded) gives the printed CC."""
    v = vectors["bac_secure_messaging"]
    for step in v["steps"]:
        assert P.retail_mac(H(v["ks_mac"]), H(step["n_mac_input_padded"]), padded=True) == H(step["cc"])
        k_input = H(step["k_mac_input_padded"])
        assert P.retail_mac(H(v["ks_mac"]), k_input, padded=True) == H(step["cc_response"])


def test_icao_d4_chip_side(vectors: dict[str, Any]) -> None:
    """The chip half of the same exchange: unprotect the printed command, produce the printed response."""
    v = vectors["bac_secure_messaging"]
    chip = SMSession(H(v["ks_enc"]), H(v["ks_mac"]), "3DES", ssc=_ssc(v["ssc_initial"]))
    for step in v["steps"]:
        cmd = chip.unprotect_command(H(step["protected_command"]))
        expected = CommandAPDU.decode(H(step["unprotected_command"]))
        assert (cmd.cla, cmd.ins, cmd.p1, cmd.p2, cmd.data, cmd.le) == (
            expected.cla, expected.ins, expected.p1, expected.p2, expected.data, expected.le)
        assert chip.ssc_bytes == H(step["ssc_cmd"])
        plain = H(step["unprotected_response"])
        sw = int.from_bytes(plain[-2:], "big")
        assert chip.protect_response(plain[:-2], sw) == H(step["protected_response"])


def test_3des_additional(vectors: dict[str, Any]) -> None:
    cases = {c["name"]: c for c in vectors["sm_3des_additional"]["cases"]}
    c = cases["protect SELECT 0101 (NFCPassportReader)"]
    s = SMSession(H(c["ks_enc"]), H(c["ks_mac"]), "3DES", ssc=_ssc(c["ssc_before"]))
    assert s.protect_command(CommandAPDU.decode(H(c["unprotected_command"]))) == H(c["protected_command"])
    for name in ("unprotect status-only response (NFCPassportReader)",
                 "unprotect response with data (NFCPassportReader)"):
        c = cases[name]
        s = SMSession(H(c["ks_enc"]), H(c["ks_mac"]), "3DES", ssc=_ssc(c["ssc_before"]))
        assert s.unprotect_response(H(c["protected_response"])) == H(c["unprotected_response"])


def test_aes_vectors(vectors: dict[str, Any]) -> None:
    cases = {c["name"]: c for c in vectors["aes_secure_messaging"]["cases"]}
    c = cases["protect MSE:Set AT for CA (gmrtd TestSecureMessageEncode, AES-128)"]
    s = SMSession(H(c["ks_enc"]), H(c["ks_mac"]), "AES-128", ssc=_ssc(c["ssc_before"]))
    assert s.protect_command(CommandAPDU.decode(H(c["unprotected_command"]))) == H(c["protected_command"])
    assert s.ssc_bytes == H(c["ssc_used"])

    c = cases["unprotect 223-byte READ BINARY response (gmrtd TestSecureMessageDecode, AES-128)"]
    s = SMSession(H(c["ks_enc"]), H(c["ks_mac"]), "AES-128", ssc=_ssc(c["ssc_before"]))
    out = s.unprotect_response(H(c["protected_response"]))
    assert out == H(c["unprotected_data"]) + H(c["sw"])
    assert len(out) - 2 == 223 == max_plain_response("AES-128", extended=False)
    assert s.ssc_bytes == H(c["ssc_used"])
    # and the chip side reproduces that 223-byte response exactly
    chip = SMSession(H(c["ks_enc"]), H(c["ks_mac"]), "AES-128", ssc=_ssc(c["ssc_before"]))
    assert chip.protect_response(H(c["unprotected_data"]), 0x9000) == H(c["protected_response"])
    assert len(H(c["protected_response"])) - 2 <= 256

    c = cases["decrypt DO'87' with AES-256 keys (gmrtd TestDecodeSmRApduData)"]
    s = SMSession(H(c["ks_enc"]), H(c["ks_mac"]), "AES-256", ssc=_ssc(c["ssc_used"]))
    assert s.decrypt(H(c["do87_value"])[1:]) == H(c["plain"])

    c = cases["SSC increment wraps (gmrtd TestSSCIncrement)"]
    s = SMSession(bytes(16), bytes(16), "AES-128", ssc=_ssc(c["ssc"]))
    s.increment()
    assert s.ssc_bytes == H(c["ssc_incremented"])


def test_max_plain_response() -> None:
    assert max_plain_response("AES-128", extended=False) == 223
    assert max_plain_response("AES-256", extended=False) == 223
    assert max_plain_response("3DES", extended=False) == 231
    assert max_plain_response(None, extended=False) == 256
    assert max_plain_response(None, extended=True) == 65536
    # the extended figures are the same sum with a 3-byte DO87 length field
    assert max_plain_response("AES-128", extended=True) == 65503
    assert max_plain_response("3DES", extended=True) == 65511


@pytest.mark.parametrize("cipher,key_len", [("3DES", 16), ("AES-128", 16), ("AES-192", 24), ("AES-256", 32)])
def test_largest_response_fits(cipher: str, key_len: int) -> None:
    n = max_plain_response(cipher, extended=False)
    chip = SMSession(b"\x11" * key_len, b"\x22" * key_len, cipher)
    assert len(chip.protect_response(bytes(n), 0x9000)) - 2 <= 256
    chip2 = SMSession(b"\x11" * key_len, b"\x22" * key_len, cipher)
    assert len(chip2.protect_response(bytes(n + 1), 0x9000)) - 2 > 256


# --- round trips and encoding of Le, extended and odd INS ---------------------------------------------


def _pair(cipher: str = "AES-128", ssc: int = 0) -> tuple[SMSession, SMSession]:
    n = {"3DES": 16, "AES-128": 16, "AES-192": 24, "AES-256": 32}[cipher]
    k1, k2 = bytes(range(n)), bytes(range(100, 100 + n))
    return SMSession(k1, k2, cipher, ssc), SMSession(k1, k2, cipher, ssc)


@given(
    cipher=st.sampled_from(["3DES", "AES-128", "AES-192", "AES-256"]),
    ins=st.integers(0, 255).filter(lambda i: i not in (0x60, 0x90)),
    data=st.binary(max_size=300),
    le=st.one_of(st.none(), st.integers(1, 65536)),
    resp=st.binary(max_size=300),
    sw=st.sampled_from([0x9000, 0x6282, 0x6A82, 0x6700]),
    ssc=st.integers(0, 2**64 - 1),
)
@settings(max_examples=150, deadline=None)
def test_roundtrip(
    cipher: str, ins: int, data: bytes, le: int | None, resp: bytes, sw: int, ssc: int
) -> None:
    term, chip = _pair(cipher, ssc)
    cmd = CommandAPDU(0x00, ins, 0x12, 0x34, data, le)
    got = chip.unprotect_command(term.protect_command(cmd))
    assert (got.cla, got.ins, got.p1, got.p2, got.data, got.le) == (0, ins, 0x12, 0x34, data, le)
    assert got.extended == cmd.extended
    wire = chip.protect_response(resp, sw, odd_ins=bool(ins & 1))
    assert term.unprotect_response(wire) == resp + sw.to_bytes(2, "big")
    assert term.ssc == chip.ssc


def test_odd_ins_uses_do85_and_extended_le() -> None:
    term, chip = _pair("3DES")
    wire = term.protect_command(CommandAPDU(0, 0xB1, 0, 0, H("54028000"), le=1000))
    body = CommandAPDU.decode(wire)
    assert body.data[0] == 0x85 and body.force_extended and body.le == 65536
    assert H("97020" + "3E8") in body.data  # DO97 carries the 2-byte Le
    assert chip.unprotect_command(wire).le == 1000
    # DO85 has no padding-indicator byte: its value is whole cipher blocks
    assert body.data[1] == 8


def test_case1_command_has_only_mac_and_le00() -> None:
    term, _ = _pair("3DES")
    wire = term.protect_command(CommandAPDU(0, 0x20, 0, 0))
    assert wire[:5] == H("0C2000000A") and wire[5:7] == H("8E08") and wire[-1] == 0


def test_repr_has_no_keys() -> None:
    s = SMSession(H("979EC13B1CBFE9DCD01AB0FED307EAE5"), H("F1CB1F1FB5ADF208806B89DC579DC1F8"), "3DES")
    text = repr(s) + str(s)
    assert "979E" not in text.upper() and "F1CB" not in text.upper() and "3DES" in text


# --- strict checks ------------------------------------------------------------------------------------


def _term_after_command(cipher: str = "3DES") -> tuple[SMSession, SMSession]:
    term, chip = _pair(cipher)
    chip.unprotect_command(term.protect_command(CommandAPDU(0, 0xB0, 0, 0, le=4)))
    return term, chip


def test_bad_response_mac_rejected_and_session_dead() -> None:
    term, chip = _term_after_command()
    good = bytearray(chip.protect_response(b"abcd", 0x9000))
    good[-3] ^= 0x01
    with pytest.raises(SecureMessagingError, match="MAC"):
        term.unprotect_response(bytes(good))
    assert not term.usable
    with pytest.raises(SecureMessagingError, match="no longer usable"):
        term.protect_command(CommandAPDU(0, 0xB0, 0, 0, le=4))


def test_response_without_mac_rejected() -> None:
    term, _ = _term_after_command()
    with pytest.raises(SecureMessagingError, match="DO8E"):
        term.unprotect_response(H("990290009000"))


def test_response_without_do99_rejected_in_strict_mode() -> None:
    term, chip = _term_after_command()
    chip.increment()
    body = H("8E08") + chip.mac(b"")
    with pytest.raises(SecureMessagingError, match="DO99"):
        term.unprotect_response(body + H("9000"))
    # tolerated when not strict (the MAC is still checked)
    term2, chip2 = _term_after_command()
    chip2.increment()
    assert term2.unprotect_response(H("8E08") + chip2.mac(b"") + H("9000"), strict=False) == H("9000")


def test_do99_must_match_outer_sw() -> None:
    term, chip = _term_after_command()
    forged = chip.protect_response(b"", 0x6A82)[:-2] + H("9000")
    with pytest.raises(SecureMessagingError, match="disagrees"):
        term.unprotect_response(forged)


def test_data_after_mac_or_unknown_do_rejected() -> None:
    term, chip = _term_after_command()
    resp = chip.protect_response(b"", 0x9000)
    with pytest.raises(SecureMessagingError, match="malformed"):
        term.unprotect_response(resp[:-2] + H("990290009000"))
    term, chip = _term_after_command()
    with pytest.raises(SecureMessagingError, match="malformed"):
        term.unprotect_response(H("5301008E080000000000000000") + H("9000"))


@pytest.mark.parametrize("raw", [b"", b"\x90", H("87"), H("8E0812349000"), H("8781")])
def test_garbage_responses_raise_sm_error(raw: bytes) -> None:
    term, _ = _term_after_command()
    with pytest.raises(SecureMessagingError):
        term.unprotect_response(raw)


@given(st.binary(max_size=80))
@settings(max_examples=200)
def test_unprotect_response_is_total(raw: bytes) -> None:
    # random bytes are never a valid protected answer (a random MAC does not verify): always a typed error
    term, _ = _term_after_command("AES-128")
    with pytest.raises(CardError) as info:
        term.unprotect_response(raw)
    if len(raw) != 2:  # not a bare status word: a secure-messaging failure, and the session is dead
        assert isinstance(info.value, SecureMessagingError)
        assert not term.usable


@pytest.mark.parametrize("cipher", ["3DES", "AES-128"])
@pytest.mark.parametrize("sw", [0x9000, 0x6282, 0x6A82])
def test_status_only_answer_with_a_bad_mac_is_refused(cipher: str, sw: int) -> None:
    # DO99 + DO8E and no data: the shortest protected answer. One flipped MAC bit must be caught.
    term, chip = _term_after_command(cipher)
    answer = bytearray(chip.protect_response(b"", sw))
    assert answer[0] == DO_STATUS and answer[4] == DO_MAC  # 99 02 SW1 SW2 8E 08 MAC SW1 SW2
    answer[-3] ^= 0x01
    with pytest.raises(SecureMessagingError, match="MAC"):
        term.unprotect_response(bytes(answer))
    assert not term.usable
    # and intact, the same answer goes through with its status word
    term, chip = _term_after_command(cipher)
    assert term.unprotect_response(chip.protect_response(b"", sw)) == sw.to_bytes(2, "big")


@given(st.binary(max_size=80))
@settings(max_examples=200)
def test_unprotect_command_is_total(raw: bytes) -> None:
    _, chip = _pair("3DES")
    with pytest.raises(SecureMessagingError) as info:
        chip.unprotect_command(raw)
    assert info.value.sw in (0x6987, 0x6988)


def test_chip_side_rejects_plain_and_bad_mac() -> None:
    term, chip = _pair("3DES")
    with pytest.raises(SecureMessagingError) as info:
        chip.unprotect_command(H("00B0000004"))
    assert info.value.sw == 0x6987 and not chip.usable
    term, chip = _pair("3DES")
    wire = bytearray(term.protect_command(CommandAPDU(0, 0xB0, 0, 0, le=4)))
    wire[-2] ^= 0xFF
    with pytest.raises(SecureMessagingError) as info:
        chip.unprotect_command(bytes(wire))
    assert info.value.sw == 0x6988


# --- naked status words -------------------------------------------------------------------------------


@pytest.mark.parametrize("sw,exc,usable", [
    (0x6700, WrongLength, True),
    (0x6A82, FileNotFoundOnCard, True),
    (0x6982, SecurityStatusNotSatisfied, True),
    (0x6B00, EndOfFile, True),
    (0x6987, SecureMessagingError, False),
    (0x6988, SecureMessagingError, False),
])
def test_naked_error_sw(sw: int, exc: type[Exception], usable: bool) -> None:
    term, chip = _pair("AES-128")
    before = term.ssc
    term.protect_command(CommandAPDU(0, 0xB0, 0, 0, le=0xFF))  # refused before the chip's SM layer saw it
    assert term.ssc == before + 1
    with pytest.raises(exc) as info:
        term.unprotect_response(sw.to_bytes(2, "big"))
    assert getattr(info.value, "sw", None) == sw
    assert term.ssc == before == chip.ssc  # rolled back: the chip did not count the command
    assert term.usable is usable
    assert term.last_naked_sw == sw
    if usable:  # the next exchange lines up with the chip
        chip.unprotect_command(term.protect_command(CommandAPDU(0, 0xB0, 0, 0, le=4)))
        assert term.unprotect_response(chip.protect_response(b"1234", 0x9000)) == b"1234\x90\x00"


def test_naked_6cxx_carries_correct_le() -> None:
    term, _ = _term_after_command()
    with pytest.raises(WrongLength) as info:
        term.unprotect_response(H("6C10"))
    assert info.value.correct_le == 0x10


@pytest.mark.parametrize("sw", [0x9000, 0x6282, 0x6100])
def test_naked_success_or_warning_is_never_accepted(sw: int) -> None:
    term, _ = _term_after_command()
    with pytest.raises(SecureMessagingError):
        term.unprotect_response(sw.to_bytes(2, "big"))
    assert not term.usable


def test_naked_sw_non_strict_returns_plain_sw() -> None:
    term, _ = _term_after_command()
    assert term.unprotect_response(H("6A82"), strict=False) == H("6A82")
    assert term.usable


# --- the transport ------------------------------------------------------------------------------------


class _ChipLink:
    """A tiny chip that answers every READ BINARY with 'abcd' through its own SM session."""

    def __init__(self, chip: SMSession, fail: bool = False) -> None:
        self.chip, self.fail, self.seen = chip, fail, []  # type: ignore[var-annotated]

    def transmit(self, apdu: bytes) -> bytes:
        if self.fail:
            raise TransportError("tag lost")
        self.seen.append(apdu)
        cmd = self.chip.unprotect_command(apdu)
        return self.chip.protect_response(b"abcd"[: cmd.le], 0x9000)


def test_transport_wraps_and_counts() -> None:
    term, chip = _pair("AES-128")
    link = _ChipLink(chip)
    t = SecureMessagingTransport(link, term)
    assert t.transmit(H("00B0000004")) == b"abcd\x90\x00"
    assert link.seen[0][0] == 0x0C
    assert t.last_wire_sizes == (len(link.seen[0]), 3 + 16 + 4 + 10 + 2)
    assert t.max_read_length() == 223 and t.cipher == "AES-128"


def test_transport_link_loss_kills_session() -> None:
    term, chip = _pair("AES-128")
    t = SecureMessagingTransport(_ChipLink(chip, fail=True), term)
    with pytest.raises(TransportError):
        t.transmit(H("00B0000004"))
    assert not term.usable


def test_aes_cmac_rfc4493() -> None:
    """RFC 4493 §4 examples (AES-128)."""
    key = H("2B7E151628AED2A6ABF7158809CF4F3C")
    assert P.aes_cmac(key, b"") == H("BB1D6929E95937287FA37D129B756746")
    assert P.aes_cmac(key, H("6BC1BEE22E409F96E93D7E117393172A")) == H("070A16B46B4D4144F79BDD9DD04A287C")


def test_retail_mac_single_block_is_ede() -> None:
    """With one block, ISO 9797-1 alg. 3 is E_K1(D_K2(E_K1(x))): two-key 3DES-EDE of that block."""
    key = H("7962D9ECE03D1ACD4C76089DCE131543")
    block = H("0102030405068000")
    assert P.retail_mac(key, block, padded=True) == P.des3_cbc_encrypt(key, block)
    assert P.retail_mac(key, H("010203040506")) == P.des3_cbc_encrypt(key, block)


def test_primitive_argument_checks() -> None:
    with pytest.raises(ValueError):
        P.retail_mac(bytes(8), bytes(8))
    with pytest.raises(ValueError):
        P.des3_cbc_encrypt(bytes(16), bytes(7))
    with pytest.raises(ValueError):
        P.aes_ecb_block(bytes(16), bytes(8))
    with pytest.raises(ValueError):
        P.aes_cbc_encrypt(bytes(20), bytes(16), bytes(16))
    with pytest.raises(ValueError):
        P.block_size("DES")
    with pytest.raises(ValueError):
        SMSession(bytes(16), bytes(16), "AES-256")
    with pytest.raises(ValueError):
        SMSession(bytes(16), bytes(16), "3DES", ssc=1 << 64)
