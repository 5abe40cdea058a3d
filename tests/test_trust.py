"""Trust store: certificate files and folders, ICAO master lists (built here and loaded), CRLs."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import algos, cms, core
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from hypothesis import given, settings
from hypothesis import strategies as st

from cccd_reader.errors import TrustStoreError
from cccd_reader.issue.signing import build_master_list, build_sod
from cccd_reader.verify.passive import ChainStatus, PAStatus, verify_passive
from cccd_reader.verify.trust import CertificateInfo, CRLInfo, TrustStore

PKI = Path(__file__).resolve().parent.parent / "samples" / "pki"
UTC = dt.UTC
FILES = {1: b"\x61\x03\x5f\x1f\x00", 2: b"\x75\x01\x00"}


def key(name: str) -> Any:
    return load_pem_private_key((PKI / "keys" / f"{name}.key").read_bytes(), None)


def pem(name: str) -> bytes:
    path = PKI / "trust" / f"{name}.pem"
    return (path if path.exists() else PKI / "certs" / f"{name}.pem").read_bytes()


def der(name: str) -> bytes:
    return x509.load_pem_x509_certificate(pem(name)).public_bytes(serialization.Encoding.DER)


# --- files and folders -------------------------------------------------------------------------------


def test_folder_loads_anchor_and_crl() -> None:
    store = TrustStore.from_paths(PKI / "trust")
    assert len(store) == len(list((PKI / "trust").glob("*.pem")))  # the two test CSCAs
    for anchor in store.certificates:
        assert anchor.is_ca is True and anchor.self_signed
        assert anchor.key_usage == frozenset({"key_cert_sign", "crl_sign"})
        assert "TEST ONLY" in anchor.subject
    assert set(store.for_country("vn")) == set(store.certificates)
    csca = CertificateInfo.from_der(der("csca-vn-test"))
    (crl,) = store.crls
    assert crl.issuer == csca.subject
    assert crl.revoked == {0x2004: dt.datetime(2025, 3, 1, tzinfo=UTC)}
    assert store.crls_for(csca) == [crl]
    assert crl.is_signed_by(csca)


def test_folder_skips_keys_and_other_files() -> None:
    store = TrustStore.from_paths(PKI)  # holds .key files, README.md and generate.py as well
    assert len(store) == len(list(PKI.glob("*/*.pem")))
    assert len(store.crls) == len(list(PKI.glob("*/*.crl")))


@pytest.mark.parametrize("suffix", [".der", ".cer", ".crt"])
def test_der_files_and_path_lists(tmp_path: Path, suffix: str) -> None:
    (tmp_path / f"a{suffix}").write_bytes(der("csca-vn-test"))
    (tmp_path / "b.pem").write_bytes(pem("csca-other") + pem("csca-vn-test"))  # two in one PEM
    crl_pem = (
        b"-----BEGIN X509 CRL-----\n"
        + __import__("base64").encodebytes((PKI / "trust" / "csca-vn-test.crl").read_bytes())
        + b"-----END X509 CRL-----\n"
    )
    (tmp_path / "c.crl").write_bytes(crl_pem)
    store = TrustStore.from_paths([tmp_path / f"a{suffix}", tmp_path / "b.pem"], tmp_path / "c.crl")
    assert len(store) == 2  # duplicates collapse
    assert len(store.crls) == 1
    assert store.source_of(store.certificates[0]) == str(tmp_path / f"a{suffix}")


def test_add_certificate_forms() -> None:
    store = TrustStore()
    a = store.add_certificate(pem("csca-vn-test"))
    b = store.add_certificate(der("csca-vn-test"))
    c = store.add_certificate(x509.load_pem_x509_certificate(pem("csca-vn-test")))
    assert a == b == c and len(store) == 1
    assert a.fingerprint == hashlib.sha256(der("csca-vn-test")).digest()
    assert a.to_cryptography().serial_number == 0x1001


def test_load_errors_are_trust_store_errors(tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_bytes((PKI / "keys" / "dsc-ecdsa.key").read_bytes())
    (tmp_path / "junk.der").write_bytes(b"\x30\x03\x02\x01\x00")
    (tmp_path / "junk.crl").write_bytes(b"not a crl")
    (tmp_path / "junk.ml").write_bytes(der("csca-vn-test"))
    for name in ("key.pem", "junk.der", "junk.crl", "junk.ml", "missing.pem"):
        with pytest.raises(TrustStoreError) as info:
            TrustStore.from_paths(tmp_path / name)
        assert name in str(info.value)
    with pytest.raises(TrustStoreError):
        TrustStore().add_certificate(pem("csca-vn-test") + pem("csca-other"))
    with pytest.raises(TrustStoreError):
        TrustStore().add_crl(b"\x30\x00")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_loaders_are_total(data: bytes) -> None:
    store = TrustStore()
    for load in (store.add_certificate, store.add_crl, store.add_master_list, store.add_ldif):
        with contextlib.suppress(TrustStoreError):
            load(data)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 255))
def test_mutated_certificates_load_or_fail_cleanly(pos: int, value: int) -> None:
    raw = bytearray(der("dsc-ecdsa"))
    raw[pos % len(raw)] = value
    try:
        info = CertificateInfo.from_der(bytes(raw))
    except Exception as exc:  # only the library's ParseError may escape
        from cccd_reader.errors import ParseError

        assert isinstance(exc, ParseError)
    else:
        assert info.der == bytes(raw)


# --- master lists ------------------------------------------------------------------------------------


def _hand_built_master_list(certs: list[bytes], signer: str, *, signer_key_name: str | None = None) -> bytes:
    """A CSCA master list assembled field by field (not with the library's signing code)."""
    cert_list = core.SetOf([ax509.Certificate.load(c) for c in certs], spec=ax509.Certificate)
    body = b"\x02\x01\x00" + cert_list.dump()  # version 0, certList
    econtent = b"\x30" + _der_len(len(body)) + body
    signer_cert = ax509.Certificate.load(der(signer))
    attrs = cms.CMSAttributes(
        [
            {"type": "content_type", "values": ["2.23.136.1.1.2"]},
            {"type": "message_digest", "values": [hashlib.sha256(econtent).digest()]},
        ]
    )
    signed = b"\x31" + attrs.dump()[1:]
    signature = key(signer_key_name or signer).sign(signed, ec.ECDSA(hashes.SHA256()))
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": {
                "issuer_and_serial_number": {
                    "issuer": signer_cert.issuer,
                    "serial_number": signer_cert.serial_number,
                }
            },
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
            "signature": signature,
        }
    )
    sd = cms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {
                "content_type": "2.23.136.1.1.2",
                "content": core.ParsableOctetString(econtent),
            },
            "certificates": [signer_cert],
            "signer_infos": [signer_info],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": sd}).dump())


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def test_hand_built_master_list_loads_and_anchors_the_chain(tmp_path: Path) -> None:
    ml = _hand_built_master_list([der("csca-vn-test"), der("csca-other")], "mls")
    (tmp_path / "test.ml").write_bytes(ml)
    store = TrustStore.from_paths(tmp_path)
    (info,) = store.master_lists
    assert info.certificate_count == 2
    assert info.signature_valid is True
    assert info.signer_trusted is True  # the list signer is certified by the VN test CSCA in the list
    assert info.countries == ("VN", "ZZ")
    assert info.signer is not None and "Master List Signer" in info.signer
    assert {c.country for c in store.certificates} == {"VN", "ZZ"}
    sod = build_sod(FILES, signer_key=key("dsc-ecdsa"), signer_cert=pem("dsc-ecdsa"))
    result = verify_passive(sod, FILES, trust=store)
    assert result.status is PAStatus.PASSED
    assert result.chain.anchor_source is not None and "master list" in result.chain.anchor_source


