"""BAC pinned to ICAO 9303-11 Appendix D.1-D.3 (terminal and chip side), then the refusal paths."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from scripted_chip import ScriptedChip

from cccd_reader.crypto.kdf import ENC, MAC, kdf
from cccd_reader.errors import (
    AccessDenied,
    CardError,
    InputError,
    SecurityStatusNotSatisfied,
    UnsupportedProtocol,
)
from cccd_reader.iso7816.apdu import CommandAPDU
from cccd_reader.keys import MRZKey
from cccd_reader.protocols.bac import BACChip, perform_bac

H = bytes.fromhex

# ICAO 9303-11 Appendix D specimen (document L898902C<, born 1969-08-06, expires 1994-06-23)
ICAO_KEY = MRZKey("L898902C<", dt.date(1969, 8, 6), dt.date(1994, 6, 23))


def feeder(*chunks: bytes) -> Any:
    """A random_bytes that hands out exactly these values, in order, and checks the sizes asked for."""
    queue: Iterator[bytes] = iter(chunks)

    def random_bytes(n: int) -> bytes:
        value = next(queue)
        assert len(value) == n, f"asked for {n} bytes, expected a draw of {len(value)}"
        return value

    return random_bytes


def test_key_derivation_d1_d2(vectors: dict[str, Any]) -> None:
    case = vectors["bac_key_derivation"]["cases"][0]
    assert ICAO_KEY.mrz_information == case["mrz_information"]
    assert ICAO_KEY.k_seed == H(case["kseed"])
    assert ICAO_KEY.bac_keys() == (H(case["kenc"]), H(case["kmac"]))
    session = vectors["bac_key_derivation"]["cases"][2]
    assert kdf(H(session["kseed"]), ENC, "3DES") == H(session["kenc"])
    assert kdf(H(session["kseed"]), MAC, "3DES") == H(session["kmac"])


def test_terminal_side_d3(vectors: dict[str, Any]) -> None:
    v = vectors["bac_mutual_auth"]
    apdus = [(H(a["command"]), H(a["response"])) for a in v["apdus"]]
    link = ScriptedChip(apdus)
    result = perform_bac(link, ICAO_KEY, random_bytes=feeder(H(v["rnd_ifd"]), H(v["k_ifd"])))
    assert not link.pairs
    assert link.sent[1][5:-1] == H(v["cmd_data"])
    s = result.session
    assert s.cipher == "3DES"
    assert s._ks_enc == H(v["ks_enc"]) and s._ks_mac == H(v["ks_mac"])
    assert s.ssc_bytes == H(v["ssc"])
    assert result.rnd_icc == H(v["rnd_icc"])
    assert "session" not in repr(result) and "979E" not in repr(result).upper()


def test_chip_side_d3(vectors: dict[str, Any]) -> None:
    v = vectors["bac_mutual_auth"]
    chip = BACChip.from_key(ICAO_KEY, random_bytes=feeder(H(v["rnd_icc"]), H(v["k_icc"])))
    (c1, r1), (c2, r2) = [(H(a["command"]), H(a["response"])) for a in v["apdus"]]
    assert chip.respond(CommandAPDU.decode(c1)).encode() == r1
    assert chip.respond(CommandAPDU.decode(c2)).encode() == r2
    assert chip.session is not None
    assert chip.session.ssc_bytes == H(v["ssc"])
    assert chip.session._ks_enc == H(v["ks_enc"])
    assert chip.session._ks_mac == H(v["ks_mac"])


def test_bac_then_d4_secure_messaging(vectors: dict[str, Any]) -> None:
    """The session BAC returns continues straight into the D.4 exchange."""
    v, sm = vectors["bac_mutual_auth"], vectors["bac_secure_messaging"]
    pairs = [(H(a["command"]), H(a["response"])) for a in v["apdus"]]
    pairs += [(H(s["protected_command"]), H(s["protected_response"])) for s in sm["steps"]]
    link = ScriptedChip(pairs)
    result = perform_bac(link, ICAO_KEY, random_bytes=feeder(H(v["rnd_ifd"]), H(v["k_ifd"])))
    from cccd_reader.transport.secure import SecureMessagingTransport

    t = SecureMessagingTransport(link, result.session)
    out = b"".join(t.transmit(H(s["unprotected_command"]))[:-2] for s in sm["steps"])
    assert out == H(sm["ef_com_plain"])


def _chip_link(chip: BACChip) -> Any:
    class Link:
        def transmit(self, apdu: bytes) -> bytes:
            return chip.respond(CommandAPDU.decode(apdu)).encode()

    return Link()


def test_wrong_key_is_access_denied_and_names_inputs() -> None:
    chip = BACChip.from_key(ICAO_KEY, random_bytes=feeder(H("0102030405060708")))
    wrong = MRZKey("L898902C<", dt.date(1969, 8, 7), dt.date(1994, 6, 23))
    with pytest.raises(AccessDenied) as info:
        perform_bac(_chip_link(chip), wrong, random_bytes=feeder(bytes(8), bytes(16)))
    msg = str(info.value)
    assert "6300" in msg and "date of birth" in msg and "document number" in msg
    assert "L898902C" not in msg and "690807" not in msg  # no personal data in the message
    assert chip.failures == 1


class _OneShot:
    """Challenge, then a fixed EXTERNAL AUTHENTICATE answer; counts the commands."""

    def __init__(self, answer: bytes, challenge: bytes = H("4608F91988702212")) -> None:
        self.answer, self.challenge, self.count = answer, challenge, 0

    def transmit(self, apdu: bytes) -> bytes:
        self.count += 1
        if apdu[1] == 0x84:
            return self.challenge + b"\x90\x00"
        return self.answer


@pytest.mark.parametrize("sw", [0x6300, 0x6982, 0x6985])
def test_refusal_status_words(sw: int) -> None:
    link = _OneShot(sw.to_bytes(2, "big"))
    with pytest.raises(AccessDenied, match=f"{sw:04X}"):
        perform_bac(link, ICAO_KEY, random_bytes=feeder(bytes(8), bytes(16)))


def test_bad_cryptogram_is_access_denied_without_retry(vectors: dict[str, Any]) -> None:
    v = vectors["bac_mutual_auth"]
    answer = bytearray(H(v["resp_data"]))
    answer[3] ^= 1  # MAC no longer verifies
    link = _OneShot(bytes(answer) + b"\x90\x00")
    with pytest.raises(AccessDenied, match="does not verify"):
        perform_bac(link, ICAO_KEY, random_bytes=feeder(H(v["rnd_ifd"]), H(v["k_ifd"])))
    assert link.count == 2
    short = _OneShot(H(v["resp_data"])[:39] + b"\x90\x00")
    with pytest.raises(AccessDenied):
        perform_bac(short, ICAO_KEY, random_bytes=feeder(H(v["rnd_ifd"]), H(v["k_ifd"])))


def test_answer_for_another_challenge_is_rejected(vectors: dict[str, Any]) -> None:
    """A valid cryptogram that does not contain our RND.IFD (a replayed answer) is refused."""
    v = vectors["bac_mutual_auth"]
    link = _OneShot(H(v["resp_data"]) + b"\x90\x00")
    with pytest.raises(AccessDenied, match="challenge"):
        perform_bac(link, ICAO_KEY, random_bytes=feeder(bytes(8), H(v["k_ifd"])))


@pytest.mark.parametrize("sw,exc", [(0x6D00, UnsupportedProtocol), (0x6982, SecurityStatusNotSatisfied),
                                    (0x6A82, CardError)])
def test_get_challenge_errors(sw: int, exc: type[Exception]) -> None:
    with pytest.raises(exc):
        perform_bac(_Fixed(sw), ICAO_KEY)


class _Fixed:
    def __init__(self, sw: int) -> None:
        self.sw = sw

    def transmit(self, apdu: bytes) -> bytes:
        return self.sw.to_bytes(2, "big")


def test_short_challenge() -> None:
    with pytest.raises(CardError, match="instead of 8"):
        perform_bac(_OneShot(b"", challenge=H("0102")), ICAO_KEY)


def test_random_source_must_give_the_size_asked() -> None:
    with pytest.raises(InputError):
        perform_bac(_OneShot(b""), ICAO_KEY, random_bytes=lambda n: b"\x00")


def test_chip_round_trip_with_default_randomness() -> None:
    chip = BACChip.from_key(ICAO_KEY)
    result = perform_bac(_chip_link(chip), ICAO_KEY)
    assert chip.session is not None and chip.session.ssc == result.session.ssc
    assert chip.session._ks_enc == result.session._ks_enc


def test_chip_rules() -> None:
    chip = BACChip.from_key(ICAO_KEY, random_bytes=feeder(bytes(8)))
    ea = CommandAPDU(0, 0x82, 0, 0, bytes(40), le=40)
    assert chip.respond(ea).sw == 0x6985  # no challenge yet
    assert chip.respond(CommandAPDU(0, 0x84, 0, 0, le=4)).sw == 0x6700
    assert chip.respond(CommandAPDU(0, 0x84, 0, 0, le=8)).sw == 0x9000
    assert chip.respond(CommandAPDU(0, 0x82, 0, 0, bytes(8), le=40)).sw == 0x6700
    assert chip.respond(ea).sw == 0x6985  # the challenge was used up by the failed attempt
    assert chip.respond(CommandAPDU(0, 0xB0, 0, 0, le=4)).sw == 0x6D00
    assert "ks" not in repr(chip).lower()
