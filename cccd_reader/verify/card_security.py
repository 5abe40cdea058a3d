"""EF.CardSecurity's signature: the check PACE-CAM's proof depends on.

PACE-CAM (:func:`~cccd_reader.protocols.chip_auth.verify_cam`) proves the chip holds the private key of
the Chip Authentication public key in EF.CardSecurity; that proves nothing unless EF.CardSecurity itself
is signed by a Document Signer that chains to a trusted CSCA. :func:`verify_card_security` is that
check, with the same signer lookup, signature check and chain check as EF.SOD's passive authentication.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass

from cccd_reader.asn1.oids import ID_SECURITY_OBJECT
from cccd_reader.errors import ParseError
from cccd_reader.lds.security_infos import CardSecurity, SecurityInfos, trim_padding
from cccd_reader.lds.sod import decode_signed_data
from cccd_reader.verify.passive import (
    ChainCheck,
    ChainStatus,
    PAStatus,
    SignatureCheck,
    SignatureStatus,
    _as_trust_store,
    _check_chain,
    _check_signature,
    _find_signer,
)
from cccd_reader.verify.trust import TrustStore

FILE = "EF.CardSecurity"


@dataclass(frozen=True)
class CardSecurityResult:
    """``status`` is PASSED (signature valid, chain trusted), PASSED_UNTRUSTED (valid, the CSCA is not
    trusted here) or FAILED; ``reasons`` say why it is not PASSED."""

    status: PAStatus
    signature: SignatureCheck
    chain: ChainCheck
    security_infos: SecurityInfos
    signer_subject: str | None
    reasons: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.status is PAStatus.PASSED


def verify_card_security(
    data: bytes | CardSecurity,
    *,
    trust: TrustStore | str | os.PathLike[str] | None = None,
    at_time: _dt.datetime | None = None,
) -> CardSecurityResult:
    """Verify EF.CardSecurity's CMS signature and its signer's chain to ``trust`` (a TrustStore or paths).

    ``at_time`` is the moment certificates must be valid at when the file carries no signing time
    (default: now). Raises ParseError only when the bytes are not an EF.CardSecurity; every other problem
    is in the result.
    """
    raw = data.raw if isinstance(data, CardSecurity) else bytes(data)
    card_security = data if isinstance(data, CardSecurity) else CardSecurity.decode(raw)
    signed = decode_signed_data(trim_padding(raw, file=FILE), file=FILE)
    if signed.econtent_type != ID_SECURITY_OBJECT:
        raise ParseError(f"unexpected content type {signed.econtent_type}", file=FILE)
    store = _as_trust_store(trust)
    attrs = signed.signed_attributes
    when = attrs.signing_time if attrs is not None and attrs.signing_time is not None else None
    if when is None:
        when = at_time if at_time is not None else _dt.datetime.now(_dt.UTC)
        when = when if when.tzinfo else when.replace(tzinfo=_dt.UTC)
    reasons: list[str] = []
    signer, _source, why_missing = _find_signer(signed, store)
    if signer is None:
        signature = SignatureCheck(SignatureStatus.INVALID, signed.signature_algorithm,
                                   signed.digest_algorithm, None, None, why_missing)
        chain = ChainCheck(ChainStatus.UNKNOWN_ISSUER, reason="no signer certificate")
        reasons.append(f"the signature cannot be checked: {why_missing}")
        subject = None
    else:
        signature = _check_signature(signed, signer)
        if signature.status is SignatureStatus.INVALID:
            reasons.append(f"the signature is invalid: {signature.reason}")
        chain, _anchor = _check_chain(signer, store, when)
        if chain.status is not ChainStatus.TRUSTED:
            reasons.append(f"chain {chain.status.value}: {chain.reason}")
        subject = signer.subject
    if signature.status is SignatureStatus.INVALID or chain.status in (ChainStatus.INVALID,
                                                                         ChainStatus.EXPIRED):
        status = PAStatus.FAILED
    elif chain.status is ChainStatus.TRUSTED:
        status = PAStatus.PASSED
    else:
        status = PAStatus.PASSED_UNTRUSTED
    return CardSecurityResult(status, signature, chain, card_security.security_infos, subject, tuple(reasons))


__all__ = ["CardSecurityResult", "verify_card_security"]
