"""Issuing: signing EF.SOD, EF.CardSecurity and CSCA master lists, as a document issuer does.

The emulator personalizes its chips with these and tests build their own signed material; a reader needs
none of it, so it lives apart from ``verify`` (which only checks signatures). The encoding follows the
same rules the verifier checks (RFC 5652 SignedData with ICAO signed attributes, ICAO 9303-10 and -12).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping

from asn1crypto import algos, cms, core, x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from cccd_reader.errors import InputError
from cccd_reader.iso7816.tlv import encode_tlv
from cccd_reader.lds.sod import DIGEST_SIZES, LDS_SECURITY_OBJECT_OID, encode_lds_security_object
from cccd_reader.verify.signing import digest, hash_for
from cccd_reader.verify.trust import MASTER_LIST_OID, CscaMasterList

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
SIGNATURE_ALGORITHMS = ("ecdsa", "rsa-pkcs1v15", "rsassa-pss")


def _as_asn1_cert(cert: cx509.Certificate | bytes) -> x509.Certificate:
    der = cert.public_bytes(serialization.Encoding.DER) if isinstance(cert, cx509.Certificate) else cert
    if der[:1] == b"-":
        der = cx509.load_pem_x509_certificate(der).public_bytes(serialization.Encoding.DER)
    return x509.Certificate.load(der)


def _signature_algorithm(key: SigningKey, name: str | None, hash_name: str) -> algos.SignedDigestAlgorithm:
    if name is None:
        name = "ecdsa" if isinstance(key, ec.EllipticCurvePrivateKey) else "rsa-pkcs1v15"
    if name not in SIGNATURE_ALGORITHMS:
        raise InputError(f"signature_algorithm must be one of {', '.join(SIGNATURE_ALGORITHMS)}")
    if (name == "ecdsa") != isinstance(key, ec.EllipticCurvePrivateKey):
        raise InputError(f"signature algorithm {name} does not fit the signer key type")
    if name == "ecdsa":
        return algos.SignedDigestAlgorithm({"algorithm": f"{hash_name}_ecdsa"})
    if name == "rsa-pkcs1v15":
        return algos.SignedDigestAlgorithm({"algorithm": f"{hash_name}_rsa", "parameters": core.Null()})
    return algos.SignedDigestAlgorithm(
        {
            "algorithm": "rsassa_pss",
            "parameters": algos.RSASSAPSSParams(
                {
                    "hash_algorithm": {"algorithm": hash_name},
                    "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": hash_name}},
                    "salt_length": DIGEST_SIZES[hash_name],
                    "trailer_field": "trailer_field_bc",
                }
            ),
        }
    )


def _sign(key: SigningKey, name: str, hash_name: str, data: bytes) -> bytes:
    h = hash_for(hash_name)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        # RFC 6979 deterministic nonces: the same inputs give the same EF.SOD, so traces replay exactly.
        return key.sign(data, ec.ECDSA(h, deterministic_signing=True))
    if name == "rsassa-pss":
        return key.sign(data, padding.PSS(mgf=padding.MGF1(h), salt_length=DIGEST_SIZES[hash_name]), h)
    return key.sign(data, padding.PKCS1v15(), h)


def build_signed_data(
    econtent_type: str,
    econtent: bytes,
    *,
    signer_key: SigningKey,
    signer_cert: cx509.Certificate | bytes,
    hash_algorithm: str = "sha256",
    signature_algorithm: str | None = None,
    signing_time: _dt.datetime | None = None,
    extra_certificates: Iterable[cx509.Certificate | bytes] = (),
) -> bytes:
    """DER ContentInfo/SignedData over ``econtent`` with ICAO-style signed attributes (RFC 5652, 9303-10)."""
    if hash_algorithm not in DIGEST_SIZES:
        raise InputError(f"unsupported hash algorithm {hash_algorithm!r}")
    if not isinstance(signer_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise InputError("signer_key must be an RSA or EC private key")
    sig_alg = _signature_algorithm(signer_key, signature_algorithm, hash_algorithm)
    sig_name = signature_algorithm or ("ecdsa" if isinstance(signer_key, ec.EllipticCurvePrivateKey) else "")
    cert = _as_asn1_cert(signer_cert)

    attrs = [
        {"type": "content_type", "values": [econtent_type]},
        {"type": "message_digest", "values": [digest(hash_algorithm, econtent)]},
    ]
    if signing_time is not None:
        when = signing_time if signing_time.tzinfo else signing_time.replace(tzinfo=_dt.UTC)
        attrs.append({"type": "signing_time", "values": [cms.Time({"utc_time": when.astimezone(_dt.UTC)})]})
    signed_attrs = cms.CMSAttributes(attrs)
    to_sign = b"\x31" + signed_attrs.dump()[1:]
    signature = _sign(signer_key, sig_name, hash_algorithm, to_sign)

    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                        {"issuer": cert.issuer, "serial_number": cert.serial_number}
                    )
                }
            ),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": hash_algorithm}),
            "signed_attrs": signed_attrs,
            "signature_algorithm": sig_alg,
            "signature": signature,
        }
    )
    certificates = [cert, *(_as_asn1_cert(c) for c in extra_certificates)]
    signed_data = cms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": hash_algorithm})],
            "encap_content_info": {
                "content_type": econtent_type,
                "content": core.ParsableOctetString(econtent),
            },
            "certificates": certificates,
            "signer_infos": [signer_info],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump())


def build_sod(
    dg_bytes: Mapping[int, bytes],
    *,
    signer_key: SigningKey,
    signer_cert: cx509.Certificate | bytes,
    hash_algorithm: str = "sha256",
    signature_algorithm: str | None = None,
    lds_version: str | None = None,
    unicode_version: str = "040000",
    signing_time: _dt.datetime | None = None,
) -> bytes:
    """EF.SOD (tag 77) over the given data groups, signed by the Document Signer ``signer_key``.

    ``dg_bytes`` maps DG number to the complete DG file (tag included), exactly as the chip serves it.
    ``signature_algorithm`` is "ecdsa" (default for EC keys, RFC 6979 nonces), "rsa-pkcs1v15" (default
    for RSA keys) or "rsassa-pss". ``signing_time`` adds the CMS signing-time attribute, which verifiers
    use as the moment to check certificate validity.
    """
    for number in dg_bytes:
        if not isinstance(number, int) or not 1 <= number <= 16:
            raise InputError(f"data group number {number!r} is not 1..16")
    if hash_algorithm not in DIGEST_SIZES:
        raise InputError(f"unsupported hash algorithm {hash_algorithm!r}")
    hashes_ = {n: digest(hash_algorithm, bytes(b)) for n, b in dg_bytes.items()}
    lso = encode_lds_security_object(
        hashes_, hash_algorithm=hash_algorithm, lds_version=lds_version, unicode_version=unicode_version
    )
    content_info = build_signed_data(
        LDS_SECURITY_OBJECT_OID,
        lso,
        signer_key=signer_key,
        signer_cert=signer_cert,
        hash_algorithm=hash_algorithm,
        signature_algorithm=signature_algorithm,
        signing_time=signing_time,
    )
    return encode_tlv(0x77, content_info)


def build_master_list(
    certificates: Iterable[cx509.Certificate | bytes],
    *,
    signer_key: SigningKey,
    signer_cert: cx509.Certificate | bytes,
    hash_algorithm: str = "sha256",
    signature_algorithm: str | None = None,
    signing_time: _dt.datetime | None = None,
) -> bytes:
    """An ICAO CSCA master list (9303-12 §9): SignedData over CscaMasterList {version 0, certList}."""
    cert_list = [_as_asn1_cert(c) for c in certificates]
    content = CscaMasterList({"version": 0, "cert_list": cert_list}).dump()
    return build_signed_data(
        MASTER_LIST_OID,
        bytes(content),
        signer_key=signer_key,
        signer_cert=signer_cert,
        hash_algorithm=hash_algorithm,
        signature_algorithm=signature_algorithm,
        signing_time=signing_time,
    )


__all__ = [
    "SIGNATURE_ALGORITHMS",
    "SigningKey",
    "build_master_list",
    "build_signed_data",
    "build_sod",
]
