#!/usr/bin/env python3
"""Regenerate the TEST-ONLY sample PKI used by the emulator and the passive-authentication tests.

Run from anywhere: ``python3 samples/pki/generate.py``. It rewrites every certificate and the CRL listed
in README.md. Existing private keys in keys/ are kept (so EF.SODs signed earlier stay verifiable with the
same keys); ``--new-keys`` replaces them too. Names, serial numbers and dates are fixed, so tests do not
depend on a particular run.

Nothing here is a real Vietnamese CSCA or document signer: every subject says TEST ONLY.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

from asn1crypto import keys as akeys
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

HERE = Path(__file__).resolve().parent
UTC = dt.UTC

# Chip CCCDs have been issued since 2021 and may stay valid for decades, so the document signers cover
# 2020..2045 (a DS certificate must be valid at the SOD's signing time, i.e. the card's issue date).
CSCA_VALIDITY = (dt.datetime(2018, 1, 1, tzinfo=UTC), dt.datetime(2048, 1, 1, tzinfo=UTC))
DSC_VALIDITY = (dt.datetime(2020, 1, 1, tzinfo=UTC), dt.datetime(2045, 1, 1, tzinfo=UTC))
EXPIRED_VALIDITY = (dt.datetime(2019, 1, 1, tzinfo=UTC), dt.datetime(2022, 1, 1, tzinfo=UTC))
CRL_THIS_UPDATE = dt.datetime(2025, 6, 1, tzinfo=UTC)
CRL_NEXT_UPDATE = dt.datetime(2035, 6, 1, tzinfo=UTC)
REVOKED_AT = dt.datetime(2025, 3, 1, tzinfo=UTC)

SERIALS = {
    "csca-vn-test": 0x1001,
    "dsc-ecdsa": 0x2001,
    "dsc-rsa": 0x2002,
    "dsc-expired": 0x2003,
    "dsc-revoked": 0x2004,
    "dsc-explicit": 0x2005,
    "mls": 0x2006,
    "csca-other": 0x3001,
    "dsc-other": 0x3002,
    "csca-vietnam-test": 0x4001,
    "dsc-vietnam-test": 0x4002,
}

# The test pair built like the real CCCD PKI (cccd-card-facts §8): the names follow the real issuer's
# naming style but say TEST ONLY, the document signer is on brainpoolP384r1 and signs with
# ecdsa-with-SHA256, and it carries authority information access, CRL distribution points, a 90-day
# private key usage period and the ICAO documentTypeList "ID". The URLs have the real shape on hosts
# under the reserved ".invalid" top-level domain, so nothing can ever be downloaded from them.
EID_CSCA_NAME = (("C", "VN"), ("O", "Vietnam Government Information Security Commission (TEST ONLY)"),
                 ("serialNumber", "001"), ("CN", "CSCA Vietnam TEST ONLY"))
EID_DSC_NAME = (("C", "VN"), ("O", "Ministry of Public Security (TEST ONLY)"),
                ("OU", "Police Department for Administrative Management of Social Order"),
                ("CN", "Document Signer National Identification TEST ONLY 01"))
EID_CA_ISSUERS = ("http://npkd.test.invalid/crt/eid-csca-vietnam-test.crt",
                  "http://ca.test.invalid/crt/eid-csca-vietnam-test.crt")
EID_CRLS = ("http://npkd.test.invalid/crl/eid-csca-vietnam-test.crl",
            "http://ca.test.invalid/crl/eid-csca-vietnam-test.crl")
# 90 days, around the issue date of the default sample card (2021-04-20)
EID_DSC_KEY_USAGE_PERIOD = (dt.datetime(2021, 3, 1, tzinfo=UTC), dt.datetime(2021, 5, 30, tzinfo=UTC))
DOCUMENT_TYPE_LIST_OID = "2.23.136.1.1.6.2"
_NAME_OIDS = {"C": NameOID.COUNTRY_NAME, "O": NameOID.ORGANIZATION_NAME,
              "OU": NameOID.ORGANIZATIONAL_UNIT_NAME, "CN": NameOID.COMMON_NAME,
              "serialNumber": NameOID.SERIAL_NUMBER}


def name(country: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "TEST ONLY - fictional VN test issuer"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "TEST ONLY - not a real authority"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def rdn_name(parts: tuple[tuple[str, str], ...]) -> x509.Name:
    return x509.Name([x509.NameAttribute(_NAME_OIDS[k], v) for k, v in parts])


def document_type_list(*types: str) -> x509.UnrecognizedExtension:
    """ICAO 9303-12 documentTypeList: SEQUENCE { version INTEGER (0), docTypeList SET OF PrintableString }."""
    from asn1crypto import core

    class _Types(core.SetOf):  # type: ignore[misc]
        _child_spec = core.PrintableString

    class _List(core.Sequence):  # type: ignore[misc]
        _fields = [("version", core.Integer), ("doc_type_list", _Types)]  # noqa: RUF012

    value = _List({"version": 0, "doc_type_list": list(types)}).dump()
    return x509.UnrecognizedExtension(x509.ObjectIdentifier(DOCUMENT_TYPE_LIST_OID), value)


def private_key_usage_period(start: dt.datetime, end: dt.datetime) -> x509.UnrecognizedExtension:
    value = ax509.PrivateKeyUsagePeriod({"not_before": start, "not_after": end}).dump()
    return x509.UnrecognizedExtension(x509.ObjectIdentifier("2.5.29.16"), value)


def eid_csca_cert(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    """The test CSCA of the eID kind: self-signed, CA, keyCertSign + cRLSign, CRL distribution points."""
    subject = rdn_name(EID_CSCA_NAME)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(SERIALS["csca-vietnam-test"])
        .not_valid_before(CSCA_VALIDITY[0])
        .not_valid_after(CSCA_VALIDITY[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .add_extension(private_key_usage_period(CSCA_VALIDITY[0], dt.datetime(2033, 1, 1, tzinfo=UTC)),
                       critical=False)
        .add_extension(crl_distribution_points(EID_CRLS), critical=False)
        .sign(key, hashes.SHA256())
    )


def crl_distribution_points(urls: tuple[str, ...]) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints(
        [x509.DistributionPoint([x509.UniformResourceIdentifier(u)], None, None, None) for u in urls]
    )


def eid_dsc_cert(
    public_key: ec.EllipticCurvePublicKey,
    issuer_key: ec.EllipticCurvePrivateKey,
    issuer_cert: x509.Certificate,
    *,
    subject: x509.Name | None = None,
    serial: int | None = None,
    ca_issuers: tuple[str, ...] = EID_CA_ISSUERS,
    crls: tuple[str, ...] = EID_CRLS,
    document_types: tuple[str, ...] = ("ID",),
) -> x509.Certificate:
    """A document signer built like the real CCCD ones (issuer URLs and document types adjustable for
    tests that serve the CSCA themselves)."""
    issuer_ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject or rdn_name(EID_DSC_NAME))
        .issuer_name(issuer_cert.subject)
        .public_key(public_key)
        .serial_number(serial or SERIALS["dsc-vietnam-test"])
        .not_valid_before(DSC_VALIDITY[0])
        .not_valid_after(DSC_VALIDITY[1])
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
        .add_extension(private_key_usage_period(*EID_DSC_KEY_USAGE_PERIOD), critical=False)
        .add_extension(
            x509.AuthorityInformationAccess(
                [x509.AccessDescription(x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                                        x509.UniformResourceIdentifier(u)) for u in ca_issuers]
            ),
            critical=False,
        )
        .add_extension(crl_distribution_points(crls), critical=False)
    )
    if document_types:
        builder = builder.add_extension(document_type_list(*document_types), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def csca_cert(
    key: ec.EllipticCurvePrivateKey, subject: x509.Name, serial: int, digest: hashes.HashAlgorithm
) -> x509.Certificate:
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(CSCA_VALIDITY[0])
        .not_valid_after(CSCA_VALIDITY[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, digest)
    )


def signer_cert(
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    subject: x509.Name,
    serial: int,
    issuer_key: ec.EllipticCurvePrivateKey,
    issuer_cert: x509.Certificate,
    validity: tuple[dt.datetime, dt.datetime],
    digest: hashes.HashAlgorithm,
) -> x509.Certificate:
    issuer_ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski), critical=False
        )
        .sign(issuer_key, digest)
    )


def with_explicit_curve(
    cert: x509.Certificate, issuer_key: ec.EllipticCurvePrivateKey, digest: hashes.HashAlgorithm
) -> bytes:
    """Rewrite a brainpoolP256r1 certificate so its key carries explicit curve parameters, and re-sign.

    Several issuers' document signers look like this; ``cryptography`` cannot load such keys, so the
    verifier maps them back to the named curve. The builder cannot produce them, hence the ASN.1 edit.
    """
    import ecdsa

    curve = ecdsa.curves.BRAINPOOLP256r1
    size = 32
    g = curve.generator
    domain = akeys.SpecifiedECDomain(
        {
            "version": "ecdpVer1",
            "field_id": {"field_type": "prime_field", "parameters": curve.curve.p()},
            "curve": {
                "a": curve.curve.a().to_bytes(size, "big"),
                "b": curve.curve.b().to_bytes(size, "big"),
            },
            "base": b"\x04" + g.x().to_bytes(size, "big") + g.y().to_bytes(size, "big"),
            "order": curve.order,
            "cofactor": 1,
        }
    )
    parsed = ax509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    tbs = parsed["tbs_certificate"]
    spki = tbs["subject_public_key_info"]
    point = spki["public_key"].native
    new_spki = akeys.PublicKeyInfo(
        {
            "algorithm": {"algorithm": "ec", "parameters": akeys.ECDomainParameters({"specified": domain})},
            "public_key": point,
        }
    )
    new_tbs = tbs.copy()
    new_tbs["subject_public_key_info"] = new_spki
    signature = issuer_key.sign(new_tbs.dump(), ec.ECDSA(digest))
    new_cert = ax509.Certificate(
        {
            "tbs_certificate": new_tbs,
            "signature_algorithm": parsed["signature_algorithm"],
            "signature_value": signature,
        }
    )
    return bytes(new_cert.dump())


def crl(
    issuer_key: ec.EllipticCurvePrivateKey, issuer_cert: x509.Certificate, revoked_serial: int
) -> x509.CertificateRevocationList:
    issuer_ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    entry = (
        x509.RevokedCertificateBuilder()
        .serial_number(revoked_serial)
        .revocation_date(REVOKED_AT)
        .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
        .build()
    )
    return (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer_cert.subject)
        .last_update(CRL_THIS_UPDATE)
        .next_update(CRL_NEXT_UPDATE)
        .add_revoked_certificate(entry)
        .add_extension(x509.CRLNumber(1), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski), critical=False
        )
        .sign(issuer_key, hashes.SHA384())
    )


def main(new_keys: bool = False) -> None:
    trust, certs, keys = HERE / "trust", HERE / "certs", HERE / "keys"
    for folder in (trust, certs, keys):
        folder.mkdir(exist_ok=True)

    def keep_or(label: str, make: Any) -> Any:
        path = keys / f"{label}.key"
        if path.exists() and not new_keys:
            return serialization.load_pem_private_key(path.read_bytes(), None)
        return make()

    def save(folder: Path, filename: str, data: bytes) -> None:
        (folder / filename).write_bytes(data)

    # the test CSCA of the fictional "VN test" issuer, and a second, unrelated CSCA
    csca_key = keep_or("csca-vn-test", lambda: ec.generate_private_key(ec.BrainpoolP384R1()))
    csca_name = name("VN", "CSCA VN test - TEST ONLY")
    csca = csca_cert(csca_key, csca_name, SERIALS["csca-vn-test"], hashes.SHA384())
    other_key = keep_or("csca-other", lambda: ec.generate_private_key(ec.SECP256R1()))
    other_name = name("ZZ", "CSCA Other test - TEST ONLY")
    other = csca_cert(other_key, other_name, SERIALS["csca-other"], hashes.SHA256())
    save(trust, "csca-vn-test.pem", cert_pem(csca))
    save(keys, "csca-vn-test.key", key_pem(csca_key))
    save(certs, "csca-other.pem", cert_pem(other))
    save(keys, "csca-other.key", key_pem(other_key))

    def issue(
        label: str,
        key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
        common_name: str,
        *,
        validity: tuple[dt.datetime, dt.datetime] = DSC_VALIDITY,
        by: tuple[ec.EllipticCurvePrivateKey, x509.Certificate] = (csca_key, csca),
        digest: hashes.HashAlgorithm | None = None,
    ) -> x509.Certificate:
        country = by[1].subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value
        cert = signer_cert(
            key.public_key(),
            name(str(country), common_name),
            SERIALS[label],
            by[0],
            by[1],
            validity,
            digest or (hashes.SHA384() if by[1] is csca else hashes.SHA256()),
        )
        save(certs, f"{label}.pem", cert_pem(cert))
        save(keys, f"{label}.key", key_pem(key))
        return cert

    def p256() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    issue(
        "dsc-ecdsa",
        keep_or("dsc-ecdsa", lambda: ec.generate_private_key(ec.BrainpoolP256R1())),
        "DS VN test ECDSA - TEST ONLY",
    )
    issue(
        "dsc-rsa",
        keep_or("dsc-rsa", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "DS VN test RSA - TEST ONLY",
    )
    issue(
        "dsc-expired",
        keep_or("dsc-expired", p256),
        "DS VN test expired - TEST ONLY",
        validity=EXPIRED_VALIDITY,
    )
    revoked = issue("dsc-revoked", keep_or("dsc-revoked", p256), "DS VN test revoked - TEST ONLY")
    explicit_key = keep_or("dsc-explicit", lambda: ec.generate_private_key(ec.BrainpoolP256R1()))
    explicit = issue("dsc-explicit", explicit_key, "DS VN test explicit curve - TEST ONLY")
    save(
        certs,
        "dsc-explicit.pem",
        ax509_pem(with_explicit_curve(explicit, csca_key, hashes.SHA384())),
    )
    issue("mls", keep_or("mls", p256), "Master List Signer VN test - TEST ONLY")
    issue(
        "dsc-other",
        keep_or("dsc-other", p256),
        "DS Other test - TEST ONLY",
        by=(other_key, other),
    )

    revocation_list = crl(csca_key, csca, revoked.serial_number)
    save(trust, "csca-vn-test.crl", revocation_list.public_bytes(serialization.Encoding.DER))

    # the pair built like the real CCCD PKI (what the default sample chips are signed with)
    eid_key = keep_or("csca-vietnam-test", lambda: ec.generate_private_key(ec.BrainpoolP384R1()))
    eid = eid_csca_cert(eid_key)
    save(trust, "csca-vietnam-test.pem", cert_pem(eid))
    save(keys, "csca-vietnam-test.key", key_pem(eid_key))
    eid_dsc_key = keep_or("dsc-vietnam-test", lambda: ec.generate_private_key(ec.BrainpoolP384R1()))
    save(certs, "dsc-vietnam-test.pem", cert_pem(eid_dsc_cert(eid_dsc_key.public_key(), eid_key, eid)))
    save(keys, "dsc-vietnam-test.key", key_pem(eid_dsc_key))
    eid_crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(eid.subject)
        .last_update(CRL_THIS_UPDATE)
        .next_update(CRL_NEXT_UPDATE)
        .add_extension(x509.CRLNumber(1), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                eid.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            ),
            critical=False,
        )
        .sign(eid_key, hashes.SHA256())
    )
    save(certs, "csca-vietnam-test.crl", eid_crl.public_bytes(serialization.Encoding.DER))


def ax509_pem(der: bytes) -> bytes:
    from asn1crypto import pem

    return bytes(pem.armor("CERTIFICATE", der))


if __name__ == "__main__":
    main(new_keys="--new-keys" in sys.argv[1:])
