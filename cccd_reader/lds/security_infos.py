"""SecurityInfos (ICAO 9303-11 §9.2, BSI TR-03110-3 A.1): EF.CardAccess, DG14 and EF.CardSecurity.

Decoding is lenient where real chips differ and strict where bytes are malformed:

* PACEInfo.parameterId is OPTIONAL (one Spanish passport broke a reader that insisted on it), several
  PACEInfos may be present, and SecurityInfos with OIDs this library does not know are kept as
  :class:`UnknownSecurityInfo` (raw bytes preserved).
* A SecurityInfo with a known OID but a body this library cannot read is also kept as
  :class:`UnknownSecurityInfo` with a ``reason``, so one odd entry never hides the PACE parameters.
* A broken outer structure (not a SET of SEQUENCEs) is a :class:`~cccd_reader.errors.ParseError`.

Every record keeps the bytes it was decoded from, so ``encode(decode(b)) == b`` even for non-DER input;
records built in code (for the emulator) are encoded as DER.

Public keys (ChipAuthenticationPublicKeyInfo, DG15) are read into :class:`PublicKeyInfo`, which maps
explicit brainpool / NIST parameters back to the named curve, because ``cryptography`` refuses most
explicit curves.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cccd_reader.asn1 import oids
from cccd_reader.asn1.oids import (
    CA_ALGORITHMS,
    PACE_ALGORITHMS,
    PACEAlgorithm,
    decode_int_value,
    decode_oid_value,
    encode_oid_value,
    encode_uint_value,
)
from cccd_reader.crypto import dh as _dh
from cccd_reader.crypto import ec as _ec
from cccd_reader.errors import ParseError, TLVError
from cccd_reader.iso7816.tlv import TLV, decode_one, encode_tlv

MAX_SECURITY_INFOS = 64

# --- DER helpers ------------------------------------------------------------------------------------


def _seq(*parts: bytes) -> bytes:
    return encode_tlv(0x30, b"".join(parts))


def _int(value: int) -> bytes:
    return encode_tlv(0x02, encode_uint_value(value))


def _oid(oid: str) -> bytes:
    return encode_tlv(0x06, encode_oid_value(oid))


def _expect(node: TLV, tag: int, what: str, file: str | None) -> TLV:
    if node.tag != tag:
        raise ParseError(f"{what}: expected tag {tag:02X}, found {node.tag:X}", file=file, offset=node.offset)
    return node


def _as_int(node: TLV, what: str, file: str | None, *, signed: bool = True) -> int:
    _expect(node, 0x02, what, file)
    return decode_int_value(node.value, file=file, signed=signed)


def _as_oid(node: TLV, what: str, file: str | None) -> str:
    _expect(node, 0x06, what, file)
    return decode_oid_value(node.value, file=file)


def _children(node: TLV, what: str, file: str | None) -> tuple[TLV, ...]:
    if node.children is None:
        raise ParseError(f"{what}: expected a constructed value", file=file, offset=node.offset)
    return node.children


# --- public keys ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicKeyInfo:
    """A SubjectPublicKeyInfo (X.509 / TR-03110 form) read into the parts the protocols need.

    ``algorithm`` is ``"EC"``, ``"DH"`` or ``"RSA"``. ``parameters`` says how the domain was given:
    ``"named"``, ``"explicit"`` or ``"standardized"`` (BSI standardizedDomainParameters with an ID).
    ``raw`` is the SPKI as read, re-emitted by :meth:`encode`.
    """

    algorithm: str
    raw: bytes = field(repr=False)
    algorithm_oid: str = ""
    parameters: str = "named"
    ec_domain: _ec.ECDomain | None = None
    ec_point: bytes | None = field(default=None, repr=False)
    dh_domain: _dh.DHDomain | None = None
    dh_public: int | None = field(default=None, repr=False)
    rsa_modulus: int | None = field(default=None, repr=False)
    rsa_exponent: int | None = field(default=None, repr=False)

    @property
    def key_bits(self) -> int:
        if self.rsa_modulus is not None:
            return self.rsa_modulus.bit_length()
        if self.ec_domain is not None:
            return self.ec_domain.n.bit_length()
        if self.dh_domain is not None:
            return self.dh_domain.p.bit_length()
        return 0

    @property
    def parameter_id(self) -> int | None:
        dom = self.ec_domain or self.dh_domain
        return dom.parameter_id if dom is not None else None

    def encode(self) -> bytes:
        return self.raw

    def ec_public_point(self) -> _ec.Point:
        if self.ec_domain is None or self.ec_point is None:
            raise ParseError("not an EC public key", file="SubjectPublicKeyInfo")
        try:
            return self.ec_domain.decode_point(self.ec_point)
        except _ec.ECError as exc:
            raise ParseError(f"EC public key: {exc}", file="SubjectPublicKeyInfo") from None

    # --- builders (for the emulator and tests) --------------------------------------------------------

    @classmethod
    def from_ec(cls, domain: _ec.ECDomain, point: _ec.Point, *, form: str = "named") -> PublicKeyInfo:
        encoded = domain.encode_point(point)
        if form == "standardized":
            if domain.parameter_id is None:
                raise ValueError("the domain has no standardized parameter ID")
            alg = _seq(_oid(oids.STANDARDIZED_DOMAIN_PARAMETERS), _int(domain.parameter_id))
        elif form == "named":
            if domain.oid is None:
                raise ValueError("the domain has no curve OID")
            alg = _seq(_oid(oids.ID_EC_PUBLIC_KEY), _oid(domain.oid))
        elif form == "explicit":
            size = domain.field_size
            params = _seq(
                _int(1),
                _seq(_oid(oids.ID_PRIME_FIELD), _int(domain.p)),
                _seq(encode_tlv(0x04, domain.a.to_bytes(size, "big")),
                     encode_tlv(0x04, domain.b.to_bytes(size, "big"))),
                encode_tlv(0x04, domain.encode_point(domain.generator)),
                _int(domain.n),
                _int(domain.h),
            )
            alg = _seq(_oid(oids.ID_EC_PUBLIC_KEY), params)
        else:
            raise ValueError(f"unknown form {form!r}")
        return decode_public_key_info(_seq(alg, encode_tlv(0x03, b"\x00" + encoded)))

    @classmethod
    def from_dh(cls, domain: _dh.DHDomain, y: int, *, form: str = "standardized") -> PublicKeyInfo:
        key = encode_tlv(0x03, b"\x00" + _int(y))
        if form == "standardized" and domain.parameter_id is not None:
            alg = _seq(_oid(oids.STANDARDIZED_DOMAIN_PARAMETERS), _int(domain.parameter_id))
        else:
            q = [] if domain.q is None else [_int(domain.q)]
            alg = _seq(_oid(oids.DH_PUBLIC_NUMBER), _seq(_int(domain.p), _int(domain.g), *q))
        return decode_public_key_info(_seq(alg, key))

    @classmethod
    def from_rsa(cls, modulus: int, exponent: int) -> PublicKeyInfo:
        key = encode_tlv(0x03, b"\x00" + _seq(_int(modulus), _int(exponent)))
        return decode_public_key_info(_seq(_seq(_oid(oids.RSA_ENCRYPTION), encode_tlv(0x05, b"")), key))


def _ec_domain_from_explicit(node: TLV, file: str | None) -> _ec.ECDomain:
    parts = _children(_expect(node, 0x30, "ECParameters", file), "ECParameters", file)
    if len(parts) < 5:
        raise ParseError("ECParameters: too few fields", file=file, offset=node.offset)
    field_id = _children(_expect(parts[1], 0x30, "FieldID", file), "FieldID", file)
    if len(field_id) != 2 or _as_oid(field_id[0], "FieldID", file) != oids.ID_PRIME_FIELD:
        raise ParseError("ECParameters: only prime fields are supported", file=file, offset=node.offset)
    p = _as_int(field_id[1], "prime", file, signed=False)
    curve = _children(_expect(parts[2], 0x30, "Curve", file), "Curve", file)
    if len(curve) < 2:
        raise ParseError("Curve: needs a and b", file=file, offset=parts[2].offset)
    a = int.from_bytes(_expect(curve[0], 0x04, "Curve.a", file).value, "big")
    b = int.from_bytes(_expect(curve[1], 0x04, "Curve.b", file).value, "big")
    base = _expect(parts[3], 0x04, "base point", file).value
    n = _as_int(parts[4], "order", file, signed=False)
    h = _as_int(parts[5], "cofactor", file, signed=False) if len(parts) > 5 else 1
    if p < 5 or n < 3 or h < 1 or p.bit_length() > 1024:
        raise ParseError("ECParameters: values out of range", file=file, offset=node.offset)
    size = (p.bit_length() + 7) // 8
    if len(base) != 1 + 2 * size or base[0] != 0x04:
        raise ParseError("ECParameters: the base point must be uncompressed", file=file,
                         offset=parts[3].offset)
    gx, gy = int.from_bytes(base[1 : 1 + size], "big"), int.from_bytes(base[1 + size :], "big")
    try:
        return _ec.domain_from_parameters(p, a, b, gx, gy, n, h)
    except _ec.ECError as exc:
        raise ParseError(str(exc), file=file, offset=node.offset) from None


def _bit_string(node: TLV, file: str | None) -> bytes:
    _expect(node, 0x03, "subjectPublicKey", file)
    if not node.value or node.value[0] != 0:
        raise ParseError("subjectPublicKey: unused bits are not allowed", file=file, offset=node.offset)
    return node.value[1:]


def _dh_public_value(key: bytes, file: str | None) -> int:
    if key[:1] == b"\x02":
        try:
            inner = decode_one(key, file=file)
        except TLVError:
            inner = None
        if inner is not None and inner.tag == 0x02:
            return decode_int_value(inner.value, file=file, signed=False)
    if not key or len(key) > 1024:
        raise ParseError("DH public value has a bad length", file=file)
    return int.from_bytes(key, "big")


def decode_public_key_info(data: bytes, *, file: str | None = "SubjectPublicKeyInfo") -> PublicKeyInfo:
    """Decode a SubjectPublicKeyInfo. Any malformation is a :class:`ParseError`."""
    node = decode_one(data, file=file)
    return _public_key_info_from_node(node, data, file)


def _public_key_info_from_node(node: TLV, raw: bytes, file: str | None) -> PublicKeyInfo:
    parts = _children(_expect(node, 0x30, "SubjectPublicKeyInfo", file), "SubjectPublicKeyInfo", file)
    if len(parts) != 2:
        raise ParseError("SubjectPublicKeyInfo: expected algorithm and key", file=file, offset=node.offset)
    alg = _children(_expect(parts[0], 0x30, "AlgorithmIdentifier", file), "AlgorithmIdentifier", file)
    if not alg:
        raise ParseError("AlgorithmIdentifier is empty", file=file, offset=parts[0].offset)
    alg_oid = _as_oid(alg[0], "algorithm", file)
    params = alg[1] if len(alg) > 1 else None
    key = _bit_string(parts[1], file)
    if alg_oid == oids.RSA_ENCRYPTION:
        inner = decode_one(key, file=file)
        fields = _children(_expect(inner, 0x30, "RSAPublicKey", file), "RSAPublicKey", file)
        if len(fields) != 2:
            raise ParseError("RSAPublicKey: expected modulus and exponent", file=file, offset=inner.offset)
        # unsigned: some documents store a 1024-bit modulus without the leading 00 (a negative INTEGER)
        n = _as_int(fields[0], "modulus", file, signed=False)
        e = _as_int(fields[1], "exponent", file, signed=False)
        if n < 3 or e < 3 or n.bit_length() > 8192:
            raise ParseError("RSAPublicKey: values out of range", file=file, offset=inner.offset)
        return PublicKeyInfo("RSA", raw, alg_oid, "named", rsa_modulus=n, rsa_exponent=e)
    if alg_oid == oids.ID_EC_PUBLIC_KEY:
        if params is None:
            raise ParseError("EC key without parameters (implicitCA) is not supported", file=file)
        if params.tag == 0x06:
            curve_oid = _as_oid(params, "namedCurve", file)
            ec_dom = _ec.named_curve(curve_oid)
            if ec_dom is None:
                raise ParseError(f"unsupported named curve {curve_oid}", file=file, offset=params.offset)
            form = "named"
        else:
            ec_dom = _ec_domain_from_explicit(params, file)
            form = "explicit"
        return PublicKeyInfo("EC", raw, alg_oid, form, ec_domain=ec_dom, ec_point=key)
    if alg_oid == oids.STANDARDIZED_DOMAIN_PARAMETERS:
        if params is None:
            raise ParseError("standardizedDomainParameters without an ID", file=file)
        pid = _as_int(params, "parameterId", file)
        if pid in _ec.STANDARD_EC_DOMAINS:
            return PublicKeyInfo("EC", raw, alg_oid, "standardized", ec_domain=_ec.STANDARD_EC_DOMAINS[pid],
                                 ec_point=key)
        if pid in _dh.STANDARD_DH_DOMAINS:
            dom = _dh.STANDARD_DH_DOMAINS[pid]
            return PublicKeyInfo("DH", raw, alg_oid, "standardized", dh_domain=dom,
                                 dh_public=_dh_public_value(key, file))
        raise ParseError(f"unknown standardized domain parameter ID {pid}", file=file, offset=params.offset)
    if alg_oid in (oids.DH_PUBLIC_NUMBER, oids.DH_KEY_AGREEMENT):
        if params is None:
            raise ParseError("DH key without domain parameters", file=file)
        fields = _children(_expect(params, 0x30, "DomainParameters", file), "DomainParameters", file)
        if len(fields) < 2:
            raise ParseError("DomainParameters: expected p and g", file=file, offset=params.offset)
        p = _as_int(fields[0], "p", file, signed=False)
        g = _as_int(fields[1], "g", file, signed=False)
        q = None
        if alg_oid == oids.DH_PUBLIC_NUMBER and len(fields) > 2 and fields[2].tag == 0x02:
            q = _as_int(fields[2], "q", file, signed=False)
        if p.bit_length() > 8192:
            raise ParseError("DH prime too long", file=file, offset=params.offset)
        try:
            dom = _dh.domain_from_parameters(p, g, q)
        except _dh.DHError as exc:
            raise ParseError(str(exc), file=file, offset=params.offset) from None
        return PublicKeyInfo("DH", raw, alg_oid, "explicit", dh_domain=dom,
                             dh_public=_dh_public_value(key, file))
    raise ParseError(f"unsupported public key algorithm {alg_oid}", file=file, offset=parts[0].offset)


# --- SecurityInfo records -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PACEInfo:
    """PACEInfo ::= SEQUENCE { protocol OID, version INTEGER (2), parameterId INTEGER OPTIONAL }."""

    protocol: str
    version: int = 2
    parameter_id: int | None = None
    raw: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def algorithm(self) -> PACEAlgorithm | None:
        """The protocol's meaning, or None for a PACE OID this library does not implement."""
        return PACE_ALGORITHMS.get(self.protocol)

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        extra = b"" if self.parameter_id is None else _int(self.parameter_id)
        return _seq(_oid(self.protocol), _int(self.version), extra)


