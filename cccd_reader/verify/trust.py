"""Trust anchors for passive authentication: CSCA certificates, ICAO master lists and CRLs.

The store starts empty and a missing anchor is an ordinary, reportable outcome ("unknown issuer"), not an
error. The Vietnam eID CSCA that CCCD signers chain to is published by its issuer (not in the ICAO master
lists; see ``cccd_reader.verify.issuer``); callers load it here, or keep it in the user's store
(``cccd_reader.verify.userstore``, ``cccd-read trust``).

Every certificate in the store is treated as a trust anchor, as ICAO master lists intend: a CSCA's
self-signed certificate and its link certificates all carry keys the issuing state vouches for. Anchors
are matched to a document signer by issuer name (normalized) and key identifier, then by signature.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import core, crl, pem, x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import serialization

from cccd_reader.errors import ParseError, TrustStoreError, VerificationError
from cccd_reader.lds.sod import decode_signed_data, format_name
from cccd_reader.verify.signing import (
    VerifyKey,
    certificate_public_key,
    check_signed_content,
    verify_signature,
)

MASTER_LIST_OID = "2.23.136.1.1.2"  # id-icao-cscaMasterList
MAX_TRUST_FILE = 256 * 1024 * 1024  # master lists are a few MiB, ICAO PKD LDIF dumps tens; refuse absurd
CERT_EXTENSIONS = (".pem", ".der", ".cer", ".crt")
ALL_EXTENSIONS = (*CERT_EXTENSIONS, ".ml", ".crl", ".ldif")

# ICAO PKD LDIF attributes (base64 values) and what they hold
_LDIF_MASTER_LIST = ("pkdmasterlistcontent",)
_LDIF_CERTIFICATE = ("usercertificate;binary", "usercertificate", "cacertificate;binary", "cacertificate")
_LDIF_CRL = ("certificaterevocationlist;binary", "certificaterevocationlist")


class _CertificateSet(core.SetOf):  # type: ignore[misc]
    _child_spec = x509.Certificate


class CscaMasterList(core.Sequence):  # type: ignore[misc]
    """ICAO 9303-12 §9: CscaMasterList ::= SEQUENCE { version INTEGER, certList SET OF Certificate }."""

    _fields = [  # noqa: RUF012  (asn1crypto schema convention)
        ("version", core.Integer),
        ("cert_list", _CertificateSet),
    ]


def _utc(value: object) -> _dt.datetime:
    if not isinstance(value, _dt.datetime):
        raise ParseError("a certificate time is not a date-time")
    return value if value.tzinfo else value.replace(tzinfo=_dt.UTC)


# --- certificates ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateInfo:
    """The parts of an X.509 certificate passive authentication looks at, extracted once.

    Names are not personal data here (CSCA and document-signer names are organisational), so they
    appear in reprs and reports.
    """

    der: bytes = field(repr=False)
    subject: str
    issuer: str
    serial_number: int
    not_before: _dt.datetime
    not_after: _dt.datetime
    subject_key: str = field(repr=False)  # normalized subject name, for matching
    issuer_key: str = field(repr=False)
    subject_key_identifier: bytes | None = field(repr=False)
    authority_key_identifier: bytes | None = field(repr=False)
    is_ca: bool | None  # basicConstraints cA; None when the extension is absent
    key_usage: frozenset[str] | None  # None when the extension is absent
    country: str | None
    spki_der: bytes = field(repr=False)
    tbs_der: bytes = field(repr=False)
    signature_algorithm_der: bytes = field(repr=False)
    signature: bytes = field(repr=False)

    @classmethod
    def from_der(cls, der: bytes) -> CertificateInfo:
        """Parse a DER certificate. ParseError (file="certificate") on anything malformed."""
        try:
            cert = x509.Certificate.load(bytes(der), strict=True)
            tbs = cert["tbs_certificate"]
            validity = tbs["validity"]
            bc = cert.basic_constraints_value
            ku = cert.key_usage_value
            aki = cert.authority_key_identifier
            country = None
            for rdn in tbs["subject"].chosen:
                for atv in rdn:
                    if atv["type"].dotted == "2.5.4.6":
                        country = str(atv["value"].native)
            return cls(
                der=bytes(der),
                subject=format_name(tbs["subject"]),
                issuer=format_name(tbs["issuer"]),
                serial_number=int(tbs["serial_number"].native),
                not_before=_utc(validity["not_before"].native),
                not_after=_utc(validity["not_after"].native),
                subject_key=str(tbs["subject"].hashable),
                issuer_key=str(tbs["issuer"].hashable),
                subject_key_identifier=cert.key_identifier,
                authority_key_identifier=bytes(aki) if aki is not None else None,
                is_ca=bool(bc["ca"].native) if bc is not None else None,
                key_usage=frozenset(ku.native) if ku is not None else None,
                country=country,
                spki_der=bytes(tbs["subject_public_key_info"].dump()),
                tbs_der=bytes(tbs.dump()),
                signature_algorithm_der=bytes(cert["signature_algorithm"].dump()),
                signature=bytes(cert["signature_value"].native),
            )
        except ParseError as exc:
            raise ParseError(exc.reason, file="certificate") from None
        except Exception as exc:  # asn1crypto raises many types on malformed input
            reason = f"malformed X.509 certificate ({type(exc).__name__})"
            raise ParseError(reason, file="certificate") from None

    @property
    def fingerprint(self) -> bytes:
        """SHA-256 of the DER certificate."""
        return hashlib.sha256(self.der).digest()

    @property
    def self_signed(self) -> bool:
        return self.subject_key == self.issuer_key

    def validity_at(self, when: _dt.datetime) -> str:
        """"valid", "expired" or "not_yet_valid" at ``when``."""
        if when < self.not_before:
            return "not_yet_valid"
        if when > self.not_after:
            return "expired"
        return "valid"

    def public_key(self) -> VerifyKey:
        return certificate_public_key(self.der)

    def is_signed_by(self, issuer: CertificateInfo) -> bool:
        """True if ``issuer``'s key verifies this certificate's signature (False on any failure)."""
        try:
            key = issuer.public_key()
            return verify_signature(key, self.signature_algorithm_der, self.signature, self.tbs_der)
        except VerificationError:
            return False

    def to_cryptography(self) -> cx509.Certificate:
        return cx509.load_der_x509_certificate(self.der)


# --- CRLs --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CRLInfo:
    """A certificate revocation list, parsed; its signature is checked against the CSCA when used."""

    der: bytes = field(repr=False)
    issuer: str
    issuer_key: str = field(repr=False)
    this_update: _dt.datetime
    next_update: _dt.datetime | None
    revoked: dict[int, _dt.datetime] = field(repr=False, hash=False)  # ``der`` covers it for hashing
    tbs_der: bytes = field(repr=False)
    signature_algorithm_der: bytes = field(repr=False)
    signature: bytes = field(repr=False)
    authority_key_identifier: bytes | None = field(repr=False, default=None)

    @classmethod
    def from_der(cls, der: bytes) -> CRLInfo:
        try:
            cl = crl.CertificateList.load(bytes(der), strict=True)
            tbs = cl["tbs_cert_list"]
            revoked: dict[int, _dt.datetime] = {}
            entries = tbs["revoked_certificates"]
            if entries is not None and not isinstance(entries, core.Void):
                for entry in entries:
                    revoked[int(entry["user_certificate"].native)] = _utc(entry["revocation_date"].native)
            next_update = tbs["next_update"]
            nu = None if isinstance(next_update, core.Void) else next_update.native
            aki = cl.authority_key_identifier
            return cls(
                der=bytes(der),
                issuer=format_name(tbs["issuer"]),
                issuer_key=str(tbs["issuer"].hashable),
                this_update=_utc(tbs["this_update"].native),
                next_update=_utc(nu) if nu is not None else None,
                revoked=revoked,
                tbs_der=bytes(tbs.dump()),
                signature_algorithm_der=bytes(cl["signature_algorithm"].dump()),
                signature=bytes(cl["signature"].native),
                authority_key_identifier=bytes(aki) if aki is not None else None,
            )
        except Exception as exc:
            raise ParseError(f"malformed CRL ({type(exc).__name__})", file="CRL") from None

    def is_signed_by(self, issuer: CertificateInfo) -> bool:
        try:
            key = issuer.public_key()
            return verify_signature(key, self.signature_algorithm_der, self.signature, self.tbs_der)
        except VerificationError:
            return False


# --- master lists ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MasterListInfo:
    """What loading a master list found: how many CSCAs, and how far its own signature could be checked.

    ``signature_valid``: the CMS signature verifies with the embedded master-list signer certificate.
    ``signer_trusted``: that signer certificate is itself signed by a CSCA in the list or in the store.
    """

    source: str | None
    certificate_count: int
    signer: str | None
    signature_valid: bool
    signer_trusted: bool
    countries: tuple[str, ...]


def parse_master_list(
    data: bytes, *, source: str | None = None
) -> tuple[list[CertificateInfo], MasterListInfo]:
    """Decode and check an ICAO master list (.ml). TrustStoreError if malformed or its signature is bad."""
    where = f" ({source})" if source else ""
    try:
        signed = decode_signed_data(bytes(data), file="master list")
        if signed.econtent_type != MASTER_LIST_OID:
            raise TrustStoreError(f"not a CSCA master list: content type {signed.econtent_type}{where}")
        ml = CscaMasterList.load(signed.econtent, strict=True)
        certs = [CertificateInfo.from_der(bytes(c.dump())) for c in ml["cert_list"]]
    except TrustStoreError:
        raise
    except ParseError as exc:
        raise TrustStoreError(f"malformed master list{where}: {exc.reason}") from None
    except Exception as exc:
        raise TrustStoreError(f"malformed master list{where} ({type(exc).__name__})") from None

    signer: CertificateInfo | None = None
    sid = signed.signer_id
    for der in signed.certificates:
        try:
            cand = CertificateInfo.from_der(der)
        except ParseError:
            continue
        by_serial = sid.serial_number is not None and cand.serial_number == sid.serial_number
        ski = sid.subject_key_identifier
        if by_serial or (ski is not None and cand.subject_key_identifier == ski):
            signer = cand
            break
    signature_valid = False
    if signer is not None:
        try:
            check = check_signed_content(signer.public_key(), signed)
        except VerificationError as exc:
            raise TrustStoreError(f"master list signer key unusable{where}: {exc}") from None
        if not check.valid:
            raise TrustStoreError(f"master list signature does not verify{where}: {check.reason}")
        signature_valid = True
    info = MasterListInfo(
        source=source,
        certificate_count=len(certs),
        signer=signer.subject if signer else None,
        signature_valid=signature_valid,
        signer_trusted=False,
        countries=tuple(sorted({c.country for c in certs if c.country})),
    )
    if signer is not None:
        trusted = any(signer.issuer_key == c.subject_key and signer.is_signed_by(c) for c in certs)
        info = MasterListInfo(**{**info.__dict__, "signer_trusted": trusted})
    return certs, info


# --- the store ---------------------------------------------------------------------------------------


def _ldif_binary_values(data: bytes) -> list[tuple[str, bytes]]:
    """``(attribute, value)`` for every base64 (``attr:: value``) line of an LDIF file (RFC 2849).

    Continuation lines (starting with one space) are unfolded first. Values that are not valid base64
    are dropped: they cannot be the binary attributes this store wants.
    """
    text = data.decode("utf-8", errors="replace")
    logical: list[str] = []
    for line in text.splitlines():
        if line.startswith(" ") and logical:
            logical[-1] += line[1:]
        elif line and not line.startswith("#"):
            logical.append(line)
    out: list[tuple[str, bytes]] = []
    for line in logical:
        attribute, sep, value = line.partition("::")
        if not sep:
            continue
        try:
            out.append((attribute.strip().lower(), base64.b64decode(value.strip(), validate=True)))
        except (ValueError, binascii.Error):
            continue
    return out



def _pem_blocks(data: bytes) -> list[tuple[str, bytes]]:
    try:
        return [(str(kind), bytes(der)) for kind, _headers, der in pem.unarmor(data, multiple=True)]
    except Exception as exc:
        raise TrustStoreError(f"malformed PEM ({type(exc).__name__})") from None


class TrustStore:
    """CSCA anchors (from certificate files and master lists) and CRLs.

    Not frozen (it is built up by loading), but every record it hands out is immutable.
    """

    def __init__(self) -> None:
        self._certs: dict[bytes, CertificateInfo] = {}
        self._sources: dict[bytes, str] = {}
        self._crls: dict[bytes, CRLInfo] = {}
        self._master_lists: list[MasterListInfo] = []
        # indexes, kept in step by _index/_add_crl_info: a lookup is a dict access, not a scan of
        # (and a re-parse of) every anchor, so a store with a master list's hundreds of CSCAs costs
        # passive authentication about what one CSCA does
        self._by_subject: dict[str, list[CertificateInfo]] = {}
        self._by_key_id: dict[bytes, list[CertificateInfo]] = {}
        self._by_issuer_serial: dict[tuple[str, int], list[CertificateInfo]] = {}
        self._crls_by_issuer: dict[str, list[CRLInfo]] = {}

    # loading

    @classmethod
    def from_paths(
        cls, *paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]
    ) -> TrustStore:
        """Load certificate files (.pem/.der/.cer/.crt), master lists (.ml), CRLs (.crl), PKD LDIF (.ldif).

        A folder is searched recursively for those extensions; other files in it are ignored. A file
        named explicitly must load. Lists of paths are accepted as well as separate arguments.
        """
        store = cls()
        for item in paths:
            if isinstance(item, str | os.PathLike):
                store.add_path(item)
            else:
                for path in item:
                    store.add_path(path)
        return store

    def add_path(self, path: str | os.PathLike[str]) -> None:
        p = Path(path)
        if p.is_dir():
            for child in sorted(p.rglob("*")):
                if child.is_file() and child.suffix.lower() in ALL_EXTENSIONS:
                    self._add_file(child)
        elif p.is_file():
            self._add_file(p)
        else:
            raise TrustStoreError(f"no such file or folder: {p}")

    def _add_file(self, path: Path) -> None:
        try:
            size = path.stat().st_size
            if size > MAX_TRUST_FILE:
                raise TrustStoreError(f"{path}: {size} bytes is too large for a trust file")
            data = path.read_bytes()
        except OSError as exc:
            raise TrustStoreError(f"cannot read {path}: {exc.strerror}") from None
        suffix = path.suffix.lower()
        try:
            if suffix == ".ml":
                self.add_master_list(data, source=str(path))
            elif suffix == ".crl":
                self.add_crl(data)
            elif suffix == ".ldif":
                self.add_ldif(data, source=str(path))
            else:
                self._add_certificate_or_crl_file(data, path)
        except TrustStoreError as exc:
            if str(path) in str(exc):
                raise
            raise TrustStoreError(f"{path}: {exc}") from None

    def _add_certificate_or_crl_file(self, data: bytes, path: Path) -> None:
        if pem.detect(data):
            found = False
            for kind, der in _pem_blocks(data):
                if kind in ("CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE"):
                    self._add_certificate_der(der, source=str(path))
                    found = True
                elif kind in ("X509 CRL", "CRL"):
                    self.add_crl(der)
                    found = True
            if not found:
                raise TrustStoreError("no certificate or CRL in the PEM file")
            return
        try:
            self._add_certificate_der(data, source=str(path))
        except TrustStoreError:
            # a DER file with a certificate extension may still be a CRL or a master list
            try:
                self.add_crl(data)
            except TrustStoreError:
                self.add_master_list(data, source=str(path))

    def add_certificate(self, certificate: bytes | cx509.Certificate) -> CertificateInfo:
        """Add one CSCA (or link) certificate given as DER, PEM or a ``cryptography`` certificate."""
        if isinstance(certificate, cx509.Certificate):
            der = certificate.public_bytes(serialization.Encoding.DER)
            return self._add_certificate_der(der, source=None)
        data = bytes(certificate)
        if pem.detect(data):
            blocks = [der for kind, der in _pem_blocks(data) if "CERTIFICATE" in kind]
            if len(blocks) != 1:
                raise TrustStoreError(f"expected one PEM certificate, found {len(blocks)}")
            data = blocks[0]
        return self._add_certificate_der(data, source=None)

    def _add_certificate_der(self, der: bytes, *, source: str | None) -> CertificateInfo:
        try:
            info = CertificateInfo.from_der(der)
        except ParseError as exc:
            raise TrustStoreError(f"not a usable certificate: {exc.reason}") from None
        self._index(info)
        if source:
            self._sources.setdefault(info.fingerprint, source)
        return info

    def _index(self, cert: CertificateInfo) -> None:
        """Add ``cert`` (once: duplicates by fingerprint collapse) and file it under each index."""
        if cert.fingerprint in self._certs:
            return
        self._certs[cert.fingerprint] = cert
        self._by_subject.setdefault(cert.subject_key, []).append(cert)
        if cert.subject_key_identifier is not None:
            self._by_key_id.setdefault(cert.subject_key_identifier, []).append(cert)
        self._by_issuer_serial.setdefault((cert.issuer_key, cert.serial_number), []).append(cert)

    def add_master_list(self, data: bytes, *, source: str | None = None) -> MasterListInfo:
        """Add every CSCA of an ICAO master list after checking the list's own CMS signature.

        A list whose embedded signer certificate does not verify the signature is refused: it was
        altered. A list without a signer certificate loads with ``signature_valid=False``.
        """
        certs, info = parse_master_list(data, source=source)
        if info.signer is not None and not info.signer_trusted:
            # the issuing state's CSCA may already be in the store (e.g. loaded from its own file)
            signed = decode_signed_data(bytes(data), file="master list")
            for der in signed.certificates:
                try:
                    signer = CertificateInfo.from_der(der)
                except ParseError:
                    continue
                if any(signer.is_signed_by(c) for c in self.issuers_of(signer)):
                    info = MasterListInfo(**{**info.__dict__, "signer_trusted": True})
                    break
        for cert in certs:
            self._index(cert)
            self._sources.setdefault(cert.fingerprint, f"master list {source}" if source else "master list")
        self._master_lists.append(info)
        return info

    def add_crl(self, data: bytes) -> CRLInfo:
        """Add a CRL (DER or PEM). Its signature is checked against the CSCA when it is used."""
        raw = bytes(data)
        if pem.detect(raw):
            blocks = [der for kind, der in _pem_blocks(raw) if "CRL" in kind]
            if len(blocks) != 1:
                raise TrustStoreError(f"expected one PEM CRL, found {len(blocks)}")
            raw = blocks[0]
        try:
            info = CRLInfo.from_der(raw)
        except ParseError as exc:
            raise TrustStoreError(f"not a usable CRL: {exc.reason}") from None
        digest = hashlib.sha256(raw).digest()
        if digest not in self._crls:
            self._crls[digest] = info
            self._crls_by_issuer.setdefault(info.issuer_key, []).append(info)
        return info

    def add_ldif(self, data: bytes, *, source: str | None = None) -> dict[str, int]:
        """Load an ICAO PKD LDIF download: master lists, certificates and CRLs found in its entries.

        PKD dumps hold thousands of entries, some of them unparseable or oddly encoded; a bad entry is
        skipped and counted rather than failing the whole file. TrustStoreError only if nothing loads.
        """
        counts = {"master_lists": 0, "certificates": 0, "crls": 0, "skipped": 0}
        for attribute, value in _ldif_binary_values(bytes(data)):
            try:
                if attribute in _LDIF_MASTER_LIST:
                    self.add_master_list(value, source=source)
                    counts["master_lists"] += 1
                elif attribute in _LDIF_CERTIFICATE:
                    self._add_certificate_der(value, source=source)
                    counts["certificates"] += 1
                elif attribute in _LDIF_CRL:
                    self.add_crl(value)
                    counts["crls"] += 1
            except TrustStoreError:
                counts["skipped"] += 1
        if not (counts["master_lists"] or counts["certificates"] or counts["crls"]):
            raise TrustStoreError(
                f"no usable master list, certificate or CRL in the LDIF ({counts['skipped']} skipped)"
            )
        return counts

    # queries

    @property
    def certificates(self) -> tuple[CertificateInfo, ...]:
        return tuple(self._certs.values())

    @property
    def crls(self) -> tuple[CRLInfo, ...]:
        return tuple(self._crls.values())

    @property
    def master_lists(self) -> tuple[MasterListInfo, ...]:
        return tuple(self._master_lists)

    def source_of(self, cert: CertificateInfo) -> str | None:
        return self._sources.get(cert.fingerprint)

    def for_country(self, country: str) -> tuple[CertificateInfo, ...]:
        """Anchors whose subject country is ``country`` ("VN"): to see whether a CSCA is loaded at all."""
        code = country.upper()
        return tuple(c for c in self._certs.values() if (c.country or "").upper() == code)

    def issuers_of(self, cert: CertificateInfo) -> list[CertificateInfo]:
        """Anchors whose subject is ``cert``'s issuer, those with a matching key identifier first."""
        found = list(self._by_subject.get(cert.issuer_key, ()))
        aki = cert.authority_key_identifier
        if aki is not None:
            found.sort(key=lambda c: c.subject_key_identifier != aki)
        return found

    def by_issuer_and_serial(self, issuer_key: str, serial_number: int) -> list[CertificateInfo]:
        """Anchors with this issuer (normalized name, as ``CertificateInfo.issuer_key``) and serial."""
        return list(self._by_issuer_serial.get((issuer_key, serial_number), ()))

    def by_key_identifier(self, key_identifier: bytes) -> list[CertificateInfo]:
        """Anchors whose subject key identifier is ``key_identifier``."""
        return list(self._by_key_id.get(bytes(key_identifier), ()))

    def crls_for(self, issuer: CertificateInfo) -> list[CRLInfo]:
        """CRLs naming ``issuer`` as their issuer (signature not yet checked), newest first."""
        found = list(self._crls_by_issuer.get(issuer.subject_key, ()))
        found.sort(key=lambda c: c.this_update, reverse=True)
        return found

    def __len__(self) -> int:
        return len(self._certs)

    def __repr__(self) -> str:
        return f"TrustStore({len(self._certs)} anchors, {len(self._crls)} CRLs)"

    def extend(self, certificates: Iterable[bytes | cx509.Certificate]) -> None:
        for cert in certificates:
            self.add_certificate(cert)


__all__ = [
    "MASTER_LIST_OID",
    "CRLInfo",
    "CertificateInfo",
    "CscaMasterList",
    "MasterListInfo",
    "TrustStore",
    "parse_master_list",
]