def test_library_built_master_list_round_trips() -> None:
    ml = build_master_list(
        [pem("csca-vn-test")],
        signer_key=key("mls"),
        signer_cert=pem("mls"),
        signing_time=dt.datetime(2025, 1, 1),
    )
    store = TrustStore()
    info = store.add_master_list(ml, source="library")
    assert info.signature_valid and info.signer_trusted and info.certificate_count == 1
    assert store.certificates[0].subject.startswith("CN=CSCA VN test")


def test_master_list_signer_certified_by_a_csca_already_in_the_store() -> None:
    ml = _hand_built_master_list([der("csca-other")], "mls")
    alone = TrustStore().add_master_list(ml)
    assert alone.signature_valid and not alone.signer_trusted
    store = TrustStore.from_paths(PKI / "trust")
    assert store.add_master_list(ml).signer_trusted


def test_tampered_master_list_is_refused() -> None:
    ml = bytearray(_hand_built_master_list([der("csca-vn-test")], "mls"))
    csca = der("csca-vn-test")
    pos = bytes(ml).index(csca) + len(csca) // 2
    ml[pos] ^= 0x01
    with pytest.raises(TrustStoreError):
        TrustStore().add_master_list(bytes(ml))
    wrong_key = _hand_built_master_list([der("csca-vn-test")], "mls", signer_key_name="dsc-revoked")
    with pytest.raises(TrustStoreError) as info:
        TrustStore().add_master_list(wrong_key)
    assert "signature" in str(info.value)
    store = TrustStore()
    with pytest.raises(TrustStoreError):
        store.add_master_list(build_sod(FILES, signer_key=key("dsc-ecdsa"), signer_cert=pem("dsc-ecdsa"))[4:])
    assert len(store) == 0


