"""Passive authentication (ICAO 9303-11 §5.1): is the data read from the chip the data the issuer signed?

The verdict is structured rather than a boolean because the answers differ in kind:

* the data-group hashes and the SOD signature say whether the files are internally consistent and signed
  by the certificate embedded in EF.SOD;
* the chain says whether that certificate is vouched for by a CSCA the caller trusts.

Until the caller trusts the issuer's CSCA the chain ends in ``UNKNOWN_ISSUER``. That gives
``PASSED_UNTRUSTED``, which is distinct from ``FAILED`` (something was altered or is invalid); the chain
check then names the issuer (name and key identifier) and ``ChainCheck.advice`` says how to trust it (for a
CCCD: where the Vietnam eID CSCA is published, see ``cccd_reader.verify.issuer``). Nothing is downloaded.

The signer certificate's own statements are reported too: the ICAO documentTypeList (a chip whose MRZ
document code is not among them gets a warning) and the private key usage period.

Certificates are checked at the SOD's signing-time attribute when present (the moment the signer used
its key), otherwise at ``at_time`` or now; the moment and its source are part of the verdict, so an
offline re-verification with the same ``at_time`` gives the same answer.
"""

from __future__ import annotations

import datetime as _dt
import enum
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cccd_reader.errors import InputError, ParseError, VerificationError
from cccd_reader.lds.sod import SOD, SignedContent, decode_sod
from cccd_reader.model import to_jsonable
from cccd_reader.verify.issuer import (
    SignerExtensions,
    key_id_text,
    looks_like_vietnam_eid,
    signer_extensions,
    trust_advice,
)
from cccd_reader.verify.signing import check_signed_content, digest
from cccd_reader.verify.trust import CertificateInfo, TrustStore

# --- the verdict -------------------------------------------------------------------------------------


class PAStatus(enum.Enum):
    PASSED = "passed"  # consistent, signed, and the signer chains to a trusted, unrevoked CSCA
    PASSED_UNTRUSTED = "passed_untrusted"  # consistent and signed by the embedded certificate; CSCA unknown
    FAILED = "failed"  # a hash, the signature, a certificate or the chain is wrong


class DGStatus(enum.Enum):
    OK = "ok"
    MISMATCH = "mismatch"
    NOT_READ = "not_read"  # listed in the SOD, not given to the verifier: nothing to judge
    NOT_LISTED = "not_listed"  # read, but the SOD has no hash for it: unauthenticated data


class SignatureStatus(enum.Enum):
    VALID = "valid"
    INVALID = "invalid"


class CertificateValidity(enum.Enum):
    VALID = "valid"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    UNKNOWN = "unknown"  # no usable certificate


class KeyUsageStatus(enum.Enum):
    OK = "ok"  # digitalSignature set
    MISSING = "missing"  # no keyUsage extension (ICAO 9303-12 requires it; reported, not fatal)
    WRONG = "wrong"  # keyUsage present without digitalSignature
    UNKNOWN = "unknown"


class ChainStatus(enum.Enum):
    TRUSTED = "trusted"
    UNKNOWN_ISSUER = "unknown_issuer"  # no anchor with the signer's issuer name: cannot judge
    INVALID = "invalid"  # an anchor was found but the chain does not hold (signature, CA flags, key usage)
    EXPIRED = "expired"  # the chain holds but a certificate is outside its validity at the check time


class RevocationStatus(enum.Enum):
    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"  # no (verifiable) CRL from the signer's CSCA, or no trusted chain to ask about


@dataclass(frozen=True)
class DataGroupCheck:
    number: int
    status: DGStatus
    expected_hash: bytes | None = field(repr=False, default=None)
    actual_hash: bytes | None = field(repr=False, default=None)


@dataclass(frozen=True)
class SignatureCheck:
    status: SignatureStatus
    algorithm: str
    digest_algorithm: str
    message_digest_ok: bool | None
    content_type_ok: bool | None
    reason: str | None = None