@dataclass(frozen=True)
class AlgorithmIdentifier:
    """An AlgorithmIdentifier kept raw, with the standardized ID or explicit domain it names (if read)."""

    algorithm: str
    raw: bytes = field(repr=False)
    parameter_id: int | None = None
    ec_domain: _ec.ECDomain | None = None
    dh_domain: _dh.DHDomain | None = None


def _algorithm_identifier(node: TLV, buf: bytes, file: str | None) -> AlgorithmIdentifier:
    parts = _children(_expect(node, 0x30, "AlgorithmIdentifier", file), "AlgorithmIdentifier", file)
    if not parts:
        raise ParseError("AlgorithmIdentifier is empty", file=file, offset=node.offset)
    alg = _as_oid(parts[0], "algorithm", file)
    raw = _raw(node, buf)
    pid = None
    ec_dom = None
    dh_dom = None
    if len(parts) > 1:
        if alg == oids.STANDARDIZED_DOMAIN_PARAMETERS:
            pid = _as_int(parts[1], "parameterId", file)
            ec_dom = _ec.STANDARD_EC_DOMAINS.get(pid)
            dh_dom = _dh.STANDARD_DH_DOMAINS.get(pid)
        elif alg == oids.ID_EC_PUBLIC_KEY and parts[1].tag == 0x30:
            ec_dom = _ec_domain_from_explicit(parts[1], file)
        elif alg == oids.ID_EC_PUBLIC_KEY and parts[1].tag == 0x06:
            ec_dom = _ec.named_curve(_as_oid(parts[1], "namedCurve", file))
        elif alg in (oids.DH_PUBLIC_NUMBER, oids.DH_KEY_AGREEMENT) and parts[1].tag == 0x30:
            fields = _children(parts[1], "DomainParameters", file)
            if len(fields) >= 2:
                p = _as_int(fields[0], "p", file, signed=False)
                g = _as_int(fields[1], "g", file, signed=False)
                q = _as_int(fields[2], "q", file, signed=False) if (
                    alg == oids.DH_PUBLIC_NUMBER and len(fields) > 2 and fields[2].tag == 0x02) else None
                try:
                    dh_dom = _dh.domain_from_parameters(p, g, q)
                except _dh.DHError as exc:
                    raise ParseError(str(exc), file=file, offset=parts[1].offset) from None
    return AlgorithmIdentifier(alg, raw, pid, ec_dom, dh_dom)


