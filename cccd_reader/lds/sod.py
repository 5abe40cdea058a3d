"""EF.SOD, the Document Security Object (ICAO 9303-10 §4.6.2).

EF.SOD is tag ``77`` wrapping a CMS ``ContentInfo`` / ``SignedData`` whose encapsulated content is an
``LDSSecurityObject`` (OID 2.23.136.1.1.1): the hash of every data group on the chip, signed by the
Document Signer. It is the root of passive authentication, and it also tells the reader which data groups
exist (the read pipeline reads the DGs listed here rather than trusting EF.COM).

The ASN.1 is decoded with asn1crypto schemas, never by hand. The decoder is total: any byte string gives a
:class:`SOD` or a :class:`~cccd_reader.errors.ParseError` with ``file="EF.SOD"``. Everything the verifier
needs (signed attributes as signed, the signature, the signer identifier, the embedded certificates as
DER) is extracted eagerly, so a record that decoded cannot fail later on lazy parsing.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import algos, cms, core

from cccd_reader.errors import ParseError, TLVError
from cccd_reader.iso7816.tlv import read_header

FILE = "EF.SOD"
SOD_TAG = 0x77
LDS_SECURITY_OBJECT_OID = "2.23.136.1.1.1"
MAX_SOD_LENGTH = 1024 * 1024  # real EF.SODs are 1-8 KiB; refuse to feed megabytes to the ASN.1 decoder
MAX_DATA_GROUPS = 64  # DG numbers are 1..16; leave room for odd issuers, refuse silly lists

# Digest algorithms ICAO 9303-12 allows for the LDS security object (names as asn1crypto spells them).
DIGEST_SIZES: dict[str, int] = {"sha1": 20, "sha224": 28, "sha256": 32, "sha384": 48, "sha512": 64}


# --- ASN.1 schema (ICAO 9303-10 §4.6.2.2) ------------------------------------------------------------


class DataGroupHash(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012  (asn1crypto schema convention)
        ("data_group_number", core.Integer),
        ("data_group_hash_value", core.OctetString),
    ]


class DataGroupHashValues(core.SequenceOf):  # type: ignore[misc]
    _child_spec = DataGroupHash


class LDSVersionInfo(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012
        ("lds_version", core.PrintableString),
        ("unicode_version", core.PrintableString),
    ]


class LDSSecurityObject(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012
        ("version", core.Integer),
        ("hash_algorithm", algos.DigestAlgorithm),
        ("data_group_hash_values", DataGroupHashValues),
        ("lds_version_info", LDSVersionInfo, {"optional": True}),
    ]


def _register() -> None:
    """Teach asn1crypto the ICAO content type, so ``eContent`` parses as an LDSSecurityObject."""
    cms.ContentType._map.setdefault(LDS_SECURITY_OBJECT_OID, "lds_security_object")
    cms.EncapsulatedContentInfo._oid_specs.setdefault("lds_security_object", LDSSecurityObject)
    # ContentType keeps a reverse map built on first use; refresh it so the name also encodes.
    if getattr(cms.ContentType, "_reverse_map", None) is not None:
        cms.ContentType._reverse_map["lds_security_object"] = LDS_SECURITY_OBJECT_OID


_register()


# --- the record --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedAttributes:
    """The CMS signed attributes of the SOD signer, as the verifier needs them.

    ``der`` is the SET OF attributes re-tagged as a universal SET (``31``): the exact bytes the signature
    covers (RFC 5652 §5.4).
    """

    der: bytes = field(repr=False)
    content_type: str | None
    message_digest: bytes | None = field(repr=False)
    signing_time: _dt.datetime | None
    attribute_types: tuple[str, ...]
    duplicate_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class SignerIdentifier:
    """Which certificate signed: issuer + serial number, or a subject key identifier."""

    issuer_der: bytes | None = field(repr=False)
    issuer: str | None
    serial_number: int | None
    subject_key_identifier: bytes | None


@dataclass(frozen=True)
class SOD:
    """A decoded EF.SOD. ``encode()`` gives back the exact bytes that were decoded."""

    raw: bytes = field(repr=False)
    version: int
    hash_algorithm: str
    dg_hashes: dict[int, bytes] = field(repr=False, hash=False)  # ``raw`` already covers it for hashing
    lds_version: str | None
    unicode_version: str | None
    signed: SignedContent  # the SignedData around the security object: one type, shared with master lists

    # the SignedData's parts, by the names SOD has always had
    @property
    def econtent_type(self) -> str:
        return self.signed.econtent_type

    @property
    def econtent(self) -> bytes:
        return self.signed.econtent

    @property
    def digest_algorithm(self) -> str:
        return self.signed.digest_algorithm

    @property
    def signature_algorithm(self) -> str:
        return self.signed.signature_algorithm

    @property
    def signature_algorithm_der(self) -> bytes:
        return self.signed.signature_algorithm_der

    @property
    def signature(self) -> bytes:
        return self.signed.signature

    @property
    def signer_id(self) -> SignerIdentifier:
        return self.signed.signer_id

    @property
    def signed_attributes(self) -> SignedAttributes | None:
        return self.signed.signed_attributes

    @property
    def signer_certificates(self) -> tuple[bytes, ...]:
        return self.signed.certificates

    @property
    def signer_info_count(self) -> int:
        return self.signed.signer_info_count

    @classmethod
    def decode(cls, data: bytes) -> SOD:
        return decode_sod(data)

    def encode(self) -> bytes:
        return self.raw

    @property
    def data_groups(self) -> tuple[int, ...]:
        """DG numbers listed in the SOD, ascending: the files the read pipeline should read."""
        return tuple(sorted(self.dg_hashes))

    @property
    def signing_time(self) -> _dt.datetime | None:
        return self.signed_attributes.signing_time if self.signed_attributes else None

    @property
    def signer_certificate(self) -> bytes | None:
        """DER of the embedded certificate named by the signer identifier (else the only one, else None).

        Exposed raw so callers can hand the Document Signer certificate to a national verification
        service when no CSCA is available locally.
        """
        from asn1crypto import x509  # local: only certificate matching needs it

        sid = self.signer_id
        for der in self.signer_certificates:
            try:
                cert = x509.Certificate.load(der)
                if sid.serial_number is not None and sid.issuer_der is not None:
                    if cert.serial_number == sid.serial_number and cert.issuer.dump() == sid.issuer_der:
                        return der
                elif (ski := sid.subject_key_identifier) is not None and cert.key_identifier == ski:
                    return der
            except Exception:  # noqa: S112  a malformed certificate just does not match
                continue
        if len(self.signer_certificates) == 1:
            return self.signer_certificates[0]
        return None

    @property
    def signer_subject(self) -> str | None:
        """The Document Signer certificate's subject (RFC 4514 text), or None without a certificate."""
        der = self.signer_certificate
        if der is None:
            return None
        from asn1crypto import x509

        try:
            return format_name(x509.Certificate.load(der).subject)
        except Exception:  # a malformed certificate has no readable subject
            return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "hash_algorithm": self.hash_algorithm,
            "dg_hashes": {str(n): h.hex().upper() for n, h in sorted(self.dg_hashes.items())},
            "lds_version": self.lds_version,
            "unicode_version": self.unicode_version,
            "digest_algorithm": self.digest_algorithm,
            "signature_algorithm": self.signature_algorithm,
            "signing_time": self.signing_time.isoformat() if self.signing_time else None,
            "signer": self.signer_subject,
            "signer_issuer": self.signer_id.issuer,
            "signer_serial_number": (
                None if self.signer_id.serial_number is None else format(self.signer_id.serial_number, "X")
            ),
            "certificate_count": len(self.signer_certificates),
        }