@dataclass(frozen=True)
class SignerCertificateCheck:
    found: bool
    subject: str | None
    issuer: str | None
    serial_number: int | None
    not_before: _dt.datetime | None
    not_after: _dt.datetime | None
    validity: CertificateValidity
    key_usage: KeyUsageStatus
    source: str | None = None  # "sod" (embedded) or "trust store"
    certificate: bytes | None = field(repr=False, default=None)
    reason: str | None = None
    extensions: SignerExtensions | None = None  # documentTypeList, private key usage period, issuer URLs
    signed_within_key_usage_period: bool | None = None  # the SOD's signing time vs that period

    def to_dict(self) -> dict[str, Any]:
        d = {f: to_jsonable(getattr(self, f)) for f in self.__dataclass_fields__ if f != "certificate"}
        d["serial_number"] = None if self.serial_number is None else format(self.serial_number, "X")
        return d


@dataclass(frozen=True)
class ChainCheck:
    """``issuer`` / ``issuer_key_identifier``: the CSCA the signer names (its authority key identifier);
    ``advice``: for an unknown issuer, how to come to trust it."""

    status: ChainStatus
    anchor_subject: str | None = None
    anchor_source: str | None = None
    reason: str | None = None
    issuer: str | None = None
    issuer_key_identifier: bytes | None = field(default=None, repr=False)
    advice: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {f: to_jsonable(getattr(self, f)) for f in self.__dataclass_fields__}
        d["issuer_key_identifier"] = key_id_text(self.issuer_key_identifier)
        return d


@dataclass(frozen=True)
class RevocationCheck:
    status: RevocationStatus
    crl_issuer: str | None = None
    crl_this_update: _dt.datetime | None = None
    crl_next_update: _dt.datetime | None = None
    revocation_date: _dt.datetime | None = None
    reason: str | None = None