@dataclass(frozen=True)
class PACEDomainParameterInfo:
    """PACEDomainParameterInfo ::= SEQUENCE { protocol, domainParameter, parameterId OPTIONAL }."""

    protocol: str
    domain_parameter: AlgorithmIdentifier
    parameter_id: int | None = None
    raw: bytes | None = field(default=None, repr=False, compare=False)

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        extra = b"" if self.parameter_id is None else _int(self.parameter_id)
        return _seq(_oid(self.protocol), self.domain_parameter.raw, extra)


@dataclass(frozen=True)
class ChipAuthenticationInfo:
    """ChipAuthenticationInfo ::= SEQUENCE { protocol, version INTEGER (1|2), keyId INTEGER OPTIONAL }."""

    protocol: str
    version: int = 1
    key_id: int | None = None
    raw: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def key_agreement(self) -> str | None:
        alg = CA_ALGORITHMS.get(self.protocol)
        return alg.key_agreement if alg else None

    @property
    def cipher(self) -> str | None:
        alg = CA_ALGORITHMS.get(self.protocol)
        return alg.cipher if alg else None

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        extra = b"" if self.key_id is None else _int(self.key_id)
        return _seq(_oid(self.protocol), _int(self.version), extra)


@dataclass(frozen=True)
class ChipAuthenticationDomainParameterInfo:
    protocol: str
    domain_parameter: AlgorithmIdentifier
    key_id: int | None = None
    raw: bytes | None = field(default=None, repr=False, compare=False)

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        extra = b"" if self.key_id is None else _int(self.key_id)
        return _seq(_oid(self.protocol), self.domain_parameter.raw, extra)


