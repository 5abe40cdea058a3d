"""Active Authentication (ICAO 9303-11 §6.1): the chip signs a terminal challenge with the DG15 key.

* RSA: ISO/IEC 9796-2 digital signature scheme 1 with message recovery. The signature opens to
  ``header || M1 || H(M1 || challenge) || trailer``; trailer ``BC`` means SHA-1 (implicit), ``xx CC``
  names the hash (33 SHA-1, 38 SHA-224, 34 SHA-256, 36 SHA-384, 35 SHA-512). Written out by hand here:
  no maintained Python library implements 9796-2 message recovery.
* ECDSA: plain ``r || s`` (BSI TR-03111; DER is accepted too), hash from DG14's
  ActiveAuthenticationInfo. Without one, SHA-256 is tried first, then SHA-384, SHA-512, SHA-224 and
  SHA-1, and the hash that verified is reported (nothing else on the card says which one the chip uses).

Outcome (a failed AA is a clone signal; a link glitch is not):

* the chip answered with a signature: :class:`ActiveAuthResult` with ``passed`` True or False (and
  ``reason``); all evidence (challenge, signature, key) is kept for an offline re-check with
  :func:`verify_active_auth`;
* the chip refused INTERNAL AUTHENTICATE in an answer it could send (intact under secure messaging when
  it is used) or sent no signature at all: :class:`ActiveAuthenticationError`;
* the answer was damaged (:class:`SecureMessagingError`), came back as a bare status word without secure
  messaging, or had no status word: :class:`TransientError`, nothing proven; authenticate again and
  retry with a fresh challenge.

Le: 256 (short) for keys up to 2048 bits, extended 65536 above. Chips differ: some answer 6700 or an
empty response to one form and work with the other, so the other form is tried once on 6700 / empty;
6Cxx is followed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from cccd_reader.crypto import ec as _ec
from cccd_reader.errors import (
    ActiveAuthenticationError,
    CardError,
    InputError,
    ParseError,
    SecureMessagingError,
    TransientError,
    WrongLength,
)
from cccd_reader.iso7816.apdu import CommandAPDU, ResponseAPDU
from cccd_reader.lds.dg15 import DG15
from cccd_reader.lds.security_infos import DG14, PublicKeyInfo, SecurityInfos
from cccd_reader.transport.base import RandomBytes, Transport, default_random_bytes, random_int_below

TRAILER_HASHES: dict[int, str] = {0x33: "SHA-1", 0x38: "SHA-224", 0x34: "SHA-256", 0x36: "SHA-384",
                                  0x35: "SHA-512"}
HASH_TRAILERS: dict[str, bytes] = {"SHA-1": b"\xbc", **{v: bytes([k, 0xCC]) for k, v in TRAILER_HASHES.items()
                                                        if v != "SHA-1"}}
_ECDSA_FALLBACK = ("SHA-256", "SHA-384", "SHA-512", "SHA-224", "SHA-1")


def _digest(hash_name: str, data: bytes) -> bytes:
    return hashlib.new(hash_name.replace("-", "").lower(), data).digest()


# --- ISO/IEC 9796-2 scheme 1 ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Recovered:
    m1: bytes
    digest: bytes
    hash_name: str
    partial: bool


def iso9796_2_recover(modulus: int, exponent: int, signature: bytes) -> Recovered:
    """Open an ISO/IEC 9796-2 scheme 1 signature; raise ValueError when its structure is wrong."""
    s = int.from_bytes(signature, "big")
    if not 0 < s < modulus:
        raise ValueError("the signature is not below the modulus")
    f = pow(s, exponent, modulus)
    size = (modulus.bit_length() + 7) // 8
    fb = f.to_bytes(size, "big")
    if fb[0] == 0 and len(fb) > 1:
        fb = fb[1:]  # modulus length not a multiple of 8
    return open_9796_2_block(fb)


def open_9796_2_block(fb: bytes) -> Recovered:
    """Split a recovered message representative F = header || padding || M1 || H || trailer."""
    if len(fb) < 4:
        raise ValueError("the recovered block is too short")
    if fb[0] & 0xC0 != 0x40:
        raise ValueError("the recovered block has no 9796-2 header (01...)")
    partial = bool(fb[0] & 0x20)
    if fb[-1] == 0xBC:
        hash_name, trailer_len = "SHA-1", 1
    elif fb[-1] == 0xCC and fb[-2] in TRAILER_HASHES:
        hash_name, trailer_len = TRAILER_HASHES[fb[-2]], 2
    else:
        raise ValueError("unknown 9796-2 trailer")
    start = next((i for i, b in enumerate(fb) if b & 0x0F == 0x0A), None)
    if start is None or any(b != 0xBB for b in fb[1:start]) or fb[0] & 0x0F not in (0x0A, 0x0B):
        raise ValueError("bad 9796-2 padding field")
    hlen = len(_digest(hash_name, b""))
    end = len(fb) - trailer_len - hlen
    if end <= start:
        raise ValueError("the recovered block is too short")
    return Recovered(fb[start + 1 : end], fb[end : end + hlen], hash_name, partial)


def iso9796_2_sign(
    private_exponent: int, modulus: int, m1: bytes, m2: bytes, hash_name: str = "SHA-1"
) -> bytes:
    """Sign M1 || M2 with partial recovery of M1 (the emulator's AA chip). M1 fills the block exactly."""
    size = (modulus.bit_length() + 7) // 8
    trailer = HASH_TRAILERS[hash_name]
    block = b"\x6a" + m1 + _digest(hash_name, m1 + m2) + trailer
    if len(block) != size or modulus.bit_length() % 8:
        raise ValueError("M1 must fill the block; the modulus length must be a multiple of 8")
    return pow(int.from_bytes(block, "big"), private_exponent, modulus).to_bytes(size, "big")


def m1_length(modulus: int, hash_name: str = "SHA-1") -> int:
    size = (modulus.bit_length() + 7) // 8
    return size - 1 - len(_digest(hash_name, b"")) - len(HASH_TRAILERS[hash_name])


# --- verification ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveAuthResult:
    passed: bool
    algorithm: str  # "RSA-ISO9796-2" | "ECDSA"
    hash_name: str | None
    challenge: bytes = field(repr=False)
    signature: bytes = field(repr=False)
    key_bits: int = 0
    reason: str | None = None
    le: int | None = None
    public_key: PublicKeyInfo | None = field(default=None, repr=False, compare=False)

    @property
    def performed(self) -> str:
        return "AA"


def _key_of(dg15: DG15 | PublicKeyInfo | bytes) -> PublicKeyInfo:
    if isinstance(dg15, PublicKeyInfo):
        return dg15
    if isinstance(dg15, DG15):
        return dg15.public_key
    return DG15.decode(dg15).public_key


def _aa_hash(dg14: DG14 | SecurityInfos | None) -> str | None:
    if dg14 is None:
        return None
    infos = dg14.security_infos if isinstance(dg14, DG14) else dg14
    for info in infos.active_authentication_infos:
        if info.hash_name:
            return info.hash_name
    return None


def verify_active_auth(dg15: DG15 | PublicKeyInfo | bytes, challenge: bytes, signature: bytes, *,
                       dg14: DG14 | SecurityInfos | None = None) -> ActiveAuthResult:
    """Check an AA signature over ``challenge`` (usable offline on recorded evidence)."""
    key = _key_of(dg15)
    if key.algorithm == "RSA":
        assert key.rsa_modulus is not None and key.rsa_exponent is not None
        try:
            rec = iso9796_2_recover(key.rsa_modulus, key.rsa_exponent, signature)
        except ValueError as exc:
            return ActiveAuthResult(False, "RSA-ISO9796-2", None, challenge, signature, key.key_bits,
                                    f"the signature does not open to a 9796-2 block ({exc})", public_key=key)
        message = rec.m1 + challenge if rec.partial else rec.m1
        ok = _digest(rec.hash_name, message) == rec.digest and (rec.partial or rec.m1.endswith(challenge))
        return ActiveAuthResult(ok, "RSA-ISO9796-2", rec.hash_name, challenge, signature, key.key_bits,
                                None if ok else "the signed hash does not match the challenge",
                                public_key=key)
    if key.algorithm == "EC":
        dom = key.ec_domain
        assert dom is not None
        try:
            point = key.ec_public_point()
        except Exception:
            return ActiveAuthResult(False, "ECDSA", None, challenge, signature, key.key_bits,
                                    "the DG15 EC key is not a valid point", public_key=key)
        named = _aa_hash(dg14)
        for hash_name in (named,) if named else _ECDSA_FALLBACK:
            if dom.verify_ecdsa(point, signature, challenge, hash_name):
                return ActiveAuthResult(True, "ECDSA", hash_name, challenge, signature, key.key_bits,
                                        public_key=key)
        return ActiveAuthResult(False, "ECDSA", named, challenge, signature, key.key_bits,
                                "the ECDSA signature does not verify", public_key=key)
    raise ActiveAuthenticationError(f"DG15 holds a {key.algorithm} key; AA needs RSA or EC")


# --- terminal -------------------------------------------------------------------------------------------


def _internal_authenticate(transport: Transport, challenge: bytes, le: int) -> tuple[ResponseAPDU, bool]:
    """The answer, and whether it came bare (a 6700 / 6Cxx without secure messaging: proves nothing)."""
    try:
        return ResponseAPDU.decode(transport.transmit(CommandAPDU(0x00, 0x88, 0x00, 0x00, challenge,
                                                                  le=le).encode())), False
    except WrongLength as exc:  # a naked 6700 / 6Cxx surfaced by the secure-messaging layer
        return ResponseAPDU(b"", exc.sw if exc.sw is not None else 0x6700), True
    except ParseError:
        raise TransientError("Active Authentication could not complete: the answer has no status word",
                             step="active_auth") from None


def perform_active_auth(
    transport: Transport,
    dg15: DG15 | PublicKeyInfo | bytes,
    *,
    challenge: bytes | None = None,
    random_bytes: RandomBytes | None = None,
    dg14: DG14 | SecurityInfos | None = None,
) -> ActiveAuthResult:
    """INTERNAL AUTHENTICATE with an 8-byte challenge (given, or from ``random_bytes``), then verify."""
    key = _key_of(dg15)
    if challenge is None:
        challenge = (random_bytes or default_random_bytes)(8)
    if len(challenge) != 8:
        raise InputError("the Active Authentication challenge is 8 bytes")
    expected_len = (key.key_bits + 7) // 8 if key.algorithm == "RSA" else 2 * ((key.key_bits + 7) // 8)
    first = 256 if expected_len <= 256 else 65536
    tried: list[int] = []
    le = first
    resp = ResponseAPDU(b"", 0x6700)
    bare = False
    try:
        for _ in range(3):
            tried.append(le)
            resp, bare = _internal_authenticate(transport, challenge, le)
            if resp.sw == 0x9000 and resp.data:
                break
            if resp.sw >> 8 == 0x6C and (resp.sw & 0xFF or 256) not in tried:
                le = resp.sw & 0xFF or 256
                continue
            if resp.sw == 0x6700 or (resp.sw == 0x9000 and not resp.data):
                other = 65536 if le <= 256 else 256
                if other in tried:
                    break
                le = other
                continue
            break
    except SecureMessagingError:
        raise  # a damaged answer (or a dead session): a link glitch, retry after authenticating again
    except CardError as exc:  # a bare error SW surfaced by the secure-messaging layer: not protected
        raise TransientError(f"Active Authentication could not complete: the chip answered INTERNAL "
                             f"AUTHENTICATE without secure messaging ({exc})", step="active_auth") from exc
    if bare and resp.sw != 0x9000:
        raise TransientError(f"Active Authentication could not complete: the chip answered INTERNAL "
                             f"AUTHENTICATE with a bare SW {resp.sw:04X} (Le tried: {tried})",
                             step="active_auth")
    if resp.sw != 0x9000 or not resp.data:
        what = "an empty answer" if resp.sw == 0x9000 else f"SW {resp.sw:04X}"
        raise ActiveAuthenticationError(f"Active Authentication: the chip gave {what} to INTERNAL "
                                        f"AUTHENTICATE (Le tried: {tried}); it may be a clone")
    result = verify_active_auth(key, challenge, resp.data, dg14=dg14)
    return ActiveAuthResult(result.passed, result.algorithm, result.hash_name, challenge, resp.data,
                            result.key_bits, result.reason, le, key)


# --- chip ------------------------------------------------------------------------------------------------


class ActiveAuthChip:
    """The chip side of AA for the emulator: signs INTERNAL AUTHENTICATE challenges.

    Build with :meth:`rsa` (9796-2 scheme 1, SHA-1 trailer BC by default) or :meth:`ec` (plain ECDSA).
    ``quirk`` imitates chips met in the field: ``"6700_on_extended"``, ``"empty_on_extended"``,
    ``"6700_on_short"`` or ``"empty_on_short"``.
    """

    def __init__(self, public_key: PublicKeyInfo, signer: Any, *, hash_name: str, quirk: str | None = None,
                 random_bytes: RandomBytes | None = None) -> None:
        self.public_key = public_key
        self._signer = signer
        self.hash_name = hash_name
        self.quirk = quirk
        self._rng = random_bytes or default_random_bytes

    def __repr__(self) -> str:
        return f"ActiveAuthChip({self.public_key.algorithm}, {self.hash_name}, quirk={self.quirk!r})"

    @classmethod
    def rsa(cls, private_key: Any, *, hash_name: str = "SHA-1", quirk: str | None = None,
            random_bytes: RandomBytes | None = None) -> ActiveAuthChip:
        """``private_key``: a ``cryptography`` RSAPrivateKey."""
        numbers = private_key.private_numbers()
        n, e, d = numbers.public_numbers.n, numbers.public_numbers.e, numbers.d
        return cls(PublicKeyInfo.from_rsa(n, e), ("RSA", n, d), hash_name=hash_name, quirk=quirk,
                   random_bytes=random_bytes)

    @classmethod
    def ec(cls, domain: _ec.ECDomain, private_key: int, *, hash_name: str = "SHA-256", form: str = "named",
           quirk: str | None = None, random_bytes: RandomBytes | None = None) -> ActiveAuthChip:
        pub = PublicKeyInfo.from_ec(domain, domain.public_key(private_key), form=form)
        return cls(pub, ("EC", domain, private_key), hash_name=hash_name, quirk=quirk,
                   random_bytes=random_bytes)

    def sign(self, challenge: bytes) -> bytes:
        kind = self._signer[0]
        if kind == "RSA":
            _, n, d = self._signer
            m1 = self._rng(m1_length(n, self.hash_name))
            return iso9796_2_sign(d, n, m1, challenge, self.hash_name)
        _, dom, sk = self._signer
        k = random_int_below(self._rng, dom.n)
        return bytes(dom.sign_ecdsa(sk, challenge, self.hash_name, k))

    def process(self, cmd: CommandAPDU) -> ResponseAPDU:
        if cmd.ins != 0x88:
            return ResponseAPDU(b"", 0x6D00)
        if len(cmd.data) != 8:
            return ResponseAPDU(b"", 0x6700)
        extended = cmd.extended
        if self.quirk == ("6700_on_extended" if extended else "6700_on_short"):
            return ResponseAPDU(b"", 0x6700)
        if self.quirk == ("empty_on_extended" if extended else "empty_on_short"):
            return ResponseAPDU(b"", 0x9000)
        signature = self.sign(cmd.data)
        if cmd.le is not None and cmd.le < len(signature):
            return ResponseAPDU(b"", 0x6C00 | (len(signature) & 0xFF))
        return ResponseAPDU(signature, 0x9000)
