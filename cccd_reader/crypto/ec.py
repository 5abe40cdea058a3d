"""Elliptic-curve domain parameters and the point arithmetic PACE and Chip Authentication need.

``cryptography`` offers ECDH and ECDSA on some named curves but no point arithmetic, so PACE's Generic
Mapping (``G' = s*G + H``), key pairs on a mapped generator and the Integrated Mapping point encoding are
done with ``ecdsa``'s Jacobian points. ``ecdsa`` is pure Python and not constant-time; that is acceptable
here because every secret it touches on the terminal side is ephemeral (drawn for one session), and the
chip side runs only in the emulator. Where ``cryptography`` (OpenSSL) knows the curve by name, shared
secrets over the unchanged curve and multiples of its standard generator go through it instead.

Points are affine ``(x, y)`` int tuples; the point at infinity is never returned (it is an error).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec as _cec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from ecdsa import curves as _curves
from ecdsa import ellipticcurve as _ell
from ecdsa import numbertheory as _nt

Point = tuple[int, int]


class ECError(ValueError):
    """A point or scalar is invalid for the domain (callers turn this into the library's own errors)."""


@dataclass(frozen=True)
class ECDomain:
    """Short-Weierstrass curve over GF(p) with base point G of prime order n and cofactor h."""

    name: str
    p: int = field(repr=False)
    a: int = field(repr=False)
    b: int = field(repr=False)
    gx: int = field(repr=False)
    gy: int = field(repr=False)
    n: int = field(repr=False)
    h: int = field(default=1, repr=False)
    parameter_id: int | None = None
    oid: str | None = None

    @property
    def field_size(self) -> int:
        """Bytes of one coordinate (the length of an ECDH shared secret)."""
        return (self.p.bit_length() + 7) // 8

    @property
    def order_size(self) -> int:
        return (self.n.bit_length() + 7) // 8

    @property
    def generator(self) -> Point:
        return (self.gx, self.gy)

    @cached_property
    def _curve(self) -> Any:
        return _ell.CurveFp(self.p, self.a, self.b, self.h)

    @cached_property
    def _g(self) -> Any:
        return _ell.PointJacobi(self._curve, self.gx, self.gy, 1, self.n, generator=True)

    def _jacobi(self, pt: Point) -> Any:
        return _ell.PointJacobi(self._curve, pt[0], pt[1], 1, self.n)

    # --- validation and encoding ---------------------------------------------------------------------

    def is_on_curve(self, pt: Point) -> bool:
        x, y = pt
        if not (0 <= x < self.p and 0 <= y < self.p):
            return False
        return (y * y - (x * x * x + self.a * x + self.b)) % self.p == 0

    def validate(self, pt: Point) -> Point:
        """Reject points off the curve, and (for cofactor > 1) points outside the prime-order subgroup.

        A hostile chip can send such points to learn bits of an ephemeral key (invalid-curve attack).
        """
        if not self.is_on_curve(pt):
            raise ECError("the point is not on the curve")
        if self.h != 1 and self._mul_raw(self.n, pt) is not None:
            raise ECError("the point is not in the prime-order subgroup")
        return pt

    def encode_point(self, pt: Point) -> bytes:
        """Uncompressed encoding 04 || X || Y (the form 9303 uses on the wire and in tokens)."""
        size = self.field_size
        return b"\x04" + pt[0].to_bytes(size, "big") + pt[1].to_bytes(size, "big")

    def decode_point(self, data: bytes) -> Point:
        """Decode an uncompressed (04) or compressed (02/03) point and validate it."""
        size = self.field_size
        if len(data) == 1 + 2 * size and data[0] == 0x04:
            pt = (int.from_bytes(data[1 : 1 + size], "big"), int.from_bytes(data[1 + size :], "big"))
            return self.validate(pt)
        if len(data) == 1 + size and data[0] in (0x02, 0x03):
            x = int.from_bytes(data[1:], "big")
            if x >= self.p:
                raise ECError("the point is not on the curve")
            rhs = (x * x * x + self.a * x + self.b) % self.p
            try:
                y = _nt.square_root_mod_prime(rhs, self.p)
            except Exception as exc:  # ecdsa raises its own error type for non-residues
                raise ECError("the point is not on the curve") from exc
            if (y & 1) != (data[0] & 1):
                y = self.p - y
            return self.validate((x, y))
        if data == b"\x00":
            raise ECError("the point at infinity is not a valid public key")
        raise ECError(f"a point on this curve is 1+{2 * size} bytes (04||X||Y), got {len(data)} bytes")

    # --- arithmetic ------------------------------------------------------------------------------------

    def _mul_raw(self, k: int, pt: Point) -> Point | None:
        res = self._jacobi(pt) * k
        if res == _ell.INFINITY:
            return None
        return (res.x(), res.y())

    @cached_property
    def _openssl_curve(self) -> _cec.EllipticCurve | None:
        return self.cryptography_curve()

    def mul(self, k: int, pt: Point | None = None) -> Point:
        """k * pt (pt defaults to G). The identity is an error: no protocol step may produce it.

        Multiples of the standard generator of a curve OpenSSL knows by name (the terminal's ephemeral
        public keys, ``s*G`` of the Generic Mapping) are computed by OpenSSL through ``cryptography``
        (deriving the public key of private key ``k``): constant-time and several times faster than
        the pure-Python arithmetic, which remains for other points and curves.
        """
        if pt is None and 0 < k < self.n and self._openssl_curve is not None:
            numbers = _cec.derive_private_key(k, self._openssl_curve).public_key().public_numbers()
            return (numbers.x, numbers.y)
        res = (self._g if pt is None else self._jacobi(pt)) * k
        if res == _ell.INFINITY:
            raise ECError("scalar multiplication gave the point at infinity")
        return (res.x(), res.y())

    def add(self, p1: Point, p2: Point) -> Point:
        res = self._jacobi(p1) + self._jacobi(p2)
        if res == _ell.INFINITY:
            raise ECError("point addition gave the point at infinity")
        return (res.x(), res.y())

    def public_key(self, private: int, generator: Point | None = None) -> Point:
        if not 0 < private < self.n:
            raise ECError("private key out of range")
        return self.mul(private, generator)

    def shared_secret(self, private: int, peer: Point) -> bytes:
        """ECDH: x(private * peer) as field_size bytes. The peer point is validated first.

        The result does not depend on the generator, so it also serves the mapped generator of PACE.
        """
        self.validate(peer)
        curve = self.cryptography_curve()
        if curve is not None and 0 < private < self.n:
            try:
                priv = _cec.derive_private_key(private, curve)
                pub = _cec.EllipticCurvePublicNumbers(peer[0], peer[1], curve).public_key()
                return priv.exchange(_cec.ECDH(), pub)
            except ValueError as exc:
                raise ECError("ECDH rejected the point") from exc
        return self.mul(private, peer)[0].to_bytes(self.field_size, "big")

    def shared_point(self, private: int, peer: Point) -> Point:
        """The full point private * peer (Generic Mapping needs H, not only its x)."""
        self.validate(peer)
        return self.mul(private, peer)

    def generic_map(self, s: int, h_point: Point) -> Point:
        """PACE Generic Mapping: G' = s*G + H."""
        return self.add(self.mul(s), h_point)

    def integrated_map(self, t: int) -> Point:
        """PACE Integrated Mapping point encoding f_G(t) (9303-11 §4.4.3.3.2; simplified SWU, p = 3 mod 4).

        Written out by hand: no maintained library offers this encoding.
        """
        p, a, b = self.p, self.a, self.b
        if p % 4 != 3:
            raise ECError(f"{self.name}: the Integrated Mapping point encoding needs p = 3 mod 4")
        t %= p
        alpha = (-t * t) % p
        aa2 = (alpha + alpha * alpha) % p
        if aa2 == 0 or a % p == 0:
            raise ECError("point encoding undefined for this input")
        x2 = (-b * (1 + aa2) * pow(a * aa2 % p, p - 2, p)) % p
        x3 = (alpha * x2) % p
        h2 = (pow(x2, 3, p) + a * x2 + b) % p
        u = (pow(t, 3, p) * h2) % p
        big_a = pow(h2, p - 1 - (p + 1) // 4, p)
        pt = (x2, big_a * h2 % p) if big_a * big_a * h2 % p == 1 else (x3, big_a * u % p)
        if self.h != 1:
            pt = self.mul(self.h, pt)
        return self.validate(pt)

    # --- interop with cryptography --------------------------------------------------------------------

    def cryptography_curve(self) -> _cec.EllipticCurve | None:
        """The named ``cryptography`` curve for this domain, or None (custom or unsupported curve)."""
        factory = _CRYPTOGRAPHY_CURVES.get(self.name)
        return factory() if factory is not None and self.matches(_NAMED[self.name]) else None

    def matches(self, other: ECDomain) -> bool:
        return (self.p, self.a % self.p, self.b % self.p, self.gx, self.gy, self.n) == (
            other.p, other.a % other.p, other.b % other.p, other.gx, other.gy, other.n)

    # --- signatures (Active Authentication) -----------------------------------------------------------

    def verify_ecdsa(self, pt: Point, signature: bytes, message: bytes, hash_name: str) -> bool:
        """Verify an ECDSA signature given as plain r||s (BSI TR-03111) or DER."""
        r_s = _split_signature(signature, self.order_size)
        if r_s is None:
            return False
        r, s = r_s
        if not (0 < r < self.n and 0 < s < self.n):
            return False
        curve = self.cryptography_curve()
        if curve is not None:
            try:
                pub = _cec.EllipticCurvePublicNumbers(pt[0], pt[1], curve).public_key()
                pub.verify(encode_dss_signature(r, s), message, _cec.ECDSA(_hash_algorithm(hash_name)))
                return True
            except (InvalidSignature, ValueError):
                return False
        e = _hash_to_int(message, hash_name, self.n)
        if math.gcd(s, self.n) != 1:  # only when n is not prime (a bogus key): never a valid signature
            return False
        w = pow(s, -1, self.n)
        try:
            x = self.add(self.mul(e * w % self.n), self.mul(r * w % self.n, pt))[0]
        except ECError:
            return False
        return x % self.n == r

    def sign_ecdsa(self, private: int, message: bytes, hash_name: str, k: int) -> bytes:
        """Plain r||s signature with nonce k (the emulator's AA chip; k comes from its random source)."""
        e = _hash_to_int(message, hash_name, self.n)
        r = self.mul(k)[0] % self.n
        s = pow(k, -1, self.n) * (e + r * private) % self.n
        if r == 0 or s == 0:
            raise ECError("degenerate signature nonce")
        size = self.order_size
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")


_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "SHA-1": hashes.SHA1, "SHA-224": hashes.SHA224, "SHA-256": hashes.SHA256,
    "SHA-384": hashes.SHA384, "SHA-512": hashes.SHA512,
}


def _hash_algorithm(name: str) -> hashes.HashAlgorithm:
    try:
        return _HASHES[name]()
    except KeyError:
        raise ECError(f"unsupported hash {name!r}") from None


def _hash_to_int(message: bytes, hash_name: str, n: int) -> int:
    digest = hashlib.new(hash_name.replace("-", "").lower(), message).digest()
    e = int.from_bytes(digest, "big")
    excess = len(digest) * 8 - n.bit_length()
    return e >> excess if excess > 0 else e


def _split_signature(signature: bytes, size: int) -> tuple[int, int] | None:
    if len(signature) == 2 * size:
        return int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
    if signature[:1] == b"\x30":
        try:
            return decode_dss_signature(signature)
        except ValueError:
            return None
    return None


def _from_ecdsa(name: str, curve: Any, parameter_id: int | None) -> ECDomain:
    cf = curve.curve
    gen = curve.generator
    p = cf.p()
    return ECDomain(name=name, p=p, a=cf.a() % p, b=cf.b() % p, gx=gen.x(), gy=gen.y(), n=curve.order,
                    h=1, parameter_id=parameter_id, oid=".".join(str(i) for i in curve.oid))


_NAMED: dict[str, ECDomain] = {}
for _name, _ecdsa_name, _pid in (
    ("secp192r1", "NIST192p", 8),
    ("brainpoolP192r1", "BRAINPOOLP192r1", 9),
    ("secp224r1", "NIST224p", 10),
    ("brainpoolP224r1", "BRAINPOOLP224r1", 11),
    ("secp256r1", "NIST256p", 12),
    ("brainpoolP256r1", "BRAINPOOLP256r1", 13),
    ("brainpoolP320r1", "BRAINPOOLP320r1", 14),
    ("secp384r1", "NIST384p", 15),
    ("brainpoolP384r1", "BRAINPOOLP384r1", 16),
    ("brainpoolP512r1", "BRAINPOOLP512r1", 17),
    ("secp521r1", "NIST521p", 18),
):
    _NAMED[_name] = _from_ecdsa(_name, getattr(_curves, _ecdsa_name), _pid)

_CRYPTOGRAPHY_CURVES: dict[str, Any] = {
    "secp192r1": _cec.SECP192R1, "secp224r1": _cec.SECP224R1, "secp256r1": _cec.SECP256R1,
    "secp384r1": _cec.SECP384R1, "secp521r1": _cec.SECP521R1, "brainpoolP256r1": _cec.BrainpoolP256R1,
    "brainpoolP384r1": _cec.BrainpoolP384R1, "brainpoolP512r1": _cec.BrainpoolP512R1,
}

STANDARD_EC_DOMAINS: dict[int, ECDomain] = {
    d.parameter_id: d for d in _NAMED.values() if d.parameter_id is not None
}
"""Standardized domain parameter IDs 8-18 (ICAO 9303-11 §9.5.1, BSI TR-03110-3 Table 4)."""


def named_curve(name_or_oid: str) -> ECDomain | None:
    """The domain for a curve name (``"brainpoolP256r1"``) or its OID, or None."""
    if name_or_oid in _NAMED:
        return _NAMED[name_or_oid]
    for dom in _NAMED.values():
        if dom.oid == name_or_oid:
            return dom
    return None


def domain_from_parameters(p: int, a: int, b: int, gx: int, gy: int, n: int, h: int = 1) -> ECDomain:
    """Explicit parameters -> the named domain they equal, else a custom domain.

    ``cryptography`` refuses explicit curves other than three NIST ones, so a chip's explicit brainpool
    key is mapped back to its name here; unknown curves still work through ``ecdsa``.
    """
    if p < 5 or n < 3 or h < 1:
        raise ECError("explicit EC parameters: values out of range")
    custom = ECDomain(name="explicit", p=p, a=a % p, b=b % p, gx=gx, gy=gy, n=n, h=h)
    for dom in _NAMED.values():
        if dom.matches(custom) and h == dom.h:
            return dom
    if not custom.is_on_curve((gx, gy)):
        raise ECError("explicit EC parameters: the base point is not on the curve")
    _check_group(custom)
    return custom


MIN_EXPLICIT_ORDER_BITS = 160
"""Smallest base-point order accepted in explicit parameters (the smallest standardized PACE curve has
192 bits). Explicit parameters reach the terminal unauthenticated (EF.CardAccess) or from a chip's own
files; in a small group an impostor chip could test PACE password guesses offline."""


def _check_group(dom: ECDomain) -> None:
    """Explicit parameters must describe a real prime-order group before any arithmetic runs on them.

    Over a composite modulus, or with a base point whose order is not ``n``, the curve arithmetic fails
    with whatever the arithmetic package raises (non-invertible elements, a doubling that reaches the
    point at infinity): a hostile chip could crash a read that way. ``n > 4 sqrt(p)`` with ``h * n`` in
    the Hasse interval makes ``h`` the true cofactor, so point validation checks the right subgroup.
    """
    p, n, h = dom.p, dom.n, dom.h
    if not _nt.is_prime(p):
        raise ECError("explicit EC parameters: the field size p is not prime")
    if (4 * dom.a ** 3 + 27 * dom.b ** 2) % p == 0:
        raise ECError("explicit EC parameters: the curve is singular")
    if n.bit_length() < MIN_EXPLICIT_ORDER_BITS or not _nt.is_prime(n):
        raise ECError(f"explicit EC parameters: the order n is not a prime of at least "
                      f"{MIN_EXPLICIT_ORDER_BITS} bits")
    root = math.isqrt(p) + 1
    if n <= 4 * root or abs(p + 1 - h * n) > 2 * root:
        raise ECError("explicit EC parameters: the order and cofactor do not fit the curve")
    if _ell.PointJacobi(dom._curve, dom.gx, dom.gy, 1) * n != _ell.INFINITY:
        raise ECError("explicit EC parameters: the base point does not have order n")