@dataclass(frozen=True)
class ChipAuthenticationPublicKeyInfo:
    """ChipAuthenticationPublicKeyInfo ::= SEQUENCE { id-PK-*, SubjectPublicKeyInfo, keyId OPTIONAL }."""

    protocol: str
    public_key: PublicKeyInfo
    key_id: int | None = None
    raw: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def key_agreement(self) -> str:
        return "DH" if self.protocol == oids.ID_PK_DH else "ECDH"

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        extra = b"" if self.key_id is None else _int(self.key_id)
        return _seq(_oid(self.protocol), self.public_key.encode(), extra)


@dataclass(frozen=True)
class TerminalAuthenticationInfo:
    """TerminalAuthenticationInfo ::= SEQUENCE { id-TA, version, efCVCA FileID OPTIONAL } (kept raw)."""

    protocol: str
    version: int = 1
    ef_cvca: bytes | None = None
    raw: bytes | None = field(default=None, repr=False, compare=False)

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        extra = b"" if self.ef_cvca is None else self.ef_cvca
        return _seq(_oid(self.protocol), _int(self.version), extra)


@dataclass(frozen=True)
class ActiveAuthenticationInfo:
    """ActiveAuthenticationInfo ::= SEQUENCE { id-AA, version (1), signatureAlgorithm OID }."""

    protocol: str
    version: int
    signature_algorithm: str
    raw: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def hash_name(self) -> str | None:
        return oids.ECDSA_HASHES.get(self.signature_algorithm)

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return _seq(_oid(self.protocol), _int(self.version), _oid(self.signature_algorithm))


