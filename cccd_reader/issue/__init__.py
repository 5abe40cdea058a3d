"""Issuing: what a document issuer does and a reader never needs (signing EF.SOD, EF.CardSecurity, master
lists). The emulator personalizes its chips with it; tests build their own signed material with it."""

from __future__ import annotations

from cccd_reader._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "SIGNATURE_ALGORITHMS": "cccd_reader.issue.signing",
    "SigningKey": "cccd_reader.issue.signing",
    "build_master_list": "cccd_reader.issue.signing",
    "build_signed_data": "cccd_reader.issue.signing",
    "build_sod": "cccd_reader.issue.signing",
}

__all__ = sorted(_LAZY)
__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