# --- chain matching ----------------------------------------------------------------------------------


def test_issuers_match_by_name_and_key_identifier() -> None:
    store = TrustStore.from_paths(PKI / "trust", PKI / "certs" / "csca-other.pem")
    dsc = CertificateInfo.from_der(der("dsc-ecdsa"))
    (issuer,) = store.issuers_of(dsc)
    assert issuer.subject_key_identifier == dsc.authority_key_identifier
    assert dsc.is_signed_by(issuer)
    other = CertificateInfo.from_der(der("dsc-other"))
    assert not other.is_signed_by(issuer)


def test_csca_rollover_with_the_same_name(tmp_path: Path) -> None:
    """Two CSCA certificates share a name (key rollover): the one whose key verifies is the anchor."""
    csca = x509.load_pem_x509_certificate(pem("csca-vn-test"))
    new_key = ec.generate_private_key(ec.SECP384R1())
    rolled = (
        x509.CertificateBuilder()
        .subject_name(csca.subject)
        .issuer_name(csca.subject)
        .public_key(new_key.public_key())
        .serial_number(0x1002)
        .not_valid_before(dt.datetime(2024, 1, 1, tzinfo=UTC))
        .not_valid_after(dt.datetime(2040, 1, 1, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(new_key, hashes.SHA384())
    )
    store = TrustStore()
    store.add_certificate(rolled)  # first in the store, but not the key that signed the DSC
    store.add_certificate(csca)
    assert len(store.issuers_of(CertificateInfo.from_der(der("dsc-ecdsa")))) == 2
    sod = build_sod(FILES, signer_key=key("dsc-ecdsa"), signer_cert=pem("dsc-ecdsa"))
    result = verify_passive(sod, FILES, trust=store)
    assert result.chain.status is ChainStatus.TRUSTED


def test_crl_info_parses_the_sample_crl() -> None:
    info = CRLInfo.from_der((PKI / "trust" / "csca-vn-test.crl").read_bytes())
    assert info.this_update == dt.datetime(2025, 6, 1, tzinfo=UTC)
    assert info.next_update == dt.datetime(2035, 6, 1, tzinfo=UTC)
    assert not info.is_signed_by(CertificateInfo.from_der(der("csca-other")))


def test_rsassa_pss_csca_chain() -> None:
    """A CSCA that signs with RSASSA-PSS (common in European PKIs): the chain check follows the params."""
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "CSCA PSS test - TEST ONLY")])
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(5)
        .not_valid_before(dt.datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(dt.datetime(2045, 1, 1, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256(), rsa_padding=pss)
    )
    ds_key = ec.generate_private_key(ec.BrainpoolP384R1())
    ds = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "DS PSS test - TEST ONLY")]))
        .issuer_name(ca_name)
        .public_key(ds_key.public_key())
        .serial_number(6)
        .not_valid_before(dt.datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(dt.datetime(2045, 1, 1, tzinfo=UTC))
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256(), rsa_padding=pss)
    )
    store = TrustStore()
    store.add_certificate(ca)
    assert CertificateInfo.from_der(ds.public_bytes(serialization.Encoding.DER)).is_signed_by(
        store.certificates[0]
    )
    sod = build_sod(FILES, signer_key=ds_key, signer_cert=ds, hash_algorithm="sha384")
    result = verify_passive(sod, FILES, trust=store)
    assert result.status is PAStatus.PASSED
    assert result.signature.algorithm == "sha384_ecdsa"


def _ldif_line(attribute: str, value: bytes) -> str:
    """One base64 LDIF attribute folded at 76 columns (RFC 2849), as the ICAO PKD download writes them."""
    import base64

    text = f"{attribute}:: {base64.b64encode(value).decode()}"
    lines = [text[:76]] + [" " + text[i : i + 75] for i in range(76, len(text), 75)]
    return "\n".join(lines)