@dataclass(frozen=True)
class UnknownSecurityInfo:
    """A SecurityInfo this library does not interpret (unknown OID, or a known OID it could not read)."""

    protocol: str
    raw: bytes = field(repr=False)
    reason: str | None = None

    def encode(self) -> bytes:
        return self.raw


SecurityInfo = (PACEInfo | PACEDomainParameterInfo | ChipAuthenticationInfo
                | ChipAuthenticationDomainParameterInfo
                | ChipAuthenticationPublicKeyInfo | TerminalAuthenticationInfo | ActiveAuthenticationInfo
                | UnknownSecurityInfo)


def _opt_int(parts: tuple[TLV, ...], index: int, what: str, file: str | None) -> int | None:
    return _as_int(parts[index], what, file) if len(parts) > index else None


def _decode_info(node: TLV, buf: bytes, file: str | None) -> SecurityInfo:
    parts = _children(_expect(node, 0x30, "SecurityInfo", file), "SecurityInfo", file)
    if not parts:
        raise ParseError("SecurityInfo is an empty SEQUENCE", file=file, offset=node.offset)
    protocol = _as_oid(parts[0], "SecurityInfo.protocol", file)
    raw = _raw(node, buf)
    try:
        is_pace = protocol.startswith(oids.ID_PACE + ".") and protocol.count(".") == 10
        if protocol in PACE_ALGORITHMS or is_pace:
            if len(parts) not in (2, 3):
                raise ParseError("PACEInfo: expected 2 or 3 fields", file=file, offset=node.offset)
            return PACEInfo(protocol, _as_int(parts[1], "version", file),
                            _opt_int(parts, 2, "parameterId", file), raw)
        if protocol in oids.PACE_DOMAIN_PARAMETER_OIDS:
            return PACEDomainParameterInfo(protocol, _algorithm_identifier(parts[1], buf, file),
                                           _opt_int(parts, 2, "parameterId", file), raw)
        if protocol in CA_ALGORITHMS:
            return ChipAuthenticationInfo(protocol, _as_int(parts[1], "version", file),
                                          _opt_int(parts, 2, "keyId", file), raw)
        if protocol in (oids.ID_CA_DH, oids.ID_CA_ECDH):
            return ChipAuthenticationDomainParameterInfo(protocol, _algorithm_identifier(parts[1], buf, file),
                                                         _opt_int(parts, 2, "keyId", file), raw)
        if protocol in (oids.ID_PK_DH, oids.ID_PK_ECDH):
            spki = parts[1]
            pk = _public_key_info_from_node(spki, _raw(spki, buf), file)
            return ChipAuthenticationPublicKeyInfo(protocol, pk, _opt_int(parts, 2, "keyId", file), raw)
        if protocol == oids.ID_TA:
            ef = _raw(parts[2], buf) if len(parts) > 2 else None
            return TerminalAuthenticationInfo(protocol, _as_int(parts[1], "version", file), ef, raw)
        if protocol == oids.ID_AA:
            if len(parts) < 3:
                raise ParseError("ActiveAuthenticationInfo: expected 3 fields", file=file, offset=node.offset)
            return ActiveAuthenticationInfo(protocol, _as_int(parts[1], "version", file),
                                            _as_oid(parts[2], "signatureAlgorithm", file), raw)
    except (ParseError, IndexError) as exc:
        reason = exc.reason if isinstance(exc, ParseError) else "missing fields"
        return UnknownSecurityInfo(protocol, raw, reason)
    return UnknownSecurityInfo(protocol, raw)


