"""Passive authentication: a full pass on the sample PKI, one verdict per tampering, and the BSI/ETSI SODs."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import algos
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cccd_reader.errors import ParseError, VerificationError
from cccd_reader.iso7816.tlv import decode_one, encode_tlv
from cccd_reader.issue.signing import build_sod
from cccd_reader.lds.sod import decode_sod
from cccd_reader.verify.passive import (
    CertificateValidity,
    ChainStatus,
    DGStatus,
    KeyUsageStatus,
    PAStatus,
    RevocationStatus,
    SignatureStatus,
    split_saved_files,
    verify_passive,
    verify_passive_offline,
)
from cccd_reader.verify.signing import EcdsaFallbackKey, load_public_key, verify_signature
from cccd_reader.verify.trust import TrustStore

PKI = Path(__file__).resolve().parent.parent / "samples" / "pki"
UTC = dt.UTC

# synthetic data groups (a fictional person; the bytes only need to be hashed)
MRZ = "IDVNM0901234562001090123456<<39001011M3001019VNM<<<<<<<<<<<4NGUYEN<<VAN<A<<<<<<<<<<<<<<<<<"
DG1 = encode_tlv(0x61, encode_tlv(0x5F1F, MRZ.encode("ascii")))
DG2 = b"\x75\x03\x01\x02\x03"
DG13 = bytes.fromhex("6d0a30080201010c034e616d")
DG14 = b"\x6e\x03\x31\x01\x00"
FILES = {1: DG1, 2: DG2, 13: DG13, 14: DG14}


def key(name: str) -> Any:
    return load_pem_private_key((PKI / "keys" / f"{name}.key").read_bytes(), None)


def cert(name: str) -> bytes:
    return (PKI / "certs" / f"{name}.pem").read_bytes()


@pytest.fixture(scope="module")
def trust() -> TrustStore:
    return TrustStore.from_paths(PKI / "trust")


def sod_for(name: str, files: dict[int, bytes] = FILES, **kwargs: Any) -> bytes:
    return build_sod(files, signer_key=key(name), signer_cert=cert(name), **kwargs)


# --- full pass ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signer", "algorithm"),
    [("dsc-ecdsa", None), ("dsc-rsa", "rsa-pkcs1v15"), ("dsc-rsa", "rsassa-pss"), ("dsc-explicit", None)],
)
def test_full_pass_against_the_sample_pki(trust: TrustStore, signer: str, algorithm: str | None) -> None:
    result = verify_passive(
        sod_for(signer, signature_algorithm=algorithm, lds_version="0108"), FILES, trust=trust
    )
    assert result.status is PAStatus.PASSED
    assert result.passed and result.trusted
    assert [c.status for c in result.data_groups] == [DGStatus.OK] * 4
    assert [c.number for c in result.data_groups] == [1, 2, 13, 14]
    assert result.signature.status is SignatureStatus.VALID
    assert result.signature.message_digest_ok is True and result.signature.content_type_ok is True
    assert result.signer.validity is CertificateValidity.VALID
    assert result.signer.key_usage is KeyUsageStatus.OK
    assert result.signer.source == "sod"
    assert result.chain.status is ChainStatus.TRUSTED
    assert result.chain.anchor_subject is not None and "CSCA VN test" in result.chain.anchor_subject
    assert result.revocation.status is RevocationStatus.GOOD
    assert result.time_source == "now"
    assert result.reasons == ()


def test_explicit_curve_signer_is_refused_by_cryptography_but_verified_here() -> None:
    der = x509.load_pem_x509_certificate(cert("dsc-explicit"))
    with pytest.raises(Exception):  # cryptography refuses explicit curves (its error type varies)
        der.public_key()


def test_sha384_and_sha1_data_group_hashes(trust: TrustStore) -> None:
    for h in ("sha1", "sha384", "sha512"):
        result = verify_passive(sod_for("dsc-ecdsa", hash_algorithm=h), FILES, trust=trust)
        assert result.status is PAStatus.PASSED
        assert result.hash_algorithm == h


# --- one verdict per tampering -----------------------------------------------------------------------


def test_one_dg_byte_changed(trust: TrustStore) -> None:
    sod = sod_for("dsc-ecdsa")
    tampered = dict(FILES)
    tampered[13] = DG13[:-1] + bytes([DG13[-1] ^ 0x01])
    result = verify_passive(sod, tampered, trust=trust)
    assert result.status is PAStatus.FAILED
    assert result.data_group(13) is not None and result.data_group(13).status is DGStatus.MISMATCH  # type: ignore[union-attr]
    assert {c.number for c in result.data_groups if c.status is DGStatus.OK} == {1, 2, 14}
    assert result.signature.status is SignatureStatus.VALID
    assert result.chain.status is ChainStatus.TRUSTED
    assert any("DG13" in r for r in result.reasons)


def test_a_hash_inside_the_sod_changed(trust: TrustStore) -> None:
    raw = bytearray(sod_for("dsc-ecdsa"))
    h = hashlib.sha256(DG2).digest()
    pos = bytes(raw).index(h)
    raw[pos] ^= 0x80
    result = verify_passive(bytes(raw), FILES, trust=trust)
    assert result.status is PAStatus.FAILED
    assert result.signature.status is SignatureStatus.INVALID
    assert result.signature.message_digest_ok is False
    assert result.data_group(2).status is DGStatus.MISMATCH  # type: ignore[union-attr]
    assert result.data_group(1).status is DGStatus.OK  # type: ignore[union-attr]


def test_signature_corrupted(trust: TrustStore) -> None:
    raw = sod_for("dsc-rsa")
    sod = decode_sod(raw)
    pos = raw.rindex(sod.signature)
    broken = bytearray(raw)
    broken[pos + len(sod.signature) // 2] ^= 0x01
    result = verify_passive(bytes(broken), FILES, trust=trust)
    assert result.status is PAStatus.FAILED
    assert result.signature.status is SignatureStatus.INVALID
    assert result.signature.message_digest_ok is True  # the content is intact; only the signature broke
    assert all(c.status is DGStatus.OK for c in result.data_groups)
    assert result.chain.status is ChainStatus.TRUSTED


def test_different_signer_than_the_embedded_certificate(trust: TrustStore) -> None:
    raw = build_sod(FILES, signer_key=key("dsc-revoked"), signer_cert=cert("dsc-ecdsa"))
    result = verify_passive(raw, FILES, trust=trust)
    assert result.status is PAStatus.FAILED
    assert result.signature.status is SignatureStatus.INVALID
    assert result.signature.message_digest_ok is True
    assert result.signature.reason is not None and "signature" in result.signature.reason


def test_expired_signer(trust: TrustStore) -> None:
    result = verify_passive(sod_for("dsc-expired"), FILES, trust=trust)
    assert result.status is PAStatus.FAILED
    assert result.signer.validity is CertificateValidity.EXPIRED
    assert result.chain.status is ChainStatus.EXPIRED
    assert result.signature.status is SignatureStatus.VALID


def test_expired_signer_is_judged_at_the_signing_time_attribute(trust: TrustStore) -> None:
    signed = dt.datetime(2020, 6, 1, tzinfo=UTC)
    result = verify_passive(sod_for("dsc-expired", signing_time=signed), FILES, trust=trust)
    assert result.time_source == "signing_time"
    assert result.checked_at == signed
    assert result.status is PAStatus.PASSED
    # and at_time stands in for "now" only when there is no signing time
    later = verify_passive(sod_for("dsc-expired"), FILES, trust=trust, at_time=dt.datetime(2021, 1, 1))
    assert later.time_source == "at_time" and later.status is PAStatus.PASSED
    early = verify_passive(sod_for("dsc-ecdsa"), FILES, trust=trust, at_time=dt.datetime(2019, 6, 1))
    assert early.signer.validity is CertificateValidity.NOT_YET_VALID
    assert early.status is PAStatus.FAILED


def test_revoked_signer(trust: TrustStore) -> None:
    result = verify_passive(sod_for("dsc-revoked"), FILES, trust=trust)
    assert result.status is PAStatus.FAILED
    assert result.revocation.status is RevocationStatus.REVOKED
    assert result.revocation.revocation_date == dt.datetime(2025, 3, 1, tzinfo=UTC)
    assert result.chain.status is ChainStatus.TRUSTED
    assert result.signature.status is SignatureStatus.VALID


def test_unknown_csca_is_untrusted_not_failed(trust: TrustStore) -> None:
    result = verify_passive(sod_for("dsc-other"), FILES, trust=trust)
    assert result.status is PAStatus.PASSED_UNTRUSTED
    assert result.passed and not result.trusted
    assert result.chain.status is ChainStatus.UNKNOWN_ISSUER
    assert result.revocation.status is RevocationStatus.UNKNOWN
    assert result.signature.status is SignatureStatus.VALID
    # the same with no trust store at all (the usual case for a CCCD: no public VN CSCA)
    alone = verify_passive(sod_for("dsc-ecdsa"), FILES)
    assert alone.status is PAStatus.PASSED_UNTRUSTED
    assert alone.chain.status is ChainStatus.UNKNOWN_ISSUER
    # and with only the other country's CSCA trusted
    other = TrustStore.from_paths(PKI / "certs" / "csca-other.pem")
    assert verify_passive(sod_for("dsc-ecdsa"), FILES, trust=other).chain.status is ChainStatus.UNKNOWN_ISSUER


def _forged_dsc(issuer_name: x509.Name, issuer_key: Any, *, ca_ok: bool = True) -> tuple[Any, bytes]:
    k = ec.generate_private_key(ec.SECP256R1())
    c = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "forged DS - TEST ONLY")]))
        .issuer_name(issuer_name)
        .public_key(k.public_key())
        .serial_number(0x9999)
        .not_valid_before(dt.datetime(2024, 1, 1, tzinfo=UTC))
        .not_valid_after(dt.datetime(2036, 1, 1, tzinfo=UTC))
        .sign(issuer_key, hashes.SHA256())
    )
    return k, c.public_bytes(serialization.Encoding.PEM)


def test_signer_claiming_a_trusted_issuer_but_signed_by_another_key_is_invalid(trust: TrustStore) -> None:
    vn_name = x509.load_pem_x509_certificate((PKI / "trust" / "csca-vn-test.pem").read_bytes()).subject
    k, c = _forged_dsc(vn_name, key("csca-other"))
    result = verify_passive(build_sod(FILES, signer_key=k, signer_cert=c), FILES, trust=trust)
    assert result.chain.status is ChainStatus.INVALID
    assert result.status is PAStatus.FAILED
    assert result.signature.status is SignatureStatus.VALID
    assert result.signer.key_usage is KeyUsageStatus.MISSING  # no keyUsage extension: reported, not fatal


def test_anchor_that_is_not_a_ca_is_invalid() -> None:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not a CA - TEST ONLY")])
    not_ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(dt.datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(dt.datetime(2040, 1, 1, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    store = TrustStore()
    store.add_certificate(not_ca)
    k, c = _forged_dsc(ca_name, ca_key)
    result = verify_passive(build_sod(FILES, signer_key=k, signer_cert=c), FILES, trust=store)
    assert result.chain.status is ChainStatus.INVALID
    assert result.chain.reason is not None and "CA" in result.chain.reason


def test_signer_without_digital_signature_key_usage_fails(trust: TrustStore) -> None:
    csca_pem = (PKI / "trust" / "csca-vn-test.pem").read_bytes()
    csca = x509.load_pem_x509_certificate(csca_pem)
    k = ec.generate_private_key(ec.SECP256R1())
    c = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "DS wrong usage - TEST ONLY")]))
        .issuer_name(csca.subject)
        .public_key(k.public_key())
        .serial_number(0x7777)
        .not_valid_before(dt.datetime(2024, 1, 1, tzinfo=UTC))
        .not_valid_after(dt.datetime(2036, 1, 1, tzinfo=UTC))
        .add_extension(
            x509.KeyUsage(False, False, True, False, False, False, False, False, False), critical=True
        )
        .sign(key("csca-vn-test"), hashes.SHA384())
    )
    result = verify_passive(build_sod(FILES, signer_key=k, signer_cert=c), FILES, trust=trust)
    assert result.signer.key_usage is KeyUsageStatus.WRONG
    assert result.chain.status is ChainStatus.TRUSTED
    assert result.status is PAStatus.FAILED


def test_crl_with_a_bad_signature_is_not_used(tmp_path: Path) -> None:
    csca = x509.load_pem_x509_certificate((PKI / "trust" / "csca-vn-test.pem").read_bytes())
    revoked = x509.load_pem_x509_certificate(cert("dsc-revoked"))
    entry = (
        x509.RevokedCertificateBuilder()
        .serial_number(revoked.serial_number)
        .revocation_date(dt.datetime(2025, 3, 1, tzinfo=UTC))
        .build()
    )
    forged = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(csca.subject)
        .last_update(dt.datetime(2025, 6, 1, tzinfo=UTC))
        .next_update(dt.datetime(2035, 6, 1, tzinfo=UTC))
        .add_revoked_certificate(entry)
        .sign(key("csca-other"), hashes.SHA256())
    )
    (tmp_path / "forged.crl").write_bytes(forged.public_bytes(serialization.Encoding.DER))
    store = TrustStore.from_paths(PKI / "trust" / "csca-vn-test.pem", tmp_path / "forged.crl")
    result = verify_passive(sod_for("dsc-revoked"), FILES, trust=store)
    assert result.revocation.status is RevocationStatus.UNKNOWN
    assert result.revocation.reason is not None and "CRL signature" in result.revocation.reason
    assert result.status is PAStatus.PASSED


def test_no_crl_means_revocation_unknown_but_passed() -> None:
    store = TrustStore.from_paths(PKI / "trust" / "csca-vn-test.pem")
    result = verify_passive(sod_for("dsc-revoked"), FILES, trust=store)
    assert result.revocation.status is RevocationStatus.UNKNOWN
    assert result.status is PAStatus.PASSED


def test_listed_but_not_read_and_read_but_not_listed(trust: TrustStore) -> None:
    sod = sod_for("dsc-ecdsa")
    partial = {1: DG1, 13: DG13}
    result = verify_passive(sod, partial, trust=trust)
    assert result.status is PAStatus.PASSED
    assert result.data_group(2).status is DGStatus.NOT_READ  # type: ignore[union-attr]
    assert result.data_group(14).status is DGStatus.NOT_READ  # type: ignore[union-attr]
    extra = {**FILES, 15: b"\x6f\x00"}
    flagged = verify_passive(sod, extra, trust=trust)
    assert flagged.data_group(15).status is DGStatus.NOT_LISTED  # type: ignore[union-attr]
    assert flagged.status is PAStatus.FAILED
    assert any("DG15" in r for r in flagged.reasons)


def test_sod_that_does_not_decode_raises_parse_error() -> None:
    with pytest.raises(ParseError):
        verify_passive(b"\x77\x01\x00", FILES)


def test_missing_signer_certificate(trust: TrustStore) -> None:
    # the signer is identified but no certificate is embedded: the trust store is searched too
    from asn1crypto import cms

    raw = sod_for("dsc-ecdsa")
    sd = cms.ContentInfo.load(raw[4:])["content"]
    bare = cms.SignedData(
        {k: sd[k] for k in ("version", "digest_algorithms", "encap_content_info", "signer_infos")}
    )
    stripped = encode_tlv(0x77, cms.ContentInfo({"content_type": "signed_data", "content": bare}).dump())
    assert decode_sod(stripped).signer_certificates == ()
    result = verify_passive(stripped, FILES, trust=trust)
    assert result.signer.found is False
    assert result.signature.status is SignatureStatus.INVALID
    assert result.status is PAStatus.FAILED
    store = TrustStore.from_paths(PKI / "trust", PKI / "certs" / "dsc-ecdsa.pem")
    found = verify_passive(stripped, FILES, trust=store)
    assert found.signer.source == "trust store"
    assert found.signature.status is SignatureStatus.VALID


# --- external sample EF.SODs -------------------------------------------------------------------------


def _vector_files(vectors: dict[str, Any]) -> dict[str, bytes]:
    return {f["name"]: bytes.fromhex(f["hex"]) for f in vectors["lds_files"]["files"]}


def test_bsi_reference_sod_verifies_against_its_embedded_dsc(vectors: dict[str, Any]) -> None:
    files = _vector_files(vectors)
    vec = next(f for f in vectors["lds_files"]["files"] if f["name"].startswith("EF.SOD BSI"))
    dgs = {
        1: files["DG1 MUSTERMANN (BSI TR-03105-5 ReferenceDataSet, expiry 2023)"],
        14: files[next(n for n in files if n.startswith("DG14 (BSI"))],
    }
    when = dt.datetime(2014, 6, 1, tzinfo=UTC)  # inside the DSC's validity (2013-12-16 .. 2014-12-11)
    result = verify_passive(bytes.fromhex(vec["hex"]), dgs, at_time=when)
    assert result.signature.status is SignatureStatus.VALID
    assert result.signature.algorithm == "rsassa_pss"
    assert result.signature.message_digest_ok is True
    assert result.data_group(1).status is DGStatus.OK  # type: ignore[union-attr]
    assert result.data_group(14).status is DGStatus.OK  # type: ignore[union-attr]
    assert {c.number for c in result.data_groups if c.status is DGStatus.NOT_READ} == {2, 3, 4}
    assert result.signer.subject == vec["dsc_subject"]
    assert format(result.signer.serial_number or 0, "X") == vec["dsc_serial"]
    assert result.chain.status is ChainStatus.UNKNOWN_ISSUER  # the vectors include no CSCA
    assert result.status is PAStatus.PASSED_UNTRUSTED
    # the DSC expired in 2014: checked today, the verdict says so
    today = verify_passive(bytes.fromhex(vec["hex"]), dgs)
    assert today.signer.validity is CertificateValidity.EXPIRED
    assert today.status is PAStatus.FAILED


def test_etsi_sod_verifies_and_catches_a_changed_dg(vectors: dict[str, Any]) -> None:
    files = _vector_files(vectors)
    vec = next(f for f in vectors["lds_files"]["files"] if f["name"].startswith("EF.SOD ETSI"))
    dgs = {
        1: files["DG1 MUSTERMANN (BSI 2008 sample set, expiry 2013) - JMRTD test resource"],
        15: files["DG15 RSA-1024 (ETSI TR 103 200 ePassport prototype data, EACAA)"],
    }
    when = dt.datetime(2012, 1, 1, tzinfo=UTC)
    result = verify_passive(bytes.fromhex(vec["hex"]), dgs, at_time=when)
    assert result.status is PAStatus.PASSED_UNTRUSTED
    assert result.signer.subject == vec["dsc_subject"]
    assert result.signer.key_usage is KeyUsageStatus.OK
    tampered = {**dgs, 15: dgs[15][:-1] + bytes([dgs[15][-1] ^ 0xFF])}
    bad = verify_passive(bytes.fromhex(vec["hex"]), tampered, at_time=when)
    assert bad.data_group(15).status is DGStatus.MISMATCH  # type: ignore[union-attr]
    assert bad.status is PAStatus.FAILED
    today = verify_passive(bytes.fromhex(vec["hex"]), dgs)
    assert today.signer.validity is CertificateValidity.EXPIRED and today.status is PAStatus.FAILED


def test_vector_sod_with_a_changed_signature_is_invalid(vectors: dict[str, Any]) -> None:
    vec = next(f for f in vectors["lds_files"]["files"] if f["name"].startswith("EF.SOD BSI"))
    raw = bytes.fromhex(vec["hex"])
    sig = decode_sod(raw).signature
    pos = raw.rindex(sig)
    broken = raw[:pos] + bytes([sig[0] ^ 0x01]) + raw[pos + 1 :]
    result = verify_passive(broken, {}, at_time=dt.datetime(2014, 6, 1, tzinfo=UTC))
    assert result.signature.status is SignatureStatus.INVALID


def test_explicit_brainpool_p224_key_from_the_bsi_dg14(vectors: dict[str, Any]) -> None:
    """The BSI DG14 carries a brainpoolP224r1 key with explicit parameters: a curve cryptography lacks."""
    files = _vector_files(vectors)
    dg14 = files[next(n for n in files if n.startswith("DG14 (BSI"))]
    security_infos = decode_one(dg14).children[0].children  # type: ignore[index]
    ca_public_key_oid = bytes.fromhex("04007F000702020102")  # 0.4.0.127.0.7.2.2.1.2
    spki = None
    for info in security_infos or ():
        parts = info.children or ()
        if parts and parts[0].value == ca_public_key_oid:
            spki = parts[1].encode()
    assert spki is not None
    loaded = load_public_key(spki)
    assert isinstance(loaded, EcdsaFallbackKey)
    assert loaded.curve_name == "BRAINPOOLP224r1"


# --- signature primitives ----------------------------------------------------------------------------


def test_plain_ecdsa_signature_format() -> None:
    k = ec.generate_private_key(ec.BrainpoolP256R1())
    spki = k.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    r, s = utils.decode_dss_signature(k.sign(b"data", ec.ECDSA(hashes.SHA256())))
    plain = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    alg = algos.SignedDigestAlgorithm({"algorithm": "0.4.0.127.0.7.1.1.4.1.3"}).dump()
    assert verify_signature(load_public_key(spki), alg, plain, b"data")
    assert not verify_signature(load_public_key(spki), alg, plain, b"other")


def test_ecdsa_package_explicit_encoding_maps_to_named_curves() -> None:
    import ecdsa

    for curve, expect_fallback in (
        (ecdsa.BRAINPOOLP224r1, True),
        (ecdsa.BRAINPOOLP256r1, False),
        (ecdsa.NIST256p, False),
    ):
        sk = ecdsa.SigningKey.generate(curve=curve)
        spki = sk.get_verifying_key().to_der(curve_parameters_encoding="explicit")
        loaded = load_public_key(spki)
        assert isinstance(loaded, EcdsaFallbackKey) is expect_fallback
        sig = sk.sign(b"message", hashfunc=hashlib.sha256, sigencode=ecdsa.util.sigencode_der)
        alg = algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}).dump()
        assert verify_signature(loaded, alg, sig, b"message")
        assert not verify_signature(loaded, alg, sig, b"messagf")


def test_unknown_explicit_curve_and_unsupported_algorithm_raise_verification_error() -> None:
    import ecdsa

    sk = ecdsa.SigningKey.generate(curve=ecdsa.SECP112r1) if hasattr(ecdsa, "SECP112r1") else None
    if sk is not None:
        spki = sk.get_verifying_key().to_der(curve_parameters_encoding="explicit")
        # secp112r1 is known to the ecdsa package, so it loads through the fallback
        assert isinstance(load_public_key(spki), EcdsaFallbackKey)
    with pytest.raises(VerificationError):
        load_public_key(b"\x30\x03\x02\x01\x00")
    k = ec.generate_private_key(ec.SECP256R1())
    spki = k.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    dsa_alg = algos.SignedDigestAlgorithm({"algorithm": "sha256_dsa"}).dump()
    with pytest.raises(VerificationError):
        verify_signature(load_public_key(spki), dsa_alg, b"\x30\x00", b"x")


# --- reporting and offline re-verification ----------------------------------------------------------


def test_summary_and_to_dict(trust: TrustStore) -> None:
    result = verify_passive(sod_for("dsc-other"), FILES, trust=trust)
    text = result.summary()
    assert text.splitlines()[0].startswith("Passive authentication: PASSED (untrusted signer)")
    assert "unknown_issuer" in text and "DG13 ok" in text
    d = json.loads(json.dumps(result.to_dict()))
    assert d["status"] == "passed_untrusted"
    assert d["chain"]["status"] == "unknown_issuer"
    assert d["data_groups"][0]["status"] == "ok"
    assert "certificate" not in d["signer"]
    failed = verify_passive(sod_for("dsc-revoked"), FILES, trust=trust)
    assert failed.summary().startswith("Passive authentication: FAILED")
    assert "revoked" in failed.summary()


def test_offline_reverification_gives_the_same_verdict(trust: TrustStore) -> None:
    sod = sod_for("dsc-ecdsa")
    live = verify_passive(sod, FILES, trust=trust)
    saved = {
        "EF.SOD": sod,
        "EF.COM": b"\x60\x00",
        "DG1": DG1,
        "EF_DG2.bin": DG2,
        "dumps/dg13.bin": DG13,
        "EF.DG14": DG14,
    }
    offline = verify_passive_offline(saved, trust=trust, at_time=live.checked_at)
    assert offline.time_source == "at_time"
    assert offline.status is live.status
    assert offline.data_groups == live.data_groups
    assert (offline.signature, offline.signer, offline.chain, offline.revocation) == (
        live.signature,
        live.signer,
        live.chain,
        live.revocation,
    )
    # with a signing-time attribute the moment is fixed by the SOD itself: fully equal results
    timed = sod_for("dsc-ecdsa", signing_time=dt.datetime(2025, 2, 2, tzinfo=UTC))
    a = verify_passive(timed, FILES, trust=trust)
    b = verify_passive_offline({**saved, "EF.SOD": timed}, trust=trust)
    assert a == b


def test_saved_file_names() -> None:
    sod, dgs = split_saved_files(
        {"sod.bin": b"S", "EF_DG1.bin": b"1", "DG13": b"d", "EF.COM": b"c", "DG99": b"x"}
    )
    assert sod == b"S" and dgs == {1: b"1", 13: b"d"}
    with pytest.raises(VerificationError):
        split_saved_files({"DG1": b"1"})
    with pytest.raises(VerificationError):
        split_saved_files({"EF.SOD": b"1", "SOD": b"2"})


# --- totality of the verifier ------------------------------------------------------------------------

_VALID_SODS = {name: sod_for(name) for name in ("dsc-ecdsa", "dsc-rsa", "dsc-explicit")}
_PSS_SOD = sod_for(
    "dsc-rsa", signature_algorithm="rsassa-pss", signing_time=dt.datetime(2025, 1, 1, tzinfo=UTC)
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_sods_give_a_verdict_or_a_parse_error(data: st.DataObject) -> None:
    base = data.draw(st.sampled_from([*_VALID_SODS.values(), _PSS_SOD]))
    raw = bytearray(base)
    for _ in range(data.draw(st.integers(1, 3))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    store = TrustStore.from_paths(PKI / "trust")
    try:
        result = verify_passive(bytes(raw), FILES, trust=store)
    except ParseError:
        return
    original, mutated = decode_sod(base), decode_sod(bytes(raw))
    signed_parts = lambda sod: (  # noqa: E731
        sod.econtent,
        sod.signed_attributes.der if sod.signed_attributes else None,
        sod.signature,
        sod.signature_algorithm_der,
    )
    if signed_parts(mutated) != signed_parts(original):
        # anything covered by (or making up) the signature changed: it must not verify
        assert result.signature.status is SignatureStatus.INVALID
        assert result.status is PAStatus.FAILED
    json.dumps(result.to_dict())
    result.summary()


def test_trust_given_as_paths() -> None:
    sod = sod_for("dsc-ecdsa")
    for trust in (PKI / "trust", str(PKI / "trust"), [PKI / "trust" / "csca-vn-test.pem"]):
        assert verify_passive(sod, FILES, trust=trust).status is PAStatus.PASSED  # type: ignore[arg-type]
    from cccd_reader.errors import InputError, TrustStoreError

    with pytest.raises(InputError):
        verify_passive(sod, FILES, trust=42)  # type: ignore[arg-type]
    with pytest.raises(TrustStoreError):
        verify_passive(sod, FILES, trust=PKI / "no-such-folder")


# --- CMS variants found in the field, assembled by hand ----------------------------------------------


def _hand_sod(
    signer: str,
    *,
    attrs: list[dict[str, Any]] | None,
    sig_alg: dict[str, Any],
    sign: Any,
) -> bytes:
    """An EF.SOD whose SignerInfo is assembled field by field (not by the library's signing code)."""
    from asn1crypto import cms, core
    from asn1crypto import x509 as ax509

    from cccd_reader.lds.sod import encode_lds_security_object

    econtent = encode_lds_security_object({n: hashlib.sha256(b).digest() for n, b in FILES.items()})
    c = ax509.Certificate.load(
        x509.load_pem_x509_certificate(cert(signer)).public_bytes(serialization.Encoding.DER)
    )
    info: dict[str, Any] = {
        "version": "v1",
        "sid": {"issuer_and_serial_number": {"issuer": c.issuer, "serial_number": c.serial_number}},
        "digest_algorithm": {"algorithm": "sha256"},
        "signature_algorithm": algos.SignedDigestAlgorithm(sig_alg),
    }
    if attrs is None:
        info["signature"] = sign(key(signer), econtent)
    else:
        signed_attrs = cms.CMSAttributes(attrs)
        info["signed_attrs"] = signed_attrs
        info["signature"] = sign(key(signer), b"\x31" + signed_attrs.dump()[1:])
    sd = cms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {
                "content_type": "2.23.136.1.1.1",
                "content": core.ParsableOctetString(econtent),
            },
            "certificates": [c],
            "signer_infos": [cms.SignerInfo(info)],
        }
    )
    return encode_tlv(0x77, cms.ContentInfo({"content_type": "signed_data", "content": sd}).dump())


