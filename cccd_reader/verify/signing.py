"""Signature algorithms for passive authentication: making an EF.SOD and checking CMS/X.509 signatures.

Why a module of its own: ePassport PKIs use every variant the standards allow (RSA PKCS#1 v1.5, RSASSA-PSS
with explicit parameters, ECDSA in DER or in the BSI "plain" r||s format, rsaEncryption or ecPublicKey
where a signature OID belongs, keys on brainpool curves and keys whose curve is spelled out as explicit
parameters). ``cryptography`` refuses explicit curves and knows only some brainpool curves, so public
keys are loaded here from the SubjectPublicKeyInfo: explicit parameters are matched to the named curve
they describe, and curves ``cryptography`` lacks are verified with the pure-Python ``ecdsa`` package.

The signing half (``build_sod``, ``build_master_list``) exists so the emulator can personalize a chip and
tests can build master lists with the same encoding rules the verifier checks.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from asn1crypto import algos, cms, core, keys, x509
from cryptography import x509 as cx509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from cccd_reader.errors import InputError, VerificationError
from cccd_reader.lds.sod import (
    DIGEST_SIZES,
    LDS_SECURITY_OBJECT_OID,
    SignedAttributes,
    encode_lds_security_object,
)

# --- hashes ------------------------------------------------------------------------------------------

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def hash_for(name: str) -> hashes.HashAlgorithm:
    """The ``cryptography`` hash for an asn1crypto digest name ("sha256"); VerificationError if unknown."""
    cls = _HASHES.get(name)
    if cls is None:
        raise VerificationError(f"unsupported digest algorithm {name!r}")
    return cls()


def digest(name: str, data: bytes) -> bytes:
    """Hash ``data`` with the digest named as in ASN.1 ("sha256")."""
    if name not in _HASHES:
        raise VerificationError(f"unsupported digest algorithm {name!r}")
    return hashlib.new(name, data).digest()


# --- public keys -------------------------------------------------------------------------------------

# ecdsa curve name -> cryptography curve, for the curves OpenSSL implements (faster, constant-time).
_CRYPTOGRAPHY_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "NIST192p": ec.SECP192R1,
    "NIST224p": ec.SECP224R1,
    "NIST256p": ec.SECP256R1,
    "NIST384p": ec.SECP384R1,
    "NIST521p": ec.SECP521R1,
    "BRAINPOOLP256r1": ec.BrainpoolP256R1,
    "BRAINPOOLP384r1": ec.BrainpoolP384R1,
    "BRAINPOOLP512r1": ec.BrainpoolP512R1,
}


@dataclass(frozen=True)
class EcdsaFallbackKey:
    """An EC public key on a curve ``cryptography`` does not implement (e.g. brainpoolP224r1).

    Verified with the pure-Python ``ecdsa`` package; only public-key operations happen here, so its lack
    of constant-time arithmetic does not matter.
    """

    curve_name: str
    verifying_key: Any


VerifyKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | EcdsaFallbackKey


def _ecdsa_curves() -> list[Any]:
    import ecdsa

    return list(ecdsa.curves.curves)


def _curve_for_explicit(params: Any) -> Any:
    """The ecdsa curve whose (p, a, b, n, G) equal the explicit SpecifiedECDomain, else None."""
    field_id = params["field_id"]
    if field_id["field_type"].native != "prime_field":
        return None
    p = int(field_id["parameters"].native)
    a = int.from_bytes(params["curve"]["a"].native, "big")
    b = int.from_bytes(params["curve"]["b"].native, "big")
    n = int(params["order"].native)
    base = bytes(params["base"].native)
    for curve in _ecdsa_curves():
        c = curve.curve
        if not hasattr(c, "p") or not callable(getattr(c, "a", None)):
            continue
        try:
            if c.p() != p or c.a() % p != a % p or c.b() % p != b % p or curve.order != n:
                continue
            g = curve.generator
            size = (p.bit_length() + 7) // 8
            if base[:1] == b"\x04":
                if base[1:] != g.x().to_bytes(size, "big") + g.y().to_bytes(size, "big"):
                    continue
            elif base[:1] in (b"\x02", b"\x03"):
                if base[1:] != g.x().to_bytes(size, "big"):
                    continue
            else:
                continue
        except (AttributeError, TypeError, ValueError):
            continue
        return curve
    return None


def _curve_for_oid(oid: str) -> Any:
    for curve in _ecdsa_curves():
        if ".".join(str(x) for x in getattr(curve, "oid", ())) == oid:
            return curve
    return None


def _ec_key(curve: Any, point: bytes) -> VerifyKey:
    cls = _CRYPTOGRAPHY_CURVES.get(curve.name)
    try:
        if cls is not None:
            return ec.EllipticCurvePublicKey.from_encoded_point(cls(), point)
        import ecdsa

        vk = ecdsa.VerifyingKey.from_string(point, curve=curve)
        return EcdsaFallbackKey(curve_name=str(curve.name), verifying_key=vk)
    except Exception as exc:
        raise VerificationError(f"the EC public point is not on {curve.name}") from exc


def load_public_key(spki_der: bytes) -> VerifyKey:
    """Public key from a DER SubjectPublicKeyInfo, including explicit-parameter and brainpool EC keys."""
    try:
        key = serialization.load_der_public_key(spki_der)
    except (UnsupportedAlgorithm, ValueError):
        key = None
    if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        return key
    try:
        spki = keys.PublicKeyInfo.load(spki_der, strict=True)
        algorithm = spki["algorithm"]["algorithm"].native
        if algorithm != "ec":
            raise VerificationError(f"unsupported public key algorithm {algorithm}")
        params = spki["algorithm"]["parameters"]
        point = bytes(spki["public_key"].native)
        if params.name == "named":
            curve = _curve_for_oid(params.chosen.dotted)
        elif params.name == "specified":
            curve = _curve_for_explicit(params.chosen)
        else:
            curve = None
    except VerificationError:
        raise
    except Exception as exc:
        raise VerificationError("malformed public key") from exc
    if curve is None:
        raise VerificationError("the EC public key is on a curve this library does not know")
    return _ec_key(curve, point)


def certificate_public_key(cert_der: bytes) -> VerifyKey:
    try:
        spki = x509.Certificate.load(cert_der)["tbs_certificate"]["subject_public_key_info"].dump()
    except Exception as exc:
        raise VerificationError("malformed certificate") from exc
    return load_public_key(bytes(spki))


# --- signature checking -----------------------------------------------------------------------------

_PLAIN_ECDSA = {  # BSI TR-03111 ecdsa-plain-signatures: r || s instead of a DER SEQUENCE
    "0.4.0.127.0.7.1.1.4.1.1": "sha1",
    "0.4.0.127.0.7.1.1.4.1.2": "sha224",
    "0.4.0.127.0.7.1.1.4.1.3": "sha256",
    "0.4.0.127.0.7.1.1.4.1.4": "sha384",
    "0.4.0.127.0.7.1.1.4.1.5": "sha512",
}
_EC_PUBLIC_KEY_OID = "1.2.840.10045.2.1"  # some issuers put the key OID where the signature OID belongs


def _pss_parameters(params: Any) -> tuple[str, str, int]:
    if params is None or isinstance(params, core.Void) or params.native is None:
        return "sha1", "sha1", 20  # RFC 4055 defaults
    hash_name = str(params["hash_algorithm"]["algorithm"].native)
    mgf = params["mask_gen_algorithm"]
    if mgf["algorithm"].native != "mgf1":
        raise VerificationError("RSASSA-PSS with a mask generation function other than MGF1")
    mgf_hash = str(mgf["parameters"]["algorithm"].native)
    salt = int(params["salt_length"].native)
    trailer = params["trailer_field"].native
    if trailer not in ("trailer_field_bc", 1):
        raise VerificationError("RSASSA-PSS with an unsupported trailer field")
    return hash_name, mgf_hash, salt


def verify_signature(
    key: VerifyKey,
    signature_algorithm_der: bytes,
    signature: bytes,
    data: bytes,
    *,
    digest_algorithm: str | None = None,
) -> bool:
    """True if ``signature`` over ``data`` verifies; False if it does not.

    ``digest_algorithm`` supplies the hash when the algorithm identifier does not name one (CMS
    signerInfos that say just rsaEncryption or ecPublicKey). Raises VerificationError when the check
    cannot be made at all (unknown algorithm, key of the wrong type, nonsensical parameters).
    """
    try:
        return _verify_signature(key, signature_algorithm_der, signature, data, digest_algorithm)
    except VerificationError:
        raise
    except (ValueError, TypeError, OverflowError, UnsupportedAlgorithm) as exc:
        # e.g. a PSS salt longer than the modulus allows: the parameters come from untrusted bytes
        raise VerificationError(f"signature parameters are not usable ({type(exc).__name__})") from None


def _verify_signature(
    key: VerifyKey,
    signature_algorithm_der: bytes,
    signature: bytes,
    data: bytes,
    digest_algorithm: str | None,
) -> bool:
    try:
        alg = algos.SignedDigestAlgorithm.load(signature_algorithm_der)
        oid = alg["algorithm"].dotted
        name = str(alg["algorithm"].native)
        params = alg["parameters"]
    except Exception as exc:
        raise VerificationError("malformed signature algorithm identifier") from exc

    if name == "rsassa_pss":
        hash_name, mgf_hash, salt = _pss_parameters(params)
        if not isinstance(key, rsa.RSAPublicKey):
            raise VerificationError("RSASSA-PSS signature but the key is not RSA")
        try:
            key.verify(
                signature,
                data,
                padding.PSS(mgf=padding.MGF1(hash_for(mgf_hash)), salt_length=salt),
                hash_for(hash_name),
            )
        except InvalidSignature:
            return False
        return True

    if name == "rsassa_pkcs1v15" or name.endswith("_rsa"):
        hash_name = name[: -len("_rsa")] if name.endswith("_rsa") else (digest_algorithm or "")
        if not isinstance(key, rsa.RSAPublicKey):
            raise VerificationError("RSA signature but the key is not RSA")
        try:
            key.verify(signature, data, padding.PKCS1v15(), hash_for(hash_name))
        except InvalidSignature:
            return False
        return True

    plain = oid in _PLAIN_ECDSA
    if name.endswith("_ecdsa") or name == "ecdsa" or oid == _EC_PUBLIC_KEY_OID or plain:
        if plain:
            hash_name = _PLAIN_ECDSA[oid]
        elif name.endswith("_ecdsa"):
            hash_name = name[: -len("_ecdsa")]
        else:
            hash_name = digest_algorithm or ""
        return _verify_ecdsa(key, signature, data, hash_name, plain=plain)

    raise VerificationError(f"unsupported signature algorithm {name}")


def _verify_ecdsa(key: VerifyKey, signature: bytes, data: bytes, hash_name: str, *, plain: bool) -> bool:
    if isinstance(key, rsa.RSAPublicKey):
        raise VerificationError("ECDSA signature but the key is RSA")
    hash_alg = hash_for(hash_name)
    if plain:
        if not signature or len(signature) % 2:
            return False
        half = len(signature) // 2
        r = int.from_bytes(signature[:half], "big")
        s = int.from_bytes(signature[half:], "big")
        if r == 0 or s == 0:
            return False
        signature = utils.encode_dss_signature(r, s)
    if isinstance(key, EcdsaFallbackKey):
        import ecdsa
        import ecdsa.util

        try:
            return bool(
                key.verifying_key.verify(
                    signature, data, hashfunc=getattr(hashlib, hash_name), sigdecode=ecdsa.util.sigdecode_der
                )
            )
        except (ecdsa.BadSignatureError, ecdsa.der.UnexpectedDER, ValueError):
            return False
    try:
        key.verify(signature, data, ec.ECDSA(hash_alg))
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class CMSSignatureCheck:
    """Outcome of checking one CMS signerInfo: the attributes and the signature itself."""

    valid: bool
    message_digest_ok: bool | None
    content_type_ok: bool | None
    reason: str | None = None


def check_cms_signature(
    key: VerifyKey,
    *,
    econtent: bytes,
    econtent_type: str,
    signed_attributes: SignedAttributes | None,
    digest_algorithm: str,
    signature_algorithm_der: bytes,
    signature: bytes,
) -> CMSSignatureCheck:
    """RFC 5652 §5.4/§5.6: content-type and message-digest attributes, then the signature.

    With signed attributes the signature covers their DER SET; without them it covers the content.
    """
    if signed_attributes is None:
        try:
            ok = verify_signature(
                key, signature_algorithm_der, signature, econtent, digest_algorithm=digest_algorithm
            )
        except VerificationError as exc:
            return CMSSignatureCheck(False, None, None, str(exc))
        return CMSSignatureCheck(ok, None, None, None if ok else "the signature does not verify")

    reasons: list[str] = []
    if signed_attributes.duplicate_types:
        reasons.append("a signed attribute is repeated or has several values")
    content_type_ok = signed_attributes.content_type == econtent_type
    if not content_type_ok:
        reasons.append("the content-type attribute does not name the signed content")
    try:
        expected = digest(digest_algorithm, econtent)
    except VerificationError as exc:
        return CMSSignatureCheck(False, None, content_type_ok, str(exc))
    md_ok = signed_attributes.message_digest == expected
    if not md_ok:
        reasons.append("the message-digest attribute does not match the signed content")
    try:
        sig_ok = verify_signature(
            key, signature_algorithm_der, signature, signed_attributes.der, digest_algorithm=digest_algorithm
        )
    except VerificationError as exc:
        return CMSSignatureCheck(False, md_ok, content_type_ok, str(exc))
    if not sig_ok:
        reasons.append("the signature does not verify with the signer's public key")
    valid = sig_ok and md_ok and content_type_ok and not signed_attributes.duplicate_types
    return CMSSignatureCheck(valid, md_ok, content_type_ok, "; ".join(reasons) or None)


# --- signing (personalization and test material) ----------------------------------------------------

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
    from cccd_reader.iso7816.tlv import encode_tlv

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
    from cccd_reader.verify.trust import MASTER_LIST_OID, CscaMasterList

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
    "CMSSignatureCheck",
    "EcdsaFallbackKey",
    "VerifyKey",
    "build_master_list",
    "build_signed_data",
    "build_sod",
    "certificate_public_key",
    "check_cms_signature",
    "digest",
    "hash_for",
    "load_public_key",
    "verify_signature",
]