def _raw(node: TLV, buf: bytes) -> bytes:
    """The exact bytes of ``node`` in ``buf`` (TLV.encode() would re-encode lengths minimally)."""
    return buf[node.offset : node.offset + node.header_length + len(node.value)]


@dataclass(frozen=True)
class SecurityInfos:
    """SecurityInfos ::= SET OF SecurityInfo."""

    infos: tuple[SecurityInfo, ...]
    raw: bytes | None = field(default=None, repr=False, compare=False)

    def __iter__(self) -> Iterator[SecurityInfo]:
        return iter(self.infos)

    def __len__(self) -> int:
        return len(self.infos)

    @classmethod
    def decode(cls, data: bytes, *, file: str | None = "SecurityInfos") -> SecurityInfos:
        data = bytes(data)
        return cls._from_node(decode_one(data, file=file), data, file)

    @classmethod
    def _from_node(cls, node: TLV, raw: bytes, file: str | None) -> SecurityInfos:
        _expect(node, 0x31, "SecurityInfos", file)
        children = _children(node, "SecurityInfos", file)
        if len(children) > MAX_SECURITY_INFOS:
            raise ParseError(f"more than {MAX_SECURITY_INFOS} SecurityInfos", file=file, offset=node.offset)
        infos = tuple(_decode_info(child, raw, file) for child in children)
        return cls(infos, raw)

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return encode_tlv(0x31, b"".join(i.encode() for i in self.infos))

    @classmethod
    def build(cls, infos: Iterable[SecurityInfo]) -> SecurityInfos:
        return cls(tuple(infos))

    # --- views -----------------------------------------------------------------------------------------

    def _of(self, kind: type[Any]) -> tuple[Any, ...]:
        return tuple(i for i in self.infos if isinstance(i, kind))

    @property
    def pace_infos(self) -> tuple[PACEInfo, ...]:
        return self._of(PACEInfo)

    @property
    def pace_domain_parameter_infos(self) -> tuple[PACEDomainParameterInfo, ...]:
        return self._of(PACEDomainParameterInfo)

    @property
    def chip_authentication_infos(self) -> tuple[ChipAuthenticationInfo, ...]:
        return self._of(ChipAuthenticationInfo)

    @property
    def chip_authentication_public_keys(self) -> tuple[ChipAuthenticationPublicKeyInfo, ...]:
        return self._of(ChipAuthenticationPublicKeyInfo)

    @property
    def terminal_authentication_infos(self) -> tuple[TerminalAuthenticationInfo, ...]:
        return self._of(TerminalAuthenticationInfo)

    @property
    def active_authentication_infos(self) -> tuple[ActiveAuthenticationInfo, ...]:
        return self._of(ActiveAuthenticationInfo)

    @property
    def unknown(self) -> tuple[UnknownSecurityInfo, ...]:
        return self._of(UnknownSecurityInfo)