@dataclass(frozen=True)
class PassiveAuthResult:
    """The passive-authentication verdict. ``status`` is the one-word answer; the rest says why."""

    status: PAStatus
    data_groups: tuple[DataGroupCheck, ...]
    signature: SignatureCheck
    signer: SignerCertificateCheck
    chain: ChainCheck
    revocation: RevocationCheck
    hash_algorithm: str
    checked_at: _dt.datetime
    time_source: str  # "signing_time", "at_time" or "now"
    reasons: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # worth telling, not a failure (e.g. the document type is not listed)

    @property
    def passed(self) -> bool:
        """True for PASSED and PASSED_UNTRUSTED: nothing was found altered."""
        return self.status is not PAStatus.FAILED

    @property
    def trusted(self) -> bool:
        return self.status is PAStatus.PASSED

    @property
    def trust_message(self) -> str | None:
        """For a signer whose issuer is not trusted: who the issuer is and how to trust it (else None)."""
        if self.chain.status is not ChainStatus.UNKNOWN_ISSUER or self.chain.issuer is None:
            return None
        return f"The document signer was {self.chain.reason}. {self.chain.advice or ''}".strip()

    def data_group(self, number: int) -> DataGroupCheck | None:
        return next((c for c in self.data_groups if c.number == number), None)

    def summary(self) -> str:
        """Human text for the CLI: the verdict first, then one line per check."""
        headline = {
            PAStatus.PASSED: "PASSED: data intact, signature valid, signer trusted",
            PAStatus.PASSED_UNTRUSTED: (
                "PASSED (untrusted signer): data intact and signed by the embedded certificate, "
                "but the signer does not chain to a trusted CSCA"
            ),
            PAStatus.FAILED: "FAILED",
        }[self.status]
        lines = [f"Passive authentication: {headline}"]
        dgs = ", ".join(f"DG{c.number} {c.status.value}" for c in self.data_groups) or "none"
        lines.append(f"  data groups ({self.hash_algorithm}): {dgs}")
        sig = f"  SOD signature: {self.signature.status.value} ({self.signature.algorithm})"
        if self.signature.reason:
            sig += f" - {self.signature.reason}"
        lines.append(sig)
        s = self.signer
        if s.found:
            lines.append(
                f"  signer: {s.subject}, serial {format(s.serial_number or 0, 'X')}, "
                f"valid {_day(s.not_before)}..{_day(s.not_after)}: {s.validity.value}, "
                f"key usage {s.key_usage.value}"
            )
            ext = s.extensions
            if ext is not None and ext.document_types is not None:
                lines.append(f"  signer may sign document types: {', '.join(ext.document_types) or 'none'}")
            if ext is not None and ext.has_private_key_usage_period:
                inside = {True: "signing time inside", False: "signing time OUTSIDE", None: ""}[
                    s.signed_within_key_usage_period]
                lines.append(
                    f"  signer private key used {_day(ext.private_key_not_before)}.."
                    f"{_day(ext.private_key_not_after)}" + (f" ({inside})" if inside else "")
                )
        else:
            lines.append(f"  signer: not found{' - ' + s.reason if s.reason else ''}")
        chain = f"  chain: {self.chain.status.value}"
        if self.chain.anchor_subject:
            chain += f" (CSCA {self.chain.anchor_subject})"
        if self.chain.reason:
            chain += f" - {self.chain.reason}"
        lines.append(chain)
        if self.chain.advice:
            lines.append(f"  to trust it: {self.chain.advice}")
        rev = f"  revocation: {self.revocation.status.value}"
        if self.revocation.reason:
            rev += f" - {self.revocation.reason}"
        lines.append(rev)
        lines.append(f"  checked at {self.checked_at.isoformat()} ({self.time_source.replace('_', ' ')})")
        lines.extend(f"  ! {r}" for r in self.reasons)
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "data_groups": [
                {
                    "number": c.number,
                    "status": c.status.value,
                    "expected_hash": c.expected_hash.hex().upper() if c.expected_hash else None,
                    "actual_hash": c.actual_hash.hex().upper() if c.actual_hash else None,
                }
                for c in self.data_groups
            ],
            "signature": to_jsonable(self.signature),
            "signer": self.signer.to_dict(),
            "chain": self.chain.to_dict(),
            "revocation": to_jsonable(self.revocation),
            "hash_algorithm": self.hash_algorithm,
            "checked_at": self.checked_at.isoformat(),
            "time_source": self.time_source,
            "reasons": list(self.reasons),
            "warnings": list(self.warnings),
        }


def _day(when: _dt.datetime | None) -> str:
    return when.date().isoformat() if when else "?"


# --- the checks --------------------------------------------------------------------------------------


def _check_data_groups(sod: SOD, files: Mapping[int, bytes]) -> tuple[DataGroupCheck, ...]:
    checks: list[DataGroupCheck] = []
    for number in sorted(set(sod.dg_hashes) | set(files)):
        expected = sod.dg_hashes.get(number)
        content = files.get(number)
        if content is None:
            checks.append(DataGroupCheck(number, DGStatus.NOT_READ, expected, None))
            continue
        actual = digest(sod.hash_algorithm, bytes(content))
        if expected is None:
            checks.append(DataGroupCheck(number, DGStatus.NOT_LISTED, None, actual))
        else:
            status = DGStatus.OK if actual == expected else DGStatus.MISMATCH
            checks.append(DataGroupCheck(number, status, expected, actual))
    return tuple(checks)


