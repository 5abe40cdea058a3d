"""What a document signer certificate says about itself and its issuer, and how to come to trust that issuer.

Read from the signer certificate (never fetched): the ICAO documentTypeList (9303-12 §7.1.1.3, which
document types the signer may sign: "ID" on CCCDs), the private key usage period (RFC 5280 §4.2.1.4, the
months in which the signer key was used; 90 days on real CCCD signers), where the issuer publishes its
certificate (authority information access, caIssuers) and its CRL (CRL distribution points), and the
issuer's key identifier.

Real CCCD document signers name their issuer ``CN=CSCA Vietnam, serialNumber=001, O=Vietnam Government
Information Security Commission, C=VN`` and point to it on two government hosts (cccd-card-facts §8). That
eID CSCA is not the "CSCA ePassport Vietnam" found in some ICAO master lists, so loading a master list does
not make a CCCD trusted; :func:`trust_advice` says what does.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import core, x509

from cccd_reader.asn1.oids import ID_DOCUMENT_TYPE_LIST
from cccd_reader.errors import ParseError

# Where the issuer of CCCD chips publishes its CSCA certificate and CRL (as named in real signers' AIA/CDP)
VIETNAM_EID_CSCA_NAME = ("CN=CSCA Vietnam, serialNumber=001, "
                         "O=Vietnam Government Information Security Commission, C=VN")
VIETNAM_EID_CSCA_URLS = ("http://npkd.gov.vn/crt/eid-csca-vietnam.crt",
                         "http://ca.gov.vn/crt/eid-csca-vietnam.crt")
VIETNAM_EID_CRL_URLS = ("http://npkd.gov.vn/crl/eid-csca-vietnam.crl",
                        "http://ca.gov.vn/crl/eid-csca-vietnam.crl")


class _DocumentTypes(core.SetOf):  # type: ignore[misc]
    _child_spec = core.PrintableString


class DocumentTypeList(core.Sequence):  # type: ignore[misc]
    """``SEQUENCE { version INTEGER (v0), docTypeList SET OF DocumentType (PrintableString 1..2) }``."""

    _fields = [  # noqa: RUF012  (asn1crypto schema convention)
        ("version", core.Integer),
        ("doc_type_list", _DocumentTypes),
    ]


def _utc(value: Any) -> _dt.datetime | None:
    if not isinstance(value, _dt.datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=_dt.UTC)


@dataclass(frozen=True)
class SignerExtensions:
    """The document signer's own statements. ``None`` where the certificate has no such extension.

    ``notes`` says what was present but unreadable (a malformed extension is reported, not fatal: the
    signature checks decide the verdict).
    """

    document_types: tuple[str, ...] | None = None
    private_key_not_before: _dt.datetime | None = None
    private_key_not_after: _dt.datetime | None = None
    has_private_key_usage_period: bool = False
    ca_issuer_urls: tuple[str, ...] = ()
    crl_urls: tuple[str, ...] = ()
    authority_key_identifier: bytes | None = field(default=None, repr=False)
    notes: tuple[str, ...] = ()

    def signed_within_key_usage_period(self, when: _dt.datetime) -> bool | None:
        """Whether ``when`` (the SOD's signing time) lies in the private key usage period; ``None``
        when the certificate states no period."""
        if not self.has_private_key_usage_period:
            return None
        if self.private_key_not_before is not None and when < self.private_key_not_before:
            return False
        return not (self.private_key_not_after is not None and when > self.private_key_not_after)

    def to_dict(self) -> dict[str, Any]:
        return {
            "document_types": list(self.document_types) if self.document_types is not None else None,
            "private_key_usage_period": (
                {"not_before": _iso(self.private_key_not_before),
                 "not_after": _iso(self.private_key_not_after)}
                if self.has_private_key_usage_period else None
            ),
            "ca_issuer_urls": list(self.ca_issuer_urls),
            "crl_urls": list(self.crl_urls),
            "authority_key_identifier": key_id_text(self.authority_key_identifier),
            "notes": list(self.notes),
        }


def _iso(when: _dt.datetime | None) -> str | None:
    return when.isoformat() if when else None


def key_id_text(key_id: bytes | None) -> str | None:
    """A key identifier as people compare it: colon-separated upper-case hex."""
    return ":".join(f"{b:02X}" for b in key_id) if key_id else None


def signer_extensions(der: bytes) -> SignerExtensions:
    """The extensions of a (DER) document signer certificate. ParseError only if it is not a certificate."""
    try:
        cert = x509.Certificate.load(bytes(der), strict=True)
        extensions = cert["tbs_certificate"]["extensions"]
        _ = cert["tbs_certificate"]["subject"].native
    except Exception as exc:
        raise ParseError(f"malformed X.509 certificate ({type(exc).__name__})", file="certificate") from None
    notes: list[str] = []
    kw: dict[str, Any] = {}
    for ext in extensions or ():
        oid = ext["extn_id"].dotted
        try:
            if oid == ID_DOCUMENT_TYPE_LIST:
                raw = ext["extn_value"].contents
                parsed = DocumentTypeList.load(bytes(raw), strict=True)
                kw["document_types"] = tuple(str(t.native) for t in parsed["doc_type_list"])
            elif oid == "2.5.29.16":
                period = ext["extn_value"].parsed
                kw["has_private_key_usage_period"] = True
                kw["private_key_not_before"] = _utc(period["not_before"].native)
                kw["private_key_not_after"] = _utc(period["not_after"].native)
            elif oid == "1.3.6.1.5.5.7.1.1":
                kw["ca_issuer_urls"] = tuple(
                    str(d["access_location"].native) for d in ext["extn_value"].parsed
                    if d["access_method"].native == "ca_issuers" and d["access_location"].name ==
                    "uniform_resource_identifier")
            elif oid == "2.5.29.31":
                urls: list[str] = []
                for point in ext["extn_value"].parsed:
                    name = point["distribution_point"]
                    if name.name != "full_name":
                        continue
                    urls.extend(str(g.native) for g in name.chosen if g.name == "uniform_resource_identifier")
                kw["crl_urls"] = tuple(urls)
            elif oid == "2.5.29.35":
                key_id = ext["extn_value"].parsed["key_identifier"].native
                kw["authority_key_identifier"] = bytes(key_id) if key_id is not None else None
        except Exception as exc:  # asn1crypto raises many types on a malformed extension
            notes.append(f"extension {oid} is malformed ({type(exc).__name__})")
    return SignerExtensions(notes=tuple(notes), **kw)


def looks_like_vietnam_eid(issuer_country: str | None, issuing_state: str | None = None) -> bool:
    """Whether the advice for the Vietnam eID CSCA applies: a Vietnamese issuer or a VNM document."""
    return (issuer_country or "").upper() == "VN" or (issuing_state or "").upper() == "VNM"


def trust_advice(*, vietnam: bool, urls: tuple[str, ...] = ()) -> str:
    """How to come to trust a signer's issuer (the chain check's reason already names the issuer)."""
    if vietnam:
        text = (
            "CCCD chips chain to the Vietnam eID CSCA (" + VIETNAM_EID_CSCA_NAME + "), published at "
            + " and ".join(VIETNAM_EID_CSCA_URLS) + " (CRLs: " + " and ".join(VIETNAM_EID_CRL_URLS) + "); "
            "it is not the 'CSCA ePassport Vietnam' of ICAO master lists. Download it, compare its SHA-256 "
            "fingerprint with the one the issuer publishes, and add it with: cccd-read trust add "
            "eid-csca-vietnam.crt"
        )
    else:
        text = "Obtain that CSCA certificate from its issuer and add it with: cccd-read trust add FILE"
    if urls:
        text += (". Or let cccd-read download it from the address in this card's signer certificate ("
                 + ", ".join(urls) + "): cccd-read trust fetch (with the card options of cccd-read read, "
                 "or a saved EF.SOD)")
    return text + "."


__all__ = [
    "VIETNAM_EID_CRL_URLS",
    "VIETNAM_EID_CSCA_NAME",
    "VIETNAM_EID_CSCA_URLS",
    "DocumentTypeList",
    "SignerExtensions",
    "key_id_text",
    "looks_like_vietnam_eid",
    "signer_extensions",
    "trust_advice",
]