def test_icao_pkd_ldif(tmp_path: Path) -> None:
    ml = _hand_built_master_list([der("csca-vn-test")], "mls")
    crl = (PKI / "trust" / "csca-vn-test.crl").read_bytes()
    entries = [
        "dn: cn=VN test ML,o=ml,c=VN,dc=data,dc=download,dc=pkd\nobjectClass: pkdMasterList\n"
        + _ldif_line("pkdMasterListContent", ml),
        "dn: cn=DS,o=dsc,c=VN\nobjectClass: inetOrgPerson\n"
        + _ldif_line("userCertificate;binary", der("dsc-ecdsa")),
        "dn: cn=CRL,o=crl,c=VN\n" + _ldif_line("certificateRevocationList;binary", crl),
        "dn: cn=broken,o=dsc,c=VN\n" + _ldif_line("userCertificate;binary", b"\x30\x03\x02\x01\x00"),
        "# a comment\ndn: cn=text only\ndescription: not binary",
    ]
    (tmp_path / "icaopkd.ldif").write_text("version: 1\n\n" + "\n\n".join(entries) + "\n", encoding="ascii")
    store = TrustStore.from_paths(tmp_path)
    assert len(store.master_lists) == 1 and len(store.crls) == 1
    assert len(store) == 2  # the CSCA from the master list and the DSC
    counts = TrustStore().add_ldif((tmp_path / "icaopkd.ldif").read_bytes())
    assert counts == {"master_lists": 1, "certificates": 1, "crls": 1, "skipped": 1}
    sod = build_sod(FILES, signer_key=key("dsc-revoked"), signer_cert=pem("dsc-revoked"))
    assert verify_passive(sod, FILES, trust=store).status is PAStatus.FAILED  # the LDIF's CRL revokes it
    with pytest.raises(TrustStoreError):
        TrustStore().add_ldif(b"version: 1\n\ndn: cn=nothing\n")


# --- indexes -----------------------------------------------------------------------------------------


def _synthetic_cscas(n: int, *, name: str = "Synthetic") -> list[bytes]:
    out = []
    start = dt.datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(n):
        k = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, f"{name} CSCA {i}")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(k.public_key())
            .serial_number(1000 + i)
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(k.public_key()), critical=False)
            .sign(k, hashes.SHA256())
        )
        out.append(cert.public_bytes(serialization.Encoding.DER))
    return out


def test_indexes_find_anchors_among_many() -> None:
    store = TrustStore.from_paths(PKI / "trust")
    store.extend(_synthetic_cscas(40))
    vn = CertificateInfo.from_der(der("csca-vn-test"))  # one of the two VN test CSCAs in the folder
    assert vn in store.for_country("VN")
    dsc = CertificateInfo.from_der(der("dsc-ecdsa"))
    assert store.issuers_of(dsc) == [vn]
    assert store.by_issuer_and_serial(vn.issuer_key, vn.serial_number) == [vn]
    assert store.by_issuer_and_serial(vn.issuer_key, vn.serial_number + 1) == []
    assert vn.subject_key_identifier is not None
    assert store.by_key_identifier(vn.subject_key_identifier) == [vn]
    assert store.by_key_identifier(b"\x00" * 20) == []
    assert store.crls_for(vn) == list(store.crls)
    # adding the same certificates again changes nothing in any index
    before = len(store)
    store.extend([der("csca-vn-test")])
    store.add_crl((PKI / "trust" / "csca-vn-test.crl").read_bytes())
    assert len(store) == before
    assert store.issuers_of(dsc) == [vn]
    assert len(store.crls_for(vn)) == 1


def test_passive_authentication_does_not_reparse_the_anchors(monkeypatch: pytest.MonkeyPatch) -> None:
    store = TrustStore.from_paths(PKI / "trust")
    store.extend(_synthetic_cscas(30))
    files = {1: b"\x61\x03\x5f\x1f\x00"}
    sod = build_sod(files, signer_key=key("dsc-ecdsa"), signer_cert=pem("dsc-ecdsa"))
    parsed: list[bytes] = []
    original = CertificateInfo.from_der.__func__  # type: ignore[attr-defined]

    def counting(cls: type[CertificateInfo], data: bytes) -> CertificateInfo:
        parsed.append(bytes(data))
        return original(cls, data)  # type: ignore[no-any-return]

    monkeypatch.setattr(CertificateInfo, "from_der", classmethod(counting))
    result = verify_passive(sod, files, trust=store)
    assert result.status is PAStatus.PASSED
    assert result.chain.status is ChainStatus.TRUSTED
    assert parsed == [der("dsc-ecdsa")]  # the embedded signer only, never the store's anchors