def _find_signer(
    sod: SignedContent, trust: TrustStore | None
) -> tuple[CertificateInfo | None, str | None, str | None]:
    """The signer certificate (embedded, else from the trust store), its source, and why not if absent.

    The trust store is asked through its indexes (issuer and serial, key identifier): its anchors are
    parsed once when loaded, not on every verification.
    """
    sid = sod.signer_id
    malformed = False
    embedded: list[CertificateInfo] = []
    for der in sod.certificates:
        try:
            embedded.append(CertificateInfo.from_der(der))
        except ParseError:
            malformed = True
    issuer_key: str | None = None
    if sid.issuer_der is not None:
        from asn1crypto import x509

        try:
            issuer_key = str(x509.Name.load(sid.issuer_der).hashable)
        except Exception:  # an unreadable issuer name matches no certificate
            issuer_key = None
    by_serial = sid.serial_number is not None and sid.issuer_der is not None
    ski = sid.subject_key_identifier
    for cert in embedded:
        if by_serial:
            if cert.serial_number == sid.serial_number and cert.issuer_key == issuer_key:
                return cert, "sod", None
        elif ski is not None and cert.subject_key_identifier == ski:
            return cert, "sod", None
    if trust is not None:
        if by_serial:
            found = (
                trust.by_issuer_and_serial(issuer_key, sid.serial_number)
                if issuer_key is not None and sid.serial_number is not None
                else []
            )
        else:
            found = trust.by_key_identifier(ski) if ski is not None else []
        if found:
            return found[0], "trust store", None
    if len(embedded) == 1 and len(sod.certificates) == 1:
        # one embedded certificate that the signer identifier does not name: still check with it,
        # the signature decides
        return embedded[0], "sod", None
    if malformed:
        return None, None, "the embedded signer certificate is malformed"
    return None, None, "no certificate matching the signer identifier"


def _key_usage(cert: CertificateInfo) -> KeyUsageStatus:
    if cert.key_usage is None:
        return KeyUsageStatus.MISSING
    return KeyUsageStatus.OK if "digital_signature" in cert.key_usage else KeyUsageStatus.WRONG


_VALIDITY = {
    "valid": CertificateValidity.VALID,
    "expired": CertificateValidity.EXPIRED,
    "not_yet_valid": CertificateValidity.NOT_YET_VALID,
}


def _unknown_issuer(signer: CertificateInfo, ext: SignerExtensions | None, trust: TrustStore | None,
                    issuing_state: str | None) -> ChainCheck:
    """The chain check for a signer whose CSCA is not trusted: who the issuer is and how to trust it."""
    key_id = signer.authority_key_identifier
    kid = key_id_text(key_id)
    named = signer.issuer + (f" (key identifier {kid})" if kid else "")
    if trust is None or len(trust) == 0:
        reason = f"issued by {named}; no trust anchors were given"
    else:
        reason = f"issued by {named}, which is not among the {len(trust)} trust anchors"
    vietnam = looks_like_vietnam_eid(_issuer_country(signer), issuing_state)
    urls = ext.ca_issuer_urls if ext is not None else ()
    return ChainCheck(ChainStatus.UNKNOWN_ISSUER, reason=reason, issuer=signer.issuer,
                      issuer_key_identifier=key_id,
                      advice=trust_advice(vietnam=vietnam, urls=urls))


def _issuer_country(cert: CertificateInfo) -> str | None:
    from asn1crypto import x509

    try:
        value = x509.Certificate.load(cert.der)["tbs_certificate"]["issuer"].native.get("country_name")
    except Exception:  # the name was readable when the certificate was parsed; be safe anyway
        return None
    return value if isinstance(value, str) else None


