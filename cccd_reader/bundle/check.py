"""Re-check a verification bundle: :func:`verify_bundle` -> :class:`BundleVerdict` (docs/bundle.md).

Pure and stateless: no card, no network, no global state; any number of workers may run it at once.
What is re-verified from the bundle alone: passive authentication (hashes, the SOD signature, the chain
to the trust anchors given, revocation at a chosen time), Active Authentication (the chip's signature
over the challenge, with the DG15 key the SOD vouches for) and the PACE-CAM relation. What is only the
desk's word: Chip Authentication v1 (it proves the chip to the live session and leaves nothing a third
party can check). The identity is decoded from the signed data groups, never from the desk's fields;
those are compared with it, and any difference is reported.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cccd_reader.errors import BundleError, CCCDError, ParseError, VerificationError
from cccd_reader.read.evidence import Bundle, load_bundle
from cccd_reader.read.records import (
    FAILED,
    NOT_RUN,
    NOT_SUPPORTED,
    PASSED,
    UNKNOWN,
    UNTRUSTED,
    ReadSecurity,
    Verdict,
)
from cccd_reader.verify.passive import PassiveAuthResult, PAStatus
from cccd_reader.verify.trust import TrustStore

DESK = "desk"  # a check the bundle can only report as the desk saw it
BUNDLE = "bundle"  # a check re-verified from the bundle's bytes


@dataclass(frozen=True)
class BundleVerdict:
    """The server's verdict on a bundle.

    ``verdict`` is the live read's :class:`~cccd_reader.read.records.Verdict`, decided by the same rule
    (:attr:`ReadSecurity.verdict`): passive authentication passed AND Chip or Active Authentication
    passed. ``genuine_offline`` is the stricter answer that rests on re-verified checks only (passive
    authentication and Active Authentication, or PACE-CAM). ``chip_auth_source`` says whether
    ``chip_auth`` was re-verified (``"bundle"``, PACE-CAM) or is the desk's observation (``"desk"``,
    Chip Authentication v1). ``identity`` is decoded from the signed data groups.
    ``desk_mismatches`` names the desk's decoded fields that differ from the signed data; ``problems``
    says why anything failed (never personal values). ``absent_data_groups`` names the data groups EF.SOD
    lists that the bundle does not carry (DG3/DG4 aside, which need Extended Access Control): a desk may
    read a subset on purpose (``read_card(files=...)``), as a live read may, so they do not change the
    verdict; a server whose policy needs them (the portrait, DG13) checks this field.
    """

    verdict: Verdict
    passive_auth: str
    active_auth: str
    chip_auth: str
    chip_auth_source: str | None
    genuine_offline: bool
    identity: Any = field(default=None, repr=False)
    passive_detail: PassiveAuthResult | None = field(default=None, repr=False)
    qr_mismatches: tuple[str, ...] = ()
    qr_notes: tuple[str, ...] = ()  # "field: note", information only (see QRNote)
    desk_mismatches: tuple[str, ...] = ()
    desk_verdict: str | None = None
    problems: tuple[str, ...] = ()
    absent_data_groups: tuple[str, ...] = ()
    reader_time: _dt.datetime | None = None
    bundle_version: int = 1
    library_version: str | None = None

    @property
    def genuine(self) -> bool:
        return self.verdict is Verdict.GENUINE

    def summary(self) -> dict[str, Any]:
        """The verdict without personal data (no identity): for logs and batch reports."""
        return {"verdict": self.verdict.value, "genuine_offline": self.genuine_offline,
                "passive_authentication": self.passive_auth, "active_authentication": self.active_auth,
                "chip_authentication": self.chip_auth, "chip_authentication_source": self.chip_auth_source,
                "qr_mismatches": list(self.qr_mismatches), "desk_mismatches": list(self.desk_mismatches),
                "absent_data_groups": list(self.absent_data_groups), "problems": list(self.problems)}

    def __repr__(self) -> str:
        return (f"BundleVerdict(verdict={self.verdict.value!r}, genuine_offline={self.genuine_offline}, "
                f"problems={len(self.problems)})")

    def to_dict(self) -> dict[str, Any]:
        from cccd_reader.model import to_jsonable

        return {
            "verdict": self.verdict.value,
            "qr_notes": list(self.qr_notes),
            "genuine_offline": self.genuine_offline,
            "passive_authentication": self.passive_auth,
            "active_authentication": self.active_auth,
            "chip_authentication": self.chip_auth,
            "chip_authentication_source": self.chip_auth_source,
            "qr_mismatches": list(self.qr_mismatches),
            "desk_mismatches": list(self.desk_mismatches),
            "desk_verdict": self.desk_verdict,
            "problems": list(self.problems),
            "reader_time": self.reader_time.isoformat() if self.reader_time else None,
            "bundle_version": self.bundle_version,
            "library_version": self.library_version,
            "passive_authentication_detail": (to_jsonable(self.passive_detail)
                                              if self.passive_detail else None),
            "identity": to_jsonable(self.identity) if self.identity is not None else None,
        }


# --- the SOD's unsigned envelope --------------------------------------------------------------------------


def sod_envelope_problems(sod: bytes) -> list[str]:
    """What in EF.SOD's CMS envelope is outside the signature yet must be exact in a bundle.

    Passive authentication checks what is signed; a SignedData also carries unsigned parts (the list of
    digest algorithms, the signer identifier, the unused-bits octets of the certificate's bit strings)
    that a verifier may ignore. A bundle is evidence, so those must agree with the signed parts too:
    one changed byte anywhere in EF.SOD must not leave a "genuine" verdict.
    """
    from asn1crypto import cms, core

    problems: list[str] = []
    if not _der_lengths_minimal(sod):
        problems.append("EF.SOD is not in distinguished encoding (a length is not minimal)")
    try:
        body = sod
        if body[:1] == b"\x77":  # the EF.SOD application tag around the ContentInfo
            outer = core.load(body)
            body = outer.contents
        info = cms.ContentInfo.load(body)
        signed = info["content"]
        signers = signed["signer_infos"]
        if len(signers) != 1:
            return ["EF.SOD must have exactly one signer"]
        signer = signers[0]
        if signed["digest_algorithms"].dump()[:1] != b"\x31" or signers.dump()[:1] != b"\x31":
            problems.append("EF.SOD's SignedData sets are not tagged as SETs")
        # versions (RFC 5652 5.1, 5.3; ICAO 9303-10 4.6.2): SignedData v3; SignerInfo v1 with an issuer
        # and serial number, v3 with a key identifier; both plain INTEGERs
        want = "v1" if signer["sid"].name == "issuer_and_serial_number" else "v3"
        if (signed["version"].native != "v3" or signer["version"].native != want
                or signed["version"].dump()[:1] != b"\x02" or signer["version"].dump()[:1] != b"\x02"):
            problems.append("EF.SOD's SignedData or SignerInfo version is not the one its content requires")
        digest_oid = signer["digest_algorithm"]["algorithm"].dotted
        listed = [a["algorithm"].dotted for a in signed["digest_algorithms"]]
        if listed != [digest_oid]:
            problems.append("EF.SOD's digest algorithm list does not match its signer's")
        for alg in [signer["digest_algorithm"], *signed["digest_algorithms"]]:
            params = alg["parameters"]
            if params.native is not None:
                problems.append("EF.SOD's digest algorithm carries parameters")
        sig_hash = _signature_hash(signer["signature_algorithm"])
        if sig_hash is not None and sig_hash != signer["digest_algorithm"]["algorithm"].native:
            problems.append("EF.SOD's digest algorithm differs from its signature algorithm's hash")
        cert_set = signed["certificates"]  # optional: a Void when absent (no .native: it decodes it all)
        certs = [] if isinstance(cert_set, core.Void) else [c.chosen for c in cert_set]
        if len(certs) != 1:
            problems.append("EF.SOD must carry exactly one document signer certificate")
        else:
            cert = certs[0]
            sid = signer["sid"]
            if sid.name == "issuer_and_serial_number":
                ias = sid.chosen
                if (ias["issuer"].dump() != cert["tbs_certificate"]["issuer"].dump()
                        or ias["serial_number"].native != cert.serial_number):
                    problems.append("EF.SOD's signer identifier does not name its certificate")
            elif sid.chosen.native != cert.key_identifier:
                problems.append("EF.SOD's signer identifier does not name its certificate")
            spki = cert["tbs_certificate"]["subject_public_key_info"]
            for bits in (cert["signature_value"], spki["public_key"]):
                raw = bits.contents
                if not raw or raw[0] != 0:
                    problems.append("EF.SOD's certificate has a bit string with unused bits")
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        problems.append("EF.SOD's CMS envelope cannot be decoded")
    return problems


def _der_lengths_minimal(data: bytes, depth: int = 0) -> bool:
    """Every TLV length in ``data`` (and inside its constructed values) uses the shortest form (DER).

    A small walker of our own: the ASN.1 library accepts non-minimal lengths, and one changed length
    byte must not slip through. Bounded: at most 32 levels deep."""
    pos = 0
    while pos < len(data):
        if depth > 32 or pos + 2 > len(data):
            return False
        tag = data[pos]
        pos += 1
        if tag & 0x1F == 0x1F:  # multi-byte tag number
            while pos < len(data) and data[pos] & 0x80:
                pos += 1
            pos += 1
        if pos >= len(data):
            return False
        first = data[pos]
        pos += 1
        if first < 0x80:
            length = first
        else:
            n = first & 0x7F
            if n == 0 or n > 4 or pos + n > len(data) or data[pos] == 0:
                return False
            length = int.from_bytes(data[pos:pos + n], "big")
            pos += n
            if length < 0x80:
                return False
        if pos + length > len(data):
            return False
        if tag & 0x20 and not _der_lengths_minimal(data[pos:pos + length], depth + 1):
            return False
        pos += length
    return True


def _signature_hash(alg: Any) -> str | None:
    name = str(alg["algorithm"].native)
    for h in ("sha1", "sha224", "sha256", "sha384", "sha512"):
        if name.startswith(h + "_") or name.endswith("_" + h) or name == h:
            return h
    if name == "rsassa_pss":
        return str(alg["parameters"]["hash_algorithm"]["algorithm"].native)
    return None


# --- the checks ---------------------------------------------------------------------------------------------


def _pa_word(result: PassiveAuthResult) -> str:
    return {PAStatus.PASSED: PASSED, PAStatus.PASSED_UNTRUSTED: UNTRUSTED, PAStatus.FAILED: FAILED}.get(
        result.status, UNKNOWN)


def _decode(name: str, raw: bytes | None, problems: list[str]) -> Any:
    if raw is None:
        return None
    from cccd_reader.lds import decode_file

    try:
        return decode_file(name, raw)
    except ParseError as exc:
        problems.append(f"{name} is malformed: {getattr(exc, 'reason', exc)}")
        return None


def _identity(files: Mapping[str, bytes], problems: list[str]) -> tuple[Any, Any]:
    from cccd_reader.model import merge_identity
    from cccd_reader.read.steps.identity import first_portrait

    dg1 = _decode("DG1", files.get("DG1"), problems)
    dg13 = _decode("DG13", files.get("DG13"), problems)
    dg2 = _decode("DG2", files.get("DG2"), problems)
    mrz = getattr(dg1, "mrz", dg1) if dg1 is not None else None
    if dg1 is None and dg13 is None:
        return None, mrz
    try:
        ident = merge_identity(dg13, dg1)
    except CCCDError as exc:
        problems.append(f"identity could not be assembled: {exc}")
        return None, mrz
    portrait = first_portrait(dg2) if dg2 is not None else None
    if portrait is not None and getattr(ident, "portrait", 1) is None:
        ident = dataclasses.replace(ident, portrait=portrait)
    return ident, mrz


def _desk_mismatches(desk: Mapping[str, Any], identity: Any) -> list[str]:
    """Fields of the desk's decoded identity that differ from the one decoded from the signed bytes."""
    desk_ident = desk.get("identity")
    if identity is None:
        return [] if desk_ident is None else ["identity"]
    if not isinstance(desk_ident, dict):
        return ["identity"]
    signed = json.loads(json.dumps(identity.to_dict(), ensure_ascii=False))
    # the fields both sides know (a desk on another library version may have more or fewer); the
    # library's own notes about the data (warnings, sources) are not data and may be worded differently
    names = sorted((set(signed) & set(desk_ident)) - {"warnings", "sources"})
    return [n for n in names if signed.get(n) != desk_ident.get(n)]


def verify_bundle(bundle: Bundle | bytes | str | Mapping[str, Any], *,
                  trust: TrustStore | str | os.PathLike[str] | list[Any] | None = None,
                  at_time: _dt.datetime | None = None,
                  expected_challenge: bytes | None = None) -> BundleVerdict:
    """Re-check a verification bundle (bytes, text, parsed JSON or a :class:`Bundle`).

    ``trust``: the CSCA certificates / master lists / CRLs to judge the document signer by.
    ``at_time``: when certificates and revocation are judged if the SOD has no signing time (default:
    the bundle's reader time, else now): re-check an archive "as of" a chosen moment.
    ``expected_challenge``: the Active Authentication challenge the server issued to the desk; when
    given, a bundle answering another challenge (a replayed signature) fails Active Authentication.
    Raises :class:`~cccd_reader.errors.BundleError` for a malformed bundle and
    :class:`~cccd_reader.errors.BundleVersionError` for a newer format version.
    """
    b = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
    if trust is not None and not isinstance(trust, TrustStore):
        trust = TrustStore.from_paths(trust)
    problems: list[str] = []
    files = dict(b.files)
    sec = ReadSecurity(access_protocol=_text(b.access.get("protocol")), access_key=_text(b.access.get("key")))

    # passive authentication, from the bytes
    pa_detail: PassiveAuthResult | None = None
    sod = files.get("EF.SOD")
    if sod is None:
        sec.passive_auth = NOT_RUN
        problems.append("no EF.SOD in the bundle")
    else:
        from cccd_reader.verify.passive import verify_passive

        dgs = {int(k[2:]): v for k, v in files.items() if k.startswith("DG")}
        when = at_time or b.reader_time
        try:
            pa_detail = verify_passive(sod, dgs, trust=trust, at_time=when)
            sec.passive_auth = _pa_word(pa_detail)
            sec.hashes_ok = all(c.status.value in ("ok", "not_read") for c in pa_detail.data_groups)
            if any(c.status.value == "not_listed" for c in pa_detail.data_groups):
                sec.passive_auth = FAILED
                problems.append("a data group in the bundle has no hash in EF.SOD")
        except ParseError as exc:
            sec.passive_auth = FAILED
            problems.append(f"EF.SOD is malformed: {getattr(exc, 'reason', exc)}")
        except VerificationError as exc:
            sec.passive_auth = UNKNOWN
            problems.append(str(exc))
        envelope = sod_envelope_problems(sod)
        if envelope:
            sec.passive_auth = FAILED
            problems.extend(envelope)

    # Active Authentication, from DG15 (signed) and the challenge and signature
    dg15 = files.get("DG15")
    dg14 = _decode("DG14", files.get("DG14"), problems)
    if dg15 is None:
        sec.active_auth = NOT_SUPPORTED
        if b.aa_signature is not None:
            sec.active_auth = FAILED
            problems.append("an Active Authentication signature without DG15")
    elif b.aa_challenge is None or b.aa_signature is None:
        sec.active_auth = NOT_RUN
    else:
        from cccd_reader.protocols.active_auth import verify_active_auth

        try:
            aa = verify_active_auth(dg15, b.aa_challenge, b.aa_signature, dg14=dg14)
            sec.active_auth = PASSED if aa.passed else FAILED
            if not aa.passed:
                problems.append(f"Active Authentication: {aa.reason or 'the signature does not verify'}")
        except CCCDError as exc:
            sec.active_auth = FAILED
            problems.append(f"Active Authentication: {exc}")
        if expected_challenge is not None and bytes(expected_challenge) != b.aa_challenge:
            sec.active_auth = FAILED
            problems.append("Active Authentication answered another challenge than the one issued")

    # Chip Authentication: PACE-CAM re-checked; CA v1 is the desk's observation
    chip_source: str | None = None
    if b.pace_cam is not None:
        chip_source = BUNDLE
        raw14 = files.get("DG14")
        if raw14 is None:
            sec.chip_auth = FAILED
            problems.append("PACE-CAM data without DG14")
        else:
            from cccd_reader.protocols.chip_auth import verify_cam_data

            cam = verify_cam_data(b.pace_cam.get("cam_data"), b.pace_cam.get("chip_mapping_public_key"),
                                  raw14)
            sec.chip_auth = PASSED if cam.passed else FAILED
            if not cam.passed:
                problems.append(f"PACE-CAM: {cam.reason}")
    elif b.chip_auth is not None:
        chip_source = DESK
        observed = b.chip_auth.get("passed")
        if not isinstance(observed, bool):
            raise BundleError("chip_authentication.passed must be true or false")
        sec.chip_auth = PASSED if observed else FAILED
        if "DG14" not in files:
            sec.chip_auth = FAILED
            problems.append("a Chip Authentication observation without DG14")
    else:
        sec.chip_auth = NOT_SUPPORTED if "DG14" not in files else NOT_RUN

    # the identity, from the signed data groups only; the QR and the desk's fields compared with it
    identity, mrz = _identity(files, problems)
    qr_mismatches: list[str] = []
    if b.qr_payload is not None:
        from cccd_reader.qr.payload import parse_qr_payload
        from cccd_reader.read.compare import NOT_ON_CHIP, compare_qr_with_chip

        try:
            qr = parse_qr_payload(b.qr_payload)
        except CCCDError:
            raise BundleError("qr_payload is not a CCCD QR payload") from None
        sec.qr_checked = True
        found = compare_qr_with_chip(qr, identity, mrz, notes=sec.qr_notes)
        sec.qr_mismatches = [m for m in found if m.detail != NOT_ON_CHIP]
        qr_mismatches = [m.field for m in sec.qr_mismatches]
    desk = _desk_mismatches(b.desk, identity)
    if desk:
        problems.append("the desk's decoded fields differ from the signed data: " + ", ".join(desk))

    verdict = sec.verdict
    if desk or sec.passive_auth == FAILED:
        verdict = Verdict.NOT_GENUINE
    genuine_offline = (verdict is Verdict.GENUINE and sec.passive_auth == PASSED
                       and (sec.active_auth == PASSED or (chip_source == BUNDLE and sec.chip_auth == PASSED)))
    desk_security = b.desk.get("security")
    desk_verdict = desk_security.get("verdict") if isinstance(desk_security, dict) else None
    return BundleVerdict(
        verdict=verdict, passive_auth=sec.passive_auth, active_auth=sec.active_auth, chip_auth=sec.chip_auth,
        chip_auth_source=chip_source, genuine_offline=genuine_offline, identity=identity,
        passive_detail=pa_detail, qr_mismatches=tuple(qr_mismatches),
        qr_notes=tuple(f"{n.field}: {n.note}" for n in sec.qr_notes), desk_mismatches=tuple(desk),
        desk_verdict=desk_verdict if isinstance(desk_verdict, str) else None, problems=tuple(problems),
        absent_data_groups=_absent_data_groups(pa_detail, files), reader_time=b.reader_time,
        bundle_version=b.version,
        library_version=_text(b.library.get("version")))


def _absent_data_groups(pa_detail: PassiveAuthResult | None, files: Mapping[str, bytes]) -> tuple[str, ...]:
    """The data groups EF.SOD lists that the bundle does not carry, DG3/DG4 (EAC) aside."""
    if pa_detail is None:
        return ()
    listed = (f"DG{c.number}" for c in pa_detail.data_groups if c.number not in (3, 4))
    return tuple(name for name in listed if name not in files)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