def parse_card_access(data: bytes) -> SecurityInfos:
    """EF.CardAccess is a bare SecurityInfos. Some chips pad the file; trailing zero bytes are ignored."""
    data = bytes(data)
    trimmed = trim_padding(data, file="EF.CardAccess")
    infos = SecurityInfos.decode(trimmed, file="EF.CardAccess")
    return SecurityInfos(infos.infos, data)


def trim_padding(data: bytes, *, file: str) -> bytes:
    node = decode_one(data, file=file, allow_trailing=True)
    end = node.offset + node.header_length + len(node.value)
    if any(b not in (0x00, 0xFF) for b in data[end:]):
        raise ParseError(f"{len(data) - end} unexpected bytes after the structure", file=file, offset=end)
    return data[:end]


# --- DG14 -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DG14:
    """DG14 ::= [APPLICATION 14] SecurityInfos (tag 6E): Chip Authentication keys, AA info."""

    security_infos: SecurityInfos
    raw: bytes | None = field(default=None, repr=False, compare=False)

    TAG = 0x6E

    @classmethod
    def decode(cls, data: bytes) -> DG14:
        data = bytes(data)
        node = decode_one(trim_padding(data, file="DG14"), file="DG14")
        _expect(node, cls.TAG, "DG14", "DG14")
        inner = node.value
        return cls(SecurityInfos.decode(inner, file="DG14"), data)

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return encode_tlv(self.TAG, self.security_infos.encode())