def _check_chain(
    signer: CertificateInfo, trust: TrustStore | None, when: _dt.datetime,
    ext: SignerExtensions | None = None, issuing_state: str | None = None,
) -> tuple[ChainCheck, CertificateInfo | None]:
    if trust is None or len(trust) == 0:
        return _unknown_issuer(signer, ext, trust, issuing_state), None
    candidates = trust.issuers_of(signer)
    if not candidates:
        return _unknown_issuer(signer, ext, trust, issuing_state), None
    anchor = next((c for c in candidates if signer.is_signed_by(c)), None)
    if anchor is None:
        return (
            ChainCheck(
                ChainStatus.INVALID,
                reason="a CSCA with the issuer's name is trusted, but its key does not verify the signer "
                "certificate",
            ),
            None,
        )
    subject, source = anchor.subject, trust.source_of(anchor)
    issuer, issuer_kid = signer.issuer, signer.authority_key_identifier
    problems: list[str] = []
    if anchor.is_ca is not True:
        problems.append("the CSCA certificate is not marked as a CA (basicConstraints)")
    if anchor.key_usage is not None and "key_cert_sign" not in anchor.key_usage:
        problems.append("the CSCA key usage does not allow certificate signing")
    if problems:
        reason = "; ".join(problems)
        return ChainCheck(ChainStatus.INVALID, subject, source, reason, issuer, issuer_kid), anchor
    expired: list[str] = []
    for label, cert in (("signer", signer), ("CSCA", anchor)):
        state = cert.validity_at(when)
        if state != "valid":
            state_text = state.replace("_", " ")
            expired.append(f"the {label} certificate is {state_text} at {when.date().isoformat()}")
    if expired:
        reason = "; ".join(expired)
        return ChainCheck(ChainStatus.EXPIRED, subject, source, reason, issuer, issuer_kid), anchor
    return ChainCheck(ChainStatus.TRUSTED, subject, source, None, issuer, issuer_kid), anchor


def _check_revocation(
    signer: CertificateInfo, anchor: CertificateInfo | None, trust: TrustStore | None, when: _dt.datetime
) -> RevocationCheck:
    if anchor is None or trust is None:
        return RevocationCheck(RevocationStatus.UNKNOWN, reason="no trusted CSCA to ask about revocation")
    crls = trust.crls_for(anchor)
    if not crls:
        return RevocationCheck(RevocationStatus.UNKNOWN, reason="no CRL from the signer's CSCA was given")
    bad_signature = False
    for item in crls:
        if not item.is_signed_by(anchor):
            bad_signature = True
            continue
        revoked_at = item.revoked.get(signer.serial_number)
        if revoked_at is not None:
            return RevocationCheck(
                RevocationStatus.REVOKED,
                item.issuer,
                item.this_update,
                item.next_update,
                revoked_at,
                "the signer certificate is on the CSCA's CRL",
            )
        note = None
        if item.next_update is not None and item.next_update < when:
            note = f"the CRL's next update ({item.next_update.date().isoformat()}) has passed"
        return RevocationCheck(
            RevocationStatus.GOOD, item.issuer, item.this_update, item.next_update, None, note
        )
    reason = "the CRL signature does not verify with the CSCA key" if bad_signature else None
    return RevocationCheck(RevocationStatus.UNKNOWN, reason=reason)


def _as_trust_store(trust: object) -> TrustStore | None:
    if trust is None or isinstance(trust, TrustStore):
        return trust
    if isinstance(trust, str | os.PathLike | list | tuple):
        return TrustStore.from_paths(trust if isinstance(trust, list | tuple) else [trust])
    raise InputError("trust must be a TrustStore, a path or a list of paths")


