"""Basic Access Control (ICAO 9303-11 §4.3, worked example Appendix D.3): both sides of the handshake.

The terminal (:func:`perform_bac`) and the chip (:class:`BACChip`, used by the emulator) share the
cryptogram code below, which is why the tests pin both to the printed D.3 values and not only to each
other.

Randomness contract (so recorded traces replay byte for byte): the terminal draws RND.IFD (8 bytes) and
then K.IFD (16 bytes) from one ``random_bytes`` callable, in that order, after GET CHALLENGE answered.
The chip draws RND.ICC (8) at GET CHALLENGE and K.ICC (16) at EXTERNAL AUTHENTICATE.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cccd_reader.crypto import primitives as P
from cccd_reader.crypto.kdf import ENC, MAC, kdf
from cccd_reader.crypto.sm import SMSession
from cccd_reader.errors import AccessDenied, CardError, InputError, UnsupportedProtocol
from cccd_reader.iso7816.apdu import CommandAPDU, ResponseAPDU, status_error
from cccd_reader.keys import MRZKey
from cccd_reader.transport.base import RandomBytes, Transport, default_random_bytes

INS_GET_CHALLENGE = 0x84
INS_EXTERNAL_AUTHENTICATE = 0x82
_AUTH_LENGTH = 0x28  # E (32) || M (8)

# Status words with which chips refuse a wrong BAC key (6300 in 9303, 6982 / 6985 seen in the field).
_REFUSED = (0x6300, 0x6982, 0x6985)


@dataclass(frozen=True)
class BACResult:
    """Outcome of BAC: the secure-messaging session and non-secret evidence of the run.

    ``rnd_icc`` is the chip's challenge (sent in clear). The session keys live only in ``session``
    (kept out of ``repr``).
    """

    session: SMSession = field(repr=False)
    rnd_icc: bytes
    ssc_initial: int = field(repr=False)
    apdus: int = 2
    protocol: str = "BAC"
    cipher: str = "3DES"


def _cryptogram(k_enc: bytes, k_mac: bytes, plain: bytes) -> bytes:
    e = P.des3_cbc_encrypt(k_enc, plain)
    return e + P.retail_mac(k_mac, e)


def _open_cryptogram(k_enc: bytes, k_mac: bytes, data: bytes) -> bytes | None:
    """Verify the MAC (constant time) and decrypt; ``None`` when the MAC or the length is wrong."""
    if len(data) != _AUTH_LENGTH:
        return None
    e, m = data[:32], data[32:]
    if not P.constant_time_equal(P.retail_mac(k_mac, e), m):
        return None
    return P.des3_cbc_decrypt(k_enc, e)


def session_from(k_ifd: bytes, k_icc: bytes, rnd_icc: bytes, rnd_ifd: bytes) -> SMSession:
    """KSenc/KSmac from K_seed = K.IFD xor K.ICC; SSC = RND.ICC[4:8] || RND.IFD[4:8]."""
    seed = bytes(a ^ b for a, b in zip(k_ifd, k_icc, strict=True))
    ssc = int.from_bytes(rnd_icc[4:] + rnd_ifd[4:], "big")
    return SMSession(kdf(seed, ENC, "3DES"), kdf(seed, MAC, "3DES"), "3DES", ssc)


def _draw(random_bytes: RandomBytes, n: int) -> bytes:
    value = random_bytes(n)
    if not isinstance(value, bytes | bytearray) or len(value) != n:
        raise InputError(f"random_bytes({n}) must return {n} bytes")
    return bytes(value)


def _denied(key: MRZKey, detail: str) -> AccessDenied:
    return AccessDenied(
        f"BAC failed: {detail}. Check {key.describe()}; the chip counts failed attempts, so do not "
        "retry with the same inputs"
    )


def perform_bac(transport: Transport, key: MRZKey, *, random_bytes: RandomBytes | None = None) -> BACResult:
    """Run BAC over ``transport`` and return the 3DES secure-messaging session.

    A wrong key (6300, 6982, 6985, or an answer whose MAC or RND.IFD does not match) raises
    :class:`AccessDenied` naming the inputs to check. It never retries: chips may slow down or block
    after repeated failures.
    """
    rand = random_bytes or default_random_bytes
    k_enc, k_mac = key.bac_keys()

    raw = transport.transmit(CommandAPDU(0x00, INS_GET_CHALLENGE, 0x00, 0x00, le=8).encode())
    resp = ResponseAPDU.decode(raw)
    if resp.sw in (0x6D00, 0x6E00, 0x6A81):
        raise UnsupportedProtocol(f"the chip does not offer BAC (GET CHALLENGE answered {resp.sw:04X})")
    if resp.sw != 0x9000:
        raise status_error(resp.sw, "BAC GET CHALLENGE")
    if len(resp.data) != 8:
        raise CardError(f"BAC GET CHALLENGE returned {len(resp.data)} bytes instead of 8", sw=resp.sw)
    rnd_icc = resp.data

    rnd_ifd = _draw(rand, 8)
    k_ifd = _draw(rand, 16)
    cmd_data = _cryptogram(k_enc, k_mac, rnd_ifd + rnd_icc + k_ifd)
    raw = transport.transmit(
        CommandAPDU(0x00, INS_EXTERNAL_AUTHENTICATE, 0x00, 0x00, cmd_data, le=_AUTH_LENGTH).encode()
    )
    resp = ResponseAPDU.decode(raw)
    if resp.sw in _REFUSED:
        raise _denied(key, f"the chip refused the key (SW {resp.sw:04X})")
    if resp.sw != 0x9000:
        raise status_error(resp.sw, "BAC EXTERNAL AUTHENTICATE")
    plain = _open_cryptogram(k_enc, k_mac, resp.data)
    if plain is None:
        raise _denied(key, "the chip's answer does not verify under the key")
    if not P.constant_time_equal(plain[8:16], rnd_ifd) or not P.constant_time_equal(plain[:8], rnd_icc):
        raise _denied(key, "the chip's answer does not contain our challenge")
    session = session_from(k_ifd, plain[16:32], rnd_icc, rnd_ifd)
    return BACResult(session=session, rnd_icc=rnd_icc, ssc_initial=session.ssc)


class BACChip:
    """Chip-side BAC responder: pure logic, no I/O, for the emulator.

    Feed it plain GET CHALLENGE / EXTERNAL AUTHENTICATE commands through :meth:`respond`; after a
    successful EXTERNAL AUTHENTICATE :attr:`session` holds the chip's half of the SM session. A wrong
    cryptogram answers 6300 and burns the challenge (a new GET CHALLENGE is needed), as chips do.
    """

    def __init__(self, k_enc: bytes, k_mac: bytes, *, random_bytes: RandomBytes | None = None) -> None:
        self._k_enc = bytes(k_enc)
        self._k_mac = bytes(k_mac)
        self._rand = random_bytes or default_random_bytes
        self._rnd_icc: bytes | None = None
        self.session: SMSession | None = None
        self.failures = 0

    @classmethod
    def from_key(cls, key: MRZKey, *, random_bytes: RandomBytes | None = None) -> BACChip:
        k_enc, k_mac = key.bac_keys()
        return cls(k_enc, k_mac, random_bytes=random_bytes)

    def __repr__(self) -> str:
        return f"BACChip(authenticated={self.session is not None}, failures={self.failures})"

    def handles(self, cmd: CommandAPDU) -> bool:
        return cmd.cla == 0x00 and cmd.ins in (INS_GET_CHALLENGE, INS_EXTERNAL_AUTHENTICATE)

    def respond(self, cmd: CommandAPDU) -> ResponseAPDU:
        if cmd.ins == INS_GET_CHALLENGE:
            return self.get_challenge(cmd)
        if cmd.ins == INS_EXTERNAL_AUTHENTICATE:
            return self.external_authenticate(cmd)
        return ResponseAPDU(b"", 0x6D00)

    def get_challenge(self, cmd: CommandAPDU) -> ResponseAPDU:
        if cmd.p1 or cmd.p2 or cmd.data:
            return ResponseAPDU(b"", 0x6A86)
        if cmd.le != 8:
            return ResponseAPDU(b"", 0x6700)
        self._rnd_icc = _draw(self._rand, 8)
        self.session = None
        return ResponseAPDU(self._rnd_icc, 0x9000)

    def external_authenticate(self, cmd: CommandAPDU) -> ResponseAPDU:
        rnd_icc, self._rnd_icc = self._rnd_icc, None  # one challenge, one attempt
        if rnd_icc is None:
            return ResponseAPDU(b"", 0x6985)
        if cmd.p1 or cmd.p2:
            return ResponseAPDU(b"", 0x6A86)
        if len(cmd.data) != _AUTH_LENGTH:
            return ResponseAPDU(b"", 0x6700)
        plain = _open_cryptogram(self._k_enc, self._k_mac, cmd.data)
        if plain is None or not P.constant_time_equal(plain[8:16], rnd_icc):
            self.failures += 1
            return ResponseAPDU(b"", 0x6300)
        rnd_ifd, k_ifd = plain[:8], plain[16:32]
        k_icc = _draw(self._rand, 16)
        answer = _cryptogram(self._k_enc, self._k_mac, rnd_icc + rnd_ifd + k_icc)
        self.session = session_from(k_ifd, k_icc, rnd_icc, rnd_ifd)
        return ResponseAPDU(answer, 0x9000)
