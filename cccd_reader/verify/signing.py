"""Signature algorithms for passive authentication: making an EF.SOD and checking CMS/X.509 signatures.

Why a module of its own: ePassport PKIs use every variant the standards allow (RSA PKCS#1 v1.5, RSASSA-PSS
with explicit parameters, ECDSA in DER or in the BSI "plain" r||s format, rsaEncryption or ecPublicKey
where a signature OID belongs, keys on brainpool curves and keys whose curve is spelled out as explicit
parameters). ``cryptography`` refuses explicit curves and knows only some brainpool curves, so public
keys are loaded here from the SubjectPublicKeyInfo: explicit parameters are matched to the named curve
they describe, and curves ``cryptography`` lacks are verified with the pure-Python ``ecdsa`` package.

Signing (``build_sod``, ``build_signed_data``, ``build_master_list``) lives in :mod:`cccd_reader.issue`;
the old names here still work and warn.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from asn1crypto import algos, core, keys, x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from cccd_reader._lazy import moved_names
from cccd_reader.errors import VerificationError
from cccd_reader.lds.sod import (
    SignedAttributes,
    SignedContent,
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


def check_signed_content(key: VerifyKey, content: SignedContent) -> CMSSignatureCheck:
    """:func:`check_cms_signature` over a decoded SignedData (EF.SOD, EF.CardSecurity, a master list):
    the one place the signature of a :class:`~cccd_reader.lds.sod.SignedContent` is checked."""
    return check_cms_signature(
        key,
        econtent=content.econtent,
        econtent_type=content.econtent_type,
        signed_attributes=content.signed_attributes,
        digest_algorithm=content.digest_algorithm,
        signature_algorithm_der=content.signature_algorithm_der,
        signature=content.signature,
    )


# moved to cccd_reader.issue.signing (the issuer's side); the old names keep working, with a warning
__getattr__ = moved_names(__name__, {
    "SIGNATURE_ALGORITHMS": "cccd_reader.issue.signing",
    "SigningKey": "cccd_reader.issue.signing",
    "build_master_list": "cccd_reader.issue.signing",
    "build_signed_data": "cccd_reader.issue.signing",
    "build_sod": "cccd_reader.issue.signing",
})

__all__ = [
    "CMSSignatureCheck",
    "EcdsaFallbackKey",
    "VerifyKey",
    "certificate_public_key",
    "check_cms_signature",
    "check_signed_content",
    "digest",
    "hash_for",
    "load_public_key",
    "verify_signature",
]