def verify_passive(
    sod: bytes | SOD,
    files: Mapping[int, bytes],
    *,
    trust: TrustStore | str | os.PathLike[str] | None = None,
    at_time: _dt.datetime | None = None,
) -> PassiveAuthResult:
    """Passive authentication of the data groups ``files`` (DG number -> complete DG bytes).

    ``trust`` is a TrustStore, or paths to load one from (TrustStoreError if they do not load).
    Raises ParseError only when EF.SOD itself cannot be decoded; every other problem is a verdict.
    """
    trust = _as_trust_store(trust)
    record = sod if isinstance(sod, SOD) else decode_sod(sod)
    now = _dt.datetime.now(_dt.UTC)
    if record.signing_time is not None:
        when, source = record.signing_time, "signing_time"
    elif at_time is not None:
        when = at_time if at_time.tzinfo else at_time.replace(tzinfo=_dt.UTC)
        source = "at_time"
    else:
        when, source = now, "now"
    reasons: list[str] = []
    warnings: list[str] = []

    dg_checks = _check_data_groups(record, files)
    for c in dg_checks:
        if c.status is DGStatus.MISMATCH:
            reasons.append(f"DG{c.number} does not match its hash in the SOD")
        elif c.status is DGStatus.NOT_LISTED:
            reasons.append(f"DG{c.number} was read but the SOD has no hash for it")

    signer, signer_source, why_missing = _find_signer(record.signed, trust)
    if signer is None:
        signature = SignatureCheck(
            SignatureStatus.INVALID,
            record.signature_algorithm,
            record.digest_algorithm,
            None,
            None,
            why_missing,
        )
        signer_check = SignerCertificateCheck(
            False, None, None, None, None, None, CertificateValidity.UNKNOWN, KeyUsageStatus.UNKNOWN,
            reason=why_missing,
        )
        chain = ChainCheck(ChainStatus.UNKNOWN_ISSUER, reason="no signer certificate")
        revocation = RevocationCheck(RevocationStatus.UNKNOWN, reason="no signer certificate")
        reasons.append(f"the SOD signature cannot be checked: {why_missing}")
    else:
        signature = _check_signature(record.signed, signer)
        if signature.status is SignatureStatus.INVALID:
            reasons.append(f"the SOD signature is invalid: {signature.reason}")
        validity = _VALIDITY[signer.validity_at(when)]
        key_usage = _key_usage(signer)
        ext = signer_extensions(signer.der)
        signer_check = SignerCertificateCheck(
            True, signer.subject, signer.issuer, signer.serial_number, signer.not_before, signer.not_after,
            validity, key_usage, signer_source, signer.der, extensions=ext,
            signed_within_key_usage_period=(
                ext.signed_within_key_usage_period(record.signing_time)
                if record.signing_time is not None else None),
        )
        document_code, issuing_state = _document_code(files.get(1))
        warnings.extend(_document_type_warnings(ext, document_code))
        if validity is not CertificateValidity.VALID:
            reasons.append(f"the signer certificate is {validity.value.replace('_', ' ')} at the check time")
        if key_usage is KeyUsageStatus.WRONG:
            reasons.append("the signer certificate's key usage does not allow digital signatures")
        chain, anchor = _check_chain(signer, trust, when, ext, issuing_state)
        if chain.status in (ChainStatus.INVALID, ChainStatus.EXPIRED):
            reasons.append(f"chain {chain.status.value}: {chain.reason}")
        revocation = _check_revocation(signer, anchor, trust, now)
        if revocation.status is RevocationStatus.REVOKED:
            reasons.append("the signer certificate is revoked")
    if record.signer_info_count != 1:
        reasons.append(f"the SOD has {record.signer_info_count} signerInfos; only the first was checked")

    failed = (
        any(c.status in (DGStatus.MISMATCH, DGStatus.NOT_LISTED) for c in dg_checks)
        or signature.status is SignatureStatus.INVALID
        or signer_check.validity is not CertificateValidity.VALID
        or signer_check.key_usage is KeyUsageStatus.WRONG
        or chain.status in (ChainStatus.INVALID, ChainStatus.EXPIRED)
        or revocation.status is RevocationStatus.REVOKED
    )
    if failed:
        status = PAStatus.FAILED
    elif chain.status is ChainStatus.TRUSTED:
        status = PAStatus.PASSED
    else:
        status = PAStatus.PASSED_UNTRUSTED
    return PassiveAuthResult(
        status=status,
        data_groups=dg_checks,
        signature=signature,
        signer=signer_check,
        chain=chain,
        revocation=revocation,
        hash_algorithm=record.hash_algorithm,
        checked_at=when,
        time_source=source,
        reasons=tuple(reasons),
        warnings=tuple(warnings),
    )


def _document_code(dg1: bytes | None) -> tuple[str | None, str | None]:
    """The MRZ document code ("ID") and issuing state ("VNM") from DG1, if it decodes."""
    if dg1 is None:
        return None, None
    from cccd_reader.lds.dg1 import DG1

    try:
        mrz = DG1.decode(dg1).mrz
    except ParseError:
        return None, None
    return mrz.document_code, mrz.issuing_state