def _attrs(content_type: str = "2.23.136.1.1.1", digest: bytes | None = None) -> list[dict[str, Any]]:
    from cccd_reader.lds.sod import encode_lds_security_object

    econtent = encode_lds_security_object({n: hashlib.sha256(b).digest() for n, b in FILES.items()})
    return [
        {"type": "content_type", "values": [content_type]},
        {"type": "message_digest", "values": [digest or hashlib.sha256(econtent).digest()]},
    ]


def _ecdsa(k: Any, data: bytes) -> bytes:
    return k.sign(data, ec.ECDSA(hashes.SHA256()))  # type: ignore[no-any-return]


def _rsa(k: Any, data: bytes) -> bytes:
    from cryptography.hazmat.primitives.asymmetric import padding

    return k.sign(data, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[no-any-return]


def test_hand_built_sod_matches_the_library_verdict(trust: TrustStore) -> None:
    raw = _hand_sod("dsc-ecdsa", attrs=_attrs(), sig_alg={"algorithm": "sha256_ecdsa"}, sign=_ecdsa)
    assert verify_passive(raw, FILES, trust=trust).status is PAStatus.PASSED


def test_bare_key_algorithm_oids_as_signature_algorithm(trust: TrustStore) -> None:
    # rsaEncryption and id-ecPublicKey in signatureAlgorithm: the hash comes from the digest algorithm
    rsa_sod = _hand_sod("dsc-rsa", attrs=_attrs(), sig_alg={"algorithm": "rsassa_pkcs1v15"}, sign=_rsa)
    assert verify_passive(rsa_sod, FILES, trust=trust).status is PAStatus.PASSED
    ec_sod = _hand_sod("dsc-ecdsa", attrs=_attrs(), sig_alg={"algorithm": "1.2.840.10045.2.1"}, sign=_ecdsa)
    assert verify_passive(ec_sod, FILES, trust=trust).status is PAStatus.PASSED


def test_signature_without_signed_attributes(trust: TrustStore) -> None:
    raw = _hand_sod("dsc-ecdsa", attrs=None, sig_alg={"algorithm": "sha256_ecdsa"}, sign=_ecdsa)
    result = verify_passive(raw, FILES, trust=trust)
    assert result.signature.status is SignatureStatus.VALID
    assert result.signature.message_digest_ok is None and result.signature.content_type_ok is None


def test_wrong_content_type_attribute(trust: TrustStore) -> None:
    raw = _hand_sod(
        "dsc-ecdsa",
        attrs=_attrs(content_type="1.2.840.113549.1.7.1"),
        sig_alg={"algorithm": "sha256_ecdsa"},
        sign=_ecdsa,
    )
    result = verify_passive(raw, FILES, trust=trust)
    assert result.signature.status is SignatureStatus.INVALID
    assert result.signature.content_type_ok is False
    assert result.signature.message_digest_ok is True
    assert result.status is PAStatus.FAILED


def test_wrong_message_digest_attribute_with_a_valid_signature(trust: TrustStore) -> None:
    # the signer signed attributes whose digest is not the digest of the content: still invalid
    raw = _hand_sod(
        "dsc-ecdsa", attrs=_attrs(digest=b"\x00" * 32), sig_alg={"algorithm": "sha256_ecdsa"}, sign=_ecdsa
    )
    result = verify_passive(raw, FILES, trust=trust)
    assert result.signature.status is SignatureStatus.INVALID
    assert result.signature.message_digest_ok is False
    assert result.signature.reason is not None and "message-digest" in result.signature.reason


def test_cms_verifier_on_the_bsi_card_security_object(vectors: dict[str, Any]) -> None:
    """EF.CardSecurity is another RSASSA-PSS SignedData: the same CMS checks must accept it."""
    import dataclasses

    from cccd_reader.lds.sod import decode_signed_data
    from cccd_reader.verify.signing import check_signed_content
    from cccd_reader.verify.trust import CertificateInfo

    vec = next(f for f in vectors["lds_files"]["files"] if f["ef"] == "EF.CardSecurity")
    signed = decode_signed_data(bytes.fromhex(vec["hex"]), file="EF.CardSecurity")
    assert signed.econtent_type == vec["econtent_type"].split()[0]
    (signer_der,) = [d for d in signed.certificates if CertificateInfo.from_der(d).subject == vec["signer"]]
    signer = CertificateInfo.from_der(signer_der)
    check = check_signed_content(signer.public_key(), signed)
    assert check.valid and check.message_digest_ok and check.content_type_ok
    altered = dataclasses.replace(signed, econtent=signed.econtent[:-1] + bytes([signed.econtent[-1] ^ 1]))
    assert not check_signed_content(signer.public_key(), altered).valid


def test_every_sample_card_passes_against_the_sample_csca(trust: TrustStore) -> None:
    """The emulator signs with the card's issue date: the sample DS must be valid then (2021 cards too)."""
    from cccd_reader.emulator import samples

    names = samples.sample_names()
    assert names
    for name in names:
        image = samples.sample_card(name).image
        sod = image.files.file("EF.SOD")
        assert sod is not None
        result = verify_passive(sod.data, image.data_groups, trust=trust)
        assert result.time_source == "signing_time", name
        assert result.status is PAStatus.PASSED, (name, result.reasons)
