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
_LAZY: dict[str, str] = {
    # QR
    "QRData": "cccd_reader.qr.payload",
    "parse_qr_payload": "cccd_reader.qr.payload",
    "decode_qr_image": "cccd_reader.qr.image",
    "read_qr_image": "cccd_reader.qr.image",
    "decode_qr_stream": "cccd_reader.qr.image",
    # keys and MRZ
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
    # records
    "Identity": "cccd_reader.model",
    "Portrait": "cccd_reader.model",
    "PartialDate": "cccd_reader.model",
    "merge_identity": "cccd_reader.model",
    "decode_file": "cccd_reader.lds",
    "DG1": "cccd_reader.lds.dg1",
    "DG2": "cccd_reader.lds.dg2",
    "DG13": "cccd_reader.lds.dg13",
    "EFCOM": "cccd_reader.lds.com",
    # transports
    "Transport": "cccd_reader.transport.base",
    "CardTransport": "cccd_reader.transport.base",
    "WrappingTransport": "cccd_reader.transport.base",
    "open_transport": "cccd_reader.transport.open",
    "SecureMessagingTransport": "cccd_reader.transport.secure",
    "SMSession": "cccd_reader.crypto.sm",
    "RecordingTransport": "cccd_reader.transport.trace",
    "ReplayTransport": "cccd_reader.transport.trace",
    "PCSCTransport": "cccd_reader.transport.pcsc",
    "NFCTransport": "cccd_reader.transport.nfc",
    # the read
    "read_card": "cccd_reader.read",
    "CardRecord": "cccd_reader.read",
    "ReadSecurity": "cccd_reader.read",
    "ReadStats": "cccd_reader.read",
    "ProgressEvent": "cccd_reader.read",
    "Verdict": "cccd_reader.read",
    # passive authentication
    "SOD": "cccd_reader.lds.sod",
    "verify_passive": "cccd_reader.verify.passive",
    "verify_passive_offline": "cccd_reader.verify.passive",
    "PassiveAuthResult": "cccd_reader.verify.passive",
    "PAStatus": "cccd_reader.verify.passive",
    "TrustStore": "cccd_reader.verify.trust",
    "build_sod": "cccd_reader.issue.signing",
    # security protocols and their files
    "perform_pace": "cccd_reader.protocols.pace",
    "PACEResult": "cccd_reader.protocols.pace",
    "PACEPolicy": "cccd_reader.protocols.pace",
    "pace_profiles_to_try": "cccd_reader.protocols.pace",
    "perform_chip_auth": "cccd_reader.protocols.chip_auth",
    "ChipAuthResult": "cccd_reader.protocols.chip_auth",
    "verify_cam": "cccd_reader.protocols.chip_auth",
    "perform_active_auth": "cccd_reader.protocols.active_auth",
    "verify_active_auth": "cccd_reader.protocols.active_auth",
    "ActiveAuthResult": "cccd_reader.protocols.active_auth",
    "SecurityInfos": "cccd_reader.lds.security_infos",
    "parse_card_access": "cccd_reader.lds.security_infos",
    "CardSecurity": "cccd_reader.lds.security_infos",
    "DG14": "cccd_reader.lds.security_infos",
    "DG15": "cccd_reader.lds.dg15",
    # the virtual chip
    "VirtualCard": "cccd_reader.emulator",
}

__all__ = [*_error_names, *_LAZY, "__version__"]
__getattr__, _dir = lazy_exports(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)