def _document_type_warnings(ext: SignerExtensions, document_code: str | None) -> list[str]:
    """ICAO 9303-12 documentTypeList: the signer may sign only the listed document types."""
    out = list(ext.notes)
    if ext.document_types is None or document_code is None:
        return out
    code = document_code.replace("<", "")
    if not any(code == t or (len(t) == 1 and code.startswith(t)) for t in ext.document_types):
        listed = ", ".join(ext.document_types) or "none"
        out.append(f"the chip's document code {code or '<'} is not among the document types its signer "
                   f"may sign ({listed})")
    return out


def _check_signature(sod: SignedContent, signer: CertificateInfo) -> SignatureCheck:
    try:
        key = signer.public_key()
        check = check_signed_content(key, sod)
    except VerificationError as exc:
        return SignatureCheck(
            SignatureStatus.INVALID, sod.signature_algorithm, sod.digest_algorithm, None, None, str(exc)
        )
    return SignatureCheck(
        SignatureStatus.VALID if check.valid else SignatureStatus.INVALID,
        sod.signature_algorithm,
        sod.digest_algorithm,
        check.message_digest_ok,
        check.content_type_ok,
        check.reason,
    )


# --- offline re-verification -------------------------------------------------------------------------

_SOD_NAME = re.compile(r"^(?:ef[._ -]?)?sod(?:\.(?:bin|der|dat))?$", re.IGNORECASE)
_DG_NAME = re.compile(r"^(?:ef[._ -]?)?dg[._ -]?(\d{1,2})(?:\.(?:bin|der|dat))?$", re.IGNORECASE)


def split_saved_files(files: Mapping[str, bytes]) -> tuple[bytes, dict[int, bytes]]:
    """EF.SOD and the DGs from a dict of saved file name -> bytes ("EF.SOD", "DG1", "EF_DG13.bin", ...).

    Other files (EF.COM, EF.CardAccess, a trace) are ignored. Paths are reduced to their last part.
    """
    sod: bytes | None = None
    dgs: dict[int, bytes] = {}
    for name, data in files.items():
        base = re.split(r"[\\/]", str(name))[-1].strip()
        if _SOD_NAME.match(base):
            if sod is not None:
                raise VerificationError("two EF.SOD files among the saved files")
            sod = bytes(data)
            continue
        m = _DG_NAME.match(base)
        if m:
            number = int(m.group(1))
            if not 1 <= number <= 16:
                continue
            if number in dgs:
                raise VerificationError(f"two files for DG{number} among the saved files")
            dgs[number] = bytes(data)
    if sod is None:
        raise VerificationError("no EF.SOD among the saved files: passive authentication needs it")
    return sod, dgs


def verify_passive_offline(
    files: Mapping[str, bytes],
    *,
    trust: TrustStore | str | os.PathLike[str] | None = None,
    at_time: _dt.datetime | None = None,
) -> PassiveAuthResult:
    """Re-run passive authentication on saved raw files, with the same verdict as at read time.

    Pass the ``checked_at`` of the original verdict as ``at_time`` to judge certificates at the same
    moment (it is only used when the SOD has no signing-time attribute).
    """
    sod, dgs = split_saved_files(files)
    return verify_passive(sod, dgs, trust=trust, at_time=at_time)


__all__ = [
    "CertificateValidity",
    "ChainCheck",
    "ChainStatus",
    "DGStatus",
    "DataGroupCheck",
    "KeyUsageStatus",
    "PAStatus",
    "PassiveAuthResult",
    "RevocationCheck",
    "RevocationStatus",
    "SignatureCheck",
    "SignatureStatus",
    "SignerCertificateCheck",
    "split_saved_files",
    "verify_passive",
    "verify_passive_offline",
]
