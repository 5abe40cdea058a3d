"""cccd-reader: read Vietnam's chip ID card (CCCD / Căn cước).

The public API is re-exported here and nothing else is public. Heavy modules (QR image backends, PC/SC,
the emulator) are imported on first use, so ``import cccd_reader`` stays fast and needs no hardware
libraries.
"""

from __future__ import annotations

from cccd_reader._lazy import lazy_exports
from cccd_reader.errors import *  # noqa: F403  (the exception tree is part of the public API)
from cccd_reader.errors import __all__ as _error_names

__version__ = "0.1.0"

# public name -> module that defines it
# The table of contents: public name -> module that defines it, one section per thing a user does.
# Building cards and signing (the issuer's side) and the virtual chip live in cccd_reader.issue and
# cccd_reader.emulator; the few names of theirs listed here are kept for existing callers.
_LAZY: dict[str, str] = {
    # 1. read a card: the pipeline and what it returns
    "read_card": "cccd_reader.read",
    "CardRecord": "cccd_reader.read",
    "ReadSecurity": "cccd_reader.read",
    "Verdict": "cccd_reader.read",
    "ReadStats": "cccd_reader.read",
    "StepStats": "cccd_reader.read",
    "ProgressEvent": "cccd_reader.read",
    "QRMismatch": "cccd_reader.read",
    "QRNote": "cccd_reader.read",
    "compare_qr_with_chip": "cccd_reader.read",
    # 2. who the card belongs to
    "Identity": "cccd_reader.model",
    "Portrait": "cccd_reader.model",
    "PartialDate": "cccd_reader.model",
    "merge_identity": "cccd_reader.model",
    "AddressStatus": "cccd_reader.address.parts",
    # 3. the printed side: QR code, MRZ, access keys, the ID number
    "QRData": "cccd_reader.qr.payload",
    "parse_qr_payload": "cccd_reader.qr.payload",
    "decode_qr_image": "cccd_reader.qr.image",
    "read_qr_image": "cccd_reader.qr.image",
    "decode_qr_stream": "cccd_reader.qr.image",
    "CANKey": "cccd_reader.keys",
    "MRZKey": "cccd_reader.keys",
    "AccessKey": "cccd_reader.keys",
    "card_expiry": "cccd_reader.keys",
    "keys_from_qr": "cccd_reader.keys",
    "mrz_key_from_mrz": "cccd_reader.keys",
    "validate_id_number": "cccd_reader.idnumber",
    "MRZ": "cccd_reader.mrz",
    "parse_mrz": "cccd_reader.mrz",
    "check_digit": "cccd_reader.mrz",
    # 4. links to the card
    "Transport": "cccd_reader.transport.base",
    "CardTransport": "cccd_reader.transport.base",
    "WrappingTransport": "cccd_reader.transport.base",
    "open_transport": "cccd_reader.transport.open",
    "PCSCTransport": "cccd_reader.transport.pcsc",
    "NFCTransport": "cccd_reader.transport.nfc",
    "SecureMessagingTransport": "cccd_reader.transport.secure",
    "SMSession": "cccd_reader.crypto.sm",
    "RecordingTransport": "cccd_reader.transport.trace",
    "ReplayTransport": "cccd_reader.transport.trace",
    # 5. is it genuine: passive authentication, the trust store, every status a result carries
    "verify_passive": "cccd_reader.verify.passive",
    "verify_passive_offline": "cccd_reader.verify.passive",
    "PassiveAuthResult": "cccd_reader.verify.passive",
    "PAStatus": "cccd_reader.verify.passive",
    "DGStatus": "cccd_reader.verify.passive",
    "SignatureStatus": "cccd_reader.verify.passive",
    "CertificateValidity": "cccd_reader.verify.passive",
    "KeyUsageStatus": "cccd_reader.verify.passive",
    "ChainStatus": "cccd_reader.verify.passive",
    "RevocationStatus": "cccd_reader.verify.passive",
    "TrustStore": "cccd_reader.verify.trust",
    "verify_card_security": "cccd_reader.verify.card_security",
    "CardSecurityResult": "cccd_reader.verify.card_security",
    # verification bundles: a read re-checked by a server (docs/bundle.md)
    "verify_bundle": "cccd_reader.bundle.check",
    "BundleVerdict": "cccd_reader.bundle.check",
    "load_bundle": "cccd_reader.read.evidence",
    "ReadEvidence": "cccd_reader.read",
    # 6. the security protocols, step by step (after your own PACE: SecureMessagingTransport above)
    "perform_pace": "cccd_reader.protocols.pace",
    "PACEResult": "cccd_reader.protocols.pace",
    "PACEPolicy": "cccd_reader.protocols.pace",
    "pace_profiles_to_try": "cccd_reader.protocols.pace",
    "PACEMapping": "cccd_reader.asn1.oids",
    "Cipher": "cccd_reader.asn1.oids",
    "perform_chip_auth": "cccd_reader.protocols.chip_auth",
    "ChipAuthResult": "cccd_reader.protocols.chip_auth",
    "verify_cam": "cccd_reader.protocols.chip_auth",
    "perform_active_auth": "cccd_reader.protocols.active_auth",
    "verify_active_auth": "cccd_reader.protocols.active_auth",
    "ActiveAuthResult": "cccd_reader.protocols.active_auth",
    # 7. the card's files
    "decode_file": "cccd_reader.lds",
    "EFCOM": "cccd_reader.lds.com",
    "DG1": "cccd_reader.lds.dg1",
    "DG2": "cccd_reader.lds.dg2",
    "DG13": "cccd_reader.lds.dg13",
    "DG14": "cccd_reader.lds.security_infos",
    "DG15": "cccd_reader.lds.dg15",
    "SOD": "cccd_reader.lds.sod",
    "SecurityInfos": "cccd_reader.lds.security_infos",
    "parse_card_access": "cccd_reader.lds.security_infos",
    "CardSecurity": "cccd_reader.lds.security_infos",
    # 8. kept for existing callers: issuing (cccd_reader.issue) and the virtual chip (cccd_reader.emulator)
    "build_sod": "cccd_reader.issue.signing",
    "VirtualCard": "cccd_reader.emulator",
}

__all__ = [*_error_names, *_LAZY, "__version__"]
__getattr__, _dir = lazy_exports(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)
