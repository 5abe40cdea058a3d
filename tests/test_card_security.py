"""EF.CardSecurity's signature, verified with the same signer lookup and chain check as EF.SOD."""

import pytest

from cccd_reader.asn1.oids import ID_SECURITY_OBJECT
from cccd_reader.emulator import sample_trust_anchor
from cccd_reader.emulator.persona import card_access_infos
from cccd_reader.emulator.samples import sample_persona, sample_signer
from cccd_reader.errors import ParseError
from cccd_reader.issue.signing import build_signed_data
from cccd_reader.lds.security_infos import SecurityInfos
from cccd_reader.verify import PAStatus, TrustStore, verify_card_security


def _card_security() -> tuple[bytes, bytes]:
    signer = sample_signer()
    content = SecurityInfos.build(card_access_infos(sample_persona("an"))).encode()
    raw = build_signed_data(ID_SECURITY_OBJECT, content, signer_key=signer.key,
                            signer_cert=signer.certificate_der)
    return raw, content


def test_signed_by_the_sample_signer_chains_to_the_sample_csca():
    raw, content = _card_security()
    trust = TrustStore.from_paths([sample_trust_anchor()])
    result = verify_card_security(raw, trust=trust)
    assert result.status is PAStatus.PASSED and result.passed, result.reasons
    assert result.security_infos.encode() == content
    assert result.signer_subject

    untrusted = verify_card_security(raw)  # no anchors: the signature holds, the chain is unknown
    assert untrusted.status is PAStatus.PASSED_UNTRUSTED and not untrusted.passed


def test_a_changed_signature_fails():
    raw, _ = _card_security()
    sig_at = len(raw) - 10  # inside the signature value, the last field of the SignerInfo
    damaged = raw[:sig_at] + bytes([raw[sig_at] ^ 0x01]) + raw[sig_at + 1:]
    result = verify_card_security(damaged, trust=TrustStore.from_paths([sample_trust_anchor()]))
    assert result.status is PAStatus.FAILED
    assert any("signature" in r for r in result.reasons)


def test_not_a_card_security_is_a_parse_error():
    with pytest.raises(ParseError):
        verify_card_security(b"\x30\x03\x02\x01\x00")