# --- decoding ----------------------------------------------------------------------------------------

_NAME_LABELS = {
    "2.5.4.3": "CN",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.5": "serialNumber",
    "1.2.840.113549.1.9.1": "emailAddress",
}


def format_name(name: Any) -> str:
    """An X.501 name as an RFC 4514 string (``CN=...,O=...,C=...``), for reports and messages.

    Never raises: certificate names come from untrusted bytes and only feed human-readable text.
    """
    try:
        parts: list[str] = []
        for rdn in reversed(list(name.chosen)):
            items = []
            for atv in rdn:
                oid = atv["type"].dotted
                value = atv["value"].native
                text = value if isinstance(value, str) else repr(value)
                text = re.sub(r'([,+"\\<>;=])', r"\\\1", text)
                items.append(f"{_NAME_LABELS.get(oid, oid)}={text}")
            parts.append("+".join(items))
        return ",".join(parts)
    except Exception:
        return "<unreadable name>"



def decode_sod(data: bytes) -> SOD:
    """Decode EF.SOD bytes. Total: any input gives an :class:`SOD` or a :class:`ParseError`."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ParseError("expected bytes", file=FILE)
    raw = bytes(data)
    if len(raw) > MAX_SOD_LENGTH:
        raise ParseError(f"{len(raw)} bytes is larger than any EF.SOD ({MAX_SOD_LENGTH} max)", file=FILE)
    try:
        tag, length, header_len = read_header(raw, 0, file=FILE)
    except TLVError as exc:
        raise ParseError(exc.reason, file=FILE, offset=exc.offset) from None
    if tag != SOD_TAG:
        raise ParseError(f"expected tag 77, found {tag:X}: not an EF.SOD", file=FILE, offset=0)
    end = header_len + length
    if end > len(raw):
        raise ParseError("truncated: the file is shorter than its tag 77 length", file=FILE, offset=0)
    if any(raw[end:].strip(b"\x00\xff")):
        # Some chips pad the file after the TLV; anything else after the object is not ours to ignore.
        raise ParseError("unexpected bytes after the tag 77 object", file=FILE, offset=end)
    try:
        return _decode_content_info(raw, raw[header_len:end], header_len)
    except ParseError:
        raise
    except Exception as exc:  # asn1crypto raises ValueError/TypeError/KeyError/... on bad input
        raise ParseError(f"malformed CMS structure ({type(exc).__name__})", file=FILE) from None


@dataclass(frozen=True)
class SignedContent:
    """The parts of a CMS SignedData a verifier needs, extracted eagerly from untrusted bytes.

    Shared by EF.SOD and ICAO master lists: both are SignedData with one signer and an embedded
    signer certificate.
    """

    econtent_type: str
    econtent: bytes = field(repr=False)
    digest_algorithm: str
    signature_algorithm: str
    signature_algorithm_der: bytes = field(repr=False)
    signature: bytes = field(repr=False)
    signer_id: SignerIdentifier
    signed_attributes: SignedAttributes | None
    certificates: tuple[bytes, ...] = field(repr=False)
    signer_info_count: int = 1


def decode_signed_data(content_info_der: bytes, *, file: str, offset: int = 0) -> SignedContent:
    """Decode a DER ContentInfo holding SignedData with attached content. Raises ParseError only."""
    try:
        return _decode_signed_data(content_info_der, file, offset)
    except ParseError:
        raise
    except Exception as exc:  # asn1crypto raises ValueError/TypeError/KeyError/... on bad input
        raise ParseError(f"malformed CMS structure ({type(exc).__name__})", file=file) from None


def _decode_signed_data(inner: bytes, file: str, base: int) -> SignedContent:
    content_info = cms.ContentInfo.load(inner, strict=True)
    if content_info["content_type"].dotted != "1.2.840.113549.1.7.2":
        raise ParseError("ContentInfo is not SignedData", file=file, offset=base)
    signed_data = content_info["content"]
    if not isinstance(signed_data, cms.SignedData):
        raise ParseError("ContentInfo is not SignedData", file=file, offset=base)

    eci = signed_data["encap_content_info"]
    econtent_type = eci["content_type"].dotted
    content = eci["content"]
    if content is None or isinstance(content, core.Void):
        raise ParseError("the signed content is missing (detached signature)", file=file)
    econtent = bytes(content.contents)

    signer_infos = signed_data["signer_infos"]
    if len(signer_infos) == 0:
        raise ParseError("SignedData has no signerInfo", file=file)
    signer_info = signer_infos[0]
    digest_algorithm = signer_info["digest_algorithm"]["algorithm"].native
    sig_alg = signer_info["signature_algorithm"]
    signature_algorithm = sig_alg["algorithm"].native
    # force the parameters to parse now (PSS parameters are needed at verification time)
    _ = sig_alg["parameters"].native if sig_alg["parameters"] is not None else None
    signature = bytes(signer_info["signature"].native)

    signer_id = _decode_sid(signer_info["sid"])
    signed_attributes = _decode_signed_attrs(signer_info["signed_attrs"])

    certificates: list[bytes] = []
    certs = signed_data["certificates"]
    if certs is not None and not isinstance(certs, core.Void):
        for choice in certs:
            if choice.name == "certificate":
                certificates.append(bytes(choice.chosen.dump()))

    return SignedContent(
        econtent_type=econtent_type,
        econtent=econtent,
        digest_algorithm=str(digest_algorithm),
        signature_algorithm=str(signature_algorithm),
        signature_algorithm_der=bytes(sig_alg.dump()),
        signature=signature,
        signer_id=signer_id,
        signed_attributes=signed_attributes,
        certificates=tuple(certificates),
        signer_info_count=len(signer_infos),
    )


def _decode_content_info(raw: bytes, inner: bytes, base: int) -> SOD:
    signed = _decode_signed_data(inner, FILE, base)
    if signed.econtent_type != LDS_SECURITY_OBJECT_OID:
        raise ParseError(
            f"encapsulated content type {signed.econtent_type} is not the LDS security object", file=FILE
        )
    lso = LDSSecurityObject.load(signed.econtent, strict=True)
    version, hash_algorithm, dg_hashes, lds_version, unicode_version = _decode_lso(lso)
    return SOD(
        raw=raw,
        version=version,
        hash_algorithm=hash_algorithm,
        dg_hashes=dg_hashes,
        lds_version=lds_version,
        unicode_version=unicode_version,
        signed=signed,
    )


def _decode_lso(lso: LDSSecurityObject) -> tuple[int, str, dict[int, bytes], str | None, str | None]:
    version = lso["version"].native
    if version not in (0, 1):
        raise ParseError(f"unsupported LDSSecurityObject version {version}", file=FILE)
    hash_algorithm = str(lso["hash_algorithm"]["algorithm"].native)
    size = DIGEST_SIZES.get(hash_algorithm)
    if size is None:
        raise ParseError(f"unsupported data group hash algorithm {hash_algorithm}", file=FILE)
    values = lso["data_group_hash_values"]
    if len(values) > MAX_DATA_GROUPS:
        raise ParseError(f"{len(values)} data group hashes is more than any LDS holds", file=FILE)
    dg_hashes: dict[int, bytes] = {}
    for item in values:
        number = item["data_group_number"].native
        digest = item["data_group_hash_value"].native
        if not isinstance(number, int) or not 1 <= number <= MAX_DATA_GROUPS:
            raise ParseError(f"data group number {number} out of range", file=FILE)
        if number in dg_hashes:
            raise ParseError(f"DG{number} is listed twice", file=FILE)
        if len(digest) != size:
            raise ParseError(
                f"DG{number} hash is {len(digest)} bytes, {hash_algorithm} gives {size}", file=FILE
            )
        dg_hashes[number] = bytes(digest)
    lds_version = unicode_version = None
    info = lso["lds_version_info"]
    if not isinstance(info, core.Void):
        if version != 1:
            raise ParseError("ldsVersionInfo present but version is not 1", file=FILE)
        lds_version = str(info["lds_version"].native)
        unicode_version = str(info["unicode_version"].native)
    return int(version), hash_algorithm, dg_hashes, lds_version, unicode_version


def _decode_sid(sid: cms.SignerIdentifier) -> SignerIdentifier:
    if sid.name == "issuer_and_serial_number":
        ias = sid.chosen
        issuer = ias["issuer"]
        return SignerIdentifier(
            issuer_der=issuer.dump(),
            issuer=format_name(issuer),
            serial_number=int(ias["serial_number"].native),
            subject_key_identifier=None,
        )
    return SignerIdentifier(
        issuer_der=None, issuer=None, serial_number=None, subject_key_identifier=bytes(sid.chosen.native)
    )


def _decode_signed_attrs(attrs: Any) -> SignedAttributes | None:
    if isinstance(attrs, core.Void) or attrs is None:
        return None
    tagged = attrs.dump()
    der = b"\x31" + tagged[1:]
    content_type: str | None = None
    message_digest: bytes | None = None
    signing_time: _dt.datetime | None = None
    types: list[str] = []
    duplicates: list[str] = []
    for attr in attrs:
        name = attr["type"].dotted
        values = attr["values"]
        if name in types:
            duplicates.append(name)
        types.append(name)
        if len(values) != 1:
            # RFC 5652 §11: these attributes carry exactly one value; the verifier treats others as absent.
            if name in ("1.2.840.113549.1.9.3", "1.2.840.113549.1.9.4", "1.2.840.113549.1.9.5"):
                duplicates.append(name)
            continue
        if name == "1.2.840.113549.1.9.3":
            content_type = values[0].dotted
        elif name == "1.2.840.113549.1.9.4":
            message_digest = bytes(values[0].native)
        elif name == "1.2.840.113549.1.9.5":
            value = values[0].native
            if isinstance(value, _dt.datetime):
                signing_time = value if value.tzinfo else value.replace(tzinfo=_dt.UTC)
    return SignedAttributes(
        der=der,
        content_type=content_type,
        message_digest=message_digest,
        signing_time=signing_time,
        attribute_types=tuple(types),
        duplicate_types=tuple(duplicates),
    )


# --- encoding of the signed content ----------------------------------------------------------------


def encode_lds_security_object(
    dg_hashes: Mapping[int, bytes],
    *,
    hash_algorithm: str = "sha256",
    lds_version: str | None = None,
    unicode_version: str = "040000",
) -> bytes:
    """DER of an LDSSecurityObject (the content the Document Signer signs).

    ``lds_version`` ("0108") selects version 1 with ldsVersionInfo; without it, version 0 as most issuers
    still write.
    """
    if hash_algorithm not in DIGEST_SIZES:
        raise ValueError(f"unsupported hash algorithm {hash_algorithm!r}")
    values = [
        DataGroupHash({"data_group_number": n, "data_group_hash_value": bytes(h)})
        for n, h in sorted(dg_hashes.items())
    ]
    content: dict[str, Any] = {
        "version": 1 if lds_version else 0,
        "hash_algorithm": algos.DigestAlgorithm({"algorithm": hash_algorithm}),
        "data_group_hash_values": DataGroupHashValues(values),
    }
    if lds_version:
        content["lds_version_info"] = LDSVersionInfo(
            {"lds_version": lds_version, "unicode_version": unicode_version}
        )
    return bytes(LDSSecurityObject(content).dump())


__all__ = [
    "LDS_SECURITY_OBJECT_OID",
    "SOD",
    "DataGroupHash",
    "LDSSecurityObject",
    "SignedAttributes",
    "SignedContent",
    "SignerIdentifier",
    "decode_signed_data",
    "decode_sod",
    "encode_lds_security_object",
    "format_name",
]