# --- EF.CardSecurity ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardSecurity:
    """EF.CardSecurity: a CMS SignedData (content type id-SecurityObject) around SecurityInfos.

    Only the content is interpreted here; verifying the signature and the signer's chain is passive
    authentication's job (``signed_data`` exposes the asn1crypto object for it).
    """

    security_infos: SecurityInfos
    raw: bytes = field(repr=False)

    @classmethod
    def decode(cls, data: bytes) -> CardSecurity:
        from asn1crypto import cms

        data = bytes(data)
        file = "EF.CardSecurity"
        trimmed = trim_padding(data, file=file)
        try:
            info = cms.ContentInfo.load(trimmed, strict=True)
            if info["content_type"].native != "signed_data":
                raise ParseError("not a CMS SignedData", file=file)
            encap = info["content"]["encap_content_info"]
            if encap["content_type"].dotted != oids.ID_SECURITY_OBJECT:
                raise ParseError(f"unexpected content type {encap['content_type'].dotted}", file=file)
            content = encap["content"].contents if encap["content"] is not None else None
        except ParseError:
            raise
        except Exception as exc:  # asn1crypto raises ValueError/TypeError/... on malformed input
            raise ParseError(f"malformed CMS structure ({type(exc).__name__})", file=file) from None
        if not content:
            raise ParseError("the SignedData carries no content", file=file)
        # ParsableOctetString.contents is the OCTET STRING value
        return cls(SecurityInfos.decode(bytes(content), file=file), data)

    def encode(self) -> bytes:
        return self.raw

    @property
    def signed_data(self) -> Any:
        from asn1crypto import cms

        return cms.ContentInfo.load(trim_padding(self.raw, file="EF.CardSecurity"))["content"]

    @classmethod
    def build(cls, security_infos: SecurityInfos, *, certificate_der: bytes, private_key: Any,
              digest: str = "sha256") -> CardSecurity:
        """Sign SecurityInfos into an EF.CardSecurity (for the emulator's personalisation)."""
        import hashlib

        from asn1crypto import algos, cms, core, x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

        content = security_infos.encode()
        cert = x509.Certificate.load(certificate_der)
        message_digest = hashlib.new(digest, content).digest()
        signed_attrs = cms.CMSAttributes([
            cms.CMSAttribute({"type": "content_type", "values": [oids.ID_SECURITY_OBJECT]}),
            cms.CMSAttribute({"type": "message_digest", "values": [message_digest]}),
        ])
        to_sign = signed_attrs.dump()
        hash_alg = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}[digest]
        if isinstance(private_key, ec.EllipticCurvePrivateKey):
            signature = private_key.sign(to_sign, ec.ECDSA(hash_alg))
            sig_alg = {"algorithm": f"{digest}_ecdsa"}
        elif isinstance(private_key, rsa.RSAPrivateKey):
            signature = private_key.sign(to_sign, padding.PKCS1v15(), hash_alg)
            sig_alg = {"algorithm": f"{digest}_rsa"}
        else:
            raise TypeError("private_key must be an EC or RSA private key")
        signer = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber({
                "issuer": cert.issuer, "serial_number": cert.serial_number})}),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": digest}),
            "signed_attrs": signed_attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm(sig_alg),
            "signature": signature,
        })
        signed = cms.SignedData({
            "version": "v3",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": digest})],
            "encap_content_info": {"content_type": oids.ID_SECURITY_OBJECT,
                                   "content": core.ParsableOctetString(content)},
            "certificates": [cert],
            "signer_infos": [signer],
        })
        raw = cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()
        return cls(security_infos, raw)
