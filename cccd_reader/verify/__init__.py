"""Authenticity checks on data read from the chip: passive authentication and its trust store.

Imports are lazy so that ``cccd_reader.lds`` users (and the emulator, which only signs) do not pay for
the verifier.
"""

from __future__ import annotations

import importlib
from typing import Any

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
    "TrustStore": "cccd_reader.verify.trust",
    "CertificateInfo": "cccd_reader.verify.trust",
    "CRLInfo": "cccd_reader.verify.trust",
    "MasterListInfo": "cccd_reader.verify.trust",
    "build_sod": "cccd_reader.verify.signing",
    "build_master_list": "cccd_reader.verify.signing",
    "load_public_key": "cccd_reader.verify.signing",
    "verify_signature": "cccd_reader.verify.signing",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cccd_reader.verify' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

