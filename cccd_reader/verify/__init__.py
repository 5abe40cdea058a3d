"""Authenticity checks on data read from the chip: passive authentication and its trust store.

Imports are lazy so that ``cccd_reader.lds`` users do not pay for the verifier. Signing (what an issuer
does) lives in :mod:`cccd_reader.issue`.
"""

from __future__ import annotations

from cccd_reader._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "verify_passive": "cccd_reader.verify.passive",
    "verify_passive_offline": "cccd_reader.verify.passive",
    "split_saved_files": "cccd_reader.verify.passive",
    "PassiveAuthResult": "cccd_reader.verify.passive",
    "PAStatus": "cccd_reader.verify.passive",
    "DGStatus": "cccd_reader.verify.passive",
    "DataGroupCheck": "cccd_reader.verify.passive",
    "SignatureStatus": "cccd_reader.verify.passive",
    "SignatureCheck": "cccd_reader.verify.passive",
    "CertificateValidity": "cccd_reader.verify.passive",
    "KeyUsageStatus": "cccd_reader.verify.passive",
    "SignerCertificateCheck": "cccd_reader.verify.passive",
    "ChainStatus": "cccd_reader.verify.passive",
    "ChainCheck": "cccd_reader.verify.passive",
    "RevocationStatus": "cccd_reader.verify.passive",
    "RevocationCheck": "cccd_reader.verify.passive",
    "verify_card_security": "cccd_reader.verify.card_security",
    "CardSecurityResult": "cccd_reader.verify.card_security",
    "TrustStore": "cccd_reader.verify.trust",
    "CertificateInfo": "cccd_reader.verify.trust",
    "CRLInfo": "cccd_reader.verify.trust",
    "MasterListInfo": "cccd_reader.verify.trust",
    "load_public_key": "cccd_reader.verify.signing",
    "verify_signature": "cccd_reader.verify.signing",
}

# issuing moved to cccd_reader.issue: the old names still resolve here, with a DeprecationWarning
_MOVED: dict[str, str] = {
    "build_sod": "cccd_reader.issue.signing",
    "build_master_list": "cccd_reader.issue.signing",
}

__all__ = sorted(_LAZY)
__getattr__, __dir__ = lazy_exports(__name__, _LAZY, _MOVED)
