"""SecurityInfos / EF.CardAccess / DG14 / EF.CardSecurity, pinned to the ICAO and BSI sample files in the
vectors, to the CCCD EF.CardAccess published by CCCD apps, and fuzzed for totality."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from datetime import UTC

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cccd_reader.crypto.dh import STANDARD_DH_DOMAINS
from cccd_reader.crypto.ec import STANDARD_EC_DOMAINS, ECDomain, domain_from_parameters
from cccd_reader.errors import ParseError
from cccd_reader.lds.security_infos import (
    DG14,
    ActiveAuthenticationInfo,
    CardSecurity,
    ChipAuthenticationDomainParameterInfo,
    ChipAuthenticationInfo,
    ChipAuthenticationPublicKeyInfo,
    PACEDomainParameterInfo,
    PACEInfo,
    PublicKeyInfo,
    SecurityInfos,
    TerminalAuthenticationInfo,
    UnknownSecurityInfo,
    decode_public_key_info,
    parse_card_access,
)

CCCD_BRAINPOOL = bytes.fromhex(
    "3134300d060804007f0007020202020101300f060a04007f000702020302020201013012060a04007f0007020204020202010202010d")
CCCD_P256 = CCCD_BRAINPOOL[:-1] + b"\x0c"


def lds(vectors, ef: str, contains: str = ""):
    return [f for f in vectors["lds_files"]["files"] if f["ef"] == ef and contains in f["name"]]


def rebuilt(infos: SecurityInfos) -> bytes:
    """Encode from the fields alone (raw bytes dropped): must give the same DER."""
    fresh = tuple(i if isinstance(i, UnknownSecurityInfo) else dataclasses.replace(i, raw=None)
                  for i in infos)
    return SecurityInfos(fresh).encode()


def test_card_access_vectors(vectors):
    expected = {
        "ICAO G.1": ("0.4.0.127.0.7.2.2.4.2.2", 13),
        "ICAO G.2": ("0.4.0.127.0.7.2.2.4.1.2", 0),
        "ICAO I.1": ("0.4.0.127.0.7.2.2.4.6.2", 13),
        "BSI EAC": ("0.4.0.127.0.7.2.2.4.2.2", 13),
    }
    files = lds(vectors, "EF.CardAccess")
    assert len(files) == 4
    for f in files:
        data = bytes.fromhex(f["hex"])
        infos = parse_card_access(data)
        assert infos.encode() == data
        assert rebuilt(infos) == data
        (pace,) = infos.pace_infos
        tag = next(k for k in expected if k in f["name"])
        assert (pace.protocol, pace.parameter_id, pace.version) == (*expected[tag], 2)
        assert pace.algorithm is not None


def test_bsi_card_access_keeps_everything(vectors):
    (f,) = lds(vectors, "EF.CardAccess", "BSI")
    infos = parse_card_access(bytes.fromhex(f["hex"]))
    kinds = [type(i) for i in infos]
    assert kinds == [TerminalAuthenticationInfo, ChipAuthenticationInfo, PACEInfo,
                     ChipAuthenticationDomainParameterInfo, UnknownSecurityInfo, UnknownSecurityInfo]
    ta, ca, _pace, cadp, url, privileged = infos
    assert ta.version == 2
    assert (ca.protocol, ca.version, ca.key_id, ca.cipher, ca.key_agreement) == (
        "0.4.0.127.0.7.2.2.3.2.2", 2, 1, "AES-128", "ECDH")
    assert cadp.domain_parameter.parameter_id == 13
    assert cadp.domain_parameter.ec_domain.name == "brainpoolP256r1"
    assert url.protocol == "0.4.0.127.0.7.2.2.6" and b"hjp-consulting" in url.raw
    assert privileged.protocol == "0.4.0.127.0.7.2.2.8" and privileged.reason is None


def test_cccd_card_access():
    for data, pid, curve in ((CCCD_BRAINPOOL, 13, "brainpoolP256r1"), (CCCD_P256, 12, "secp256r1")):
        infos = parse_card_access(data)
        assert infos.encode() == data and rebuilt(infos) == data
        ta, ca, pace = infos
        assert isinstance(ta, TerminalAuthenticationInfo) and ta.version == 1
        assert ca.protocol == "0.4.0.127.0.7.2.2.3.2.2" and ca.version == 1 and ca.key_id is None
        assert pace.algorithm.name == "id-PACE-ECDH-GM-AES-CBC-CMAC-128" and pace.parameter_id == pid
        assert STANDARD_EC_DOMAINS[pid].name == curve


def test_lenient_pace_infos():
    no_param = PACEInfo("0.4.0.127.0.7.2.2.4.2.2", 2)
    two = SecurityInfos((no_param, PACEInfo("0.4.0.127.0.7.2.2.4.1.4", 2, 2)))
    data = two.encode()
    back = parse_card_access(data)
    assert back.pace_infos == two.pace_infos and back.pace_infos[0].parameter_id is None
    # a PACE OID with a broken body is kept as unknown, with the reason; the good one still parses
    broken = bytes.fromhex("300c060a04007f00070202040202")  # no version
    mixed = bytes([0x31, len(broken) + len(no_param.encode())]) + broken + no_param.encode()
    infos = parse_card_access(mixed)
    assert isinstance(infos.infos[0], UnknownSecurityInfo) and infos.infos[0].reason
    assert infos.pace_infos == (no_param,)
    # trailing padding after the SET is tolerated, anything else is not
    assert parse_card_access(data + b"\x00\x00").pace_infos == two.pace_infos
    with pytest.raises(ParseError):
        parse_card_access(data + b"\x01")


def test_non_der_lengths_round_trip():
    info = PACEInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 13).encode()
    long_form = bytes([0x31, 0x81, len(info)]) + info  # a non-minimal length
    infos = parse_card_access(long_form)
    assert infos.encode() == long_form and infos.pace_infos[0].parameter_id == 13


def test_dg14_bsi(vectors):
    (f,) = lds(vectors, "EF.DG14")
    data = bytes.fromhex(f["hex"])
    assert hashlib.sha256(data).hexdigest().upper() == f["sha256"]
    dg14 = DG14.decode(data)
    assert dg14.encode() == data
    assert rebuilt(dg14.security_infos) == dg14.security_infos.encode()
    (pk,) = dg14.security_infos.chip_authentication_public_keys
    assert pk.protocol == "0.4.0.127.0.7.2.2.1.2" and pk.key_agreement == "ECDH"
    assert pk.public_key.parameters == "explicit"
    assert pk.public_key.ec_domain is STANDARD_EC_DOMAINS[11]  # explicit brainpoolP224r1 -> the named curve
    assert pk.public_key.ec_domain.cryptography_curve() is None  # not a curve cryptography offers
    x, y = pk.public_key.ec_public_point()
    assert STANDARD_EC_DOMAINS[11].is_on_curve((x, y))
    (ca,) = dg14.security_infos.chip_authentication_infos
    assert ca.protocol == "0.4.0.127.0.7.2.2.3.2.1" and ca.cipher == "3DES" and ca.version == 1
    (ta,) = dg14.security_infos.terminal_authentication_infos
    assert ta.version == 1
    assert DG14(dg14.security_infos).encode() == data


def test_card_security_bsi(vectors):
    (f,) = lds(vectors, "EF.CardSecurity")
    data = bytes.fromhex(f["hex"])
    cs = CardSecurity.decode(data)
    assert cs.encode() == data
    (pk,) = cs.security_infos.chip_authentication_public_keys
    assert pk.key_id == int(f["chip_authentication_key_id"], 16)
    assert pk.public_key.ec_point == bytes.fromhex(f["chip_authentication_public_key"])
    assert pk.public_key.parameters == "standardized" and pk.public_key.parameter_id == 13
    assert cs.signed_data["encap_content_info"]["content_type"].dotted == "0.4.0.127.0.7.3.2.1"
    assert len(cs.security_infos.pace_infos) == 1


def test_card_security_build_round_trip():
    from datetime import datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test DS")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(now).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))
    dom = STANDARD_EC_DOMAINS[12]
    infos = SecurityInfos((PACEInfo("0.4.0.127.0.7.2.2.4.6.2", 2, 12),
                           ChipAuthenticationPublicKeyInfo("0.4.0.127.0.7.2.2.1.2",
                                                           PublicKeyInfo.from_ec(dom, dom.public_key(5)), 1)))
    der = cert.public_bytes(serialization.Encoding.DER)
    cs = CardSecurity.build(infos, certificate_der=der, private_key=key)
    back = CardSecurity.decode(cs.encode())
    assert back.security_infos == infos
    signer = back.signed_data["signer_infos"][0]
    signed = b"\x31" + signer["signed_attrs"].dump()[1:]
    key.public_key().verify(signer["signature"].native, signed, ec.ECDSA(hashes.SHA256()))


def test_i1_chip_authentication_public_key_info(vectors):
    v = vectors["pace_ecdh_cam"]
    raw = bytes.fromhex(v["chip_authentication_public_key_info"])
    infos = SecurityInfos.decode(bytes([0x31, len(raw)]) + raw)
    (pk,) = infos.chip_authentication_public_keys
    assert pk.key_id == 13 and pk.encode() == raw
    assert pk.public_key.ec_point == bytes.fromhex(v["chip_static_public_key_pk_ic"])


@pytest.mark.parametrize("pid", [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18])
@pytest.mark.parametrize("form", ["named", "explicit", "standardized"])
def test_ec_public_key_forms(pid, form):
    dom = STANDARD_EC_DOMAINS[pid]
    point = dom.public_key(123456789)
    spki = PublicKeyInfo.from_ec(dom, point, form=form)
    back = decode_public_key_info(spki.encode())
    assert back.ec_domain is dom and back.ec_public_point() == point and back.parameters == form
    assert back.parameter_id == pid


def test_unknown_explicit_curve_still_works():
    base = STANDARD_EC_DOMAINS[13]
    # the same curve with another generator (2G): not a named domain, but a usable custom one
    g2 = base.mul(2)
    custom = domain_from_parameters(base.p, base.a, base.b, g2[0], g2[1], base.n)
    assert isinstance(custom, ECDomain) and custom.name == "explicit" and custom.cryptography_curve() is None
    spki = PublicKeyInfo.from_ec(custom, custom.public_key(99), form="explicit")
    back = decode_public_key_info(spki.encode())
    assert back.ec_domain.matches(custom) and back.ec_public_point() == custom.public_key(99)


def test_dh_and_rsa_public_keys():
    for pid, dom in STANDARD_DH_DOMAINS.items():
        y = dom.public_key(1234567)
        for form in ("standardized", "explicit"):
            back = decode_public_key_info(PublicKeyInfo.from_dh(dom, y, form=form).encode())
            assert back.dh_domain is dom and back.dh_public == y and back.parameter_id == pid
    rsa = decode_public_key_info(PublicKeyInfo.from_rsa(0xC0FFEE * (1 << 1000) + 1, 65537).encode())
    assert rsa.algorithm == "RSA" and rsa.rsa_exponent == 65537


def test_built_records_round_trip():
    dom = STANDARD_EC_DOMAINS[13]
    # the BSI example's ChipAuthenticationDomainParameterInfo lends its AlgorithmIdentifier
    cadp = parse_card_access(bytes.fromhex(
        "311e301c060904007f000702020302300c060704007f0007010202010d020101"))
    algorithm_identifier = cadp.infos[0].domain_parameter
    records = (
        PACEInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 13),
        PACEDomainParameterInfo("0.4.0.127.0.7.2.2.4.2", algorithm_identifier, 13),
        ChipAuthenticationInfo("0.4.0.127.0.7.2.2.3.2.4", 1, 2),
        ChipAuthenticationPublicKeyInfo("0.4.0.127.0.7.2.2.1.2",
                                        PublicKeyInfo.from_ec(dom, dom.public_key(3)), 2),
        TerminalAuthenticationInfo("0.4.0.127.0.7.2.2.2", 1),
        ActiveAuthenticationInfo("2.23.136.1.1.5", 1, "0.4.0.127.0.7.1.1.4.1.3"),
    )
    data = DG14(SecurityInfos(records)).encode()
    back = DG14.decode(data).security_infos
    assert back == SecurityInfos(records)
    assert back.active_authentication_infos[0].hash_name == "SHA-256"
    assert back.pace_domain_parameter_infos[0].domain_parameter.ec_domain is dom


# --- totality --------------------------------------------------------------------------------------------


def _total(fn, data: bytes) -> None:
    with contextlib.suppress(ParseError):
        fn(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_escape(data):
    for fn in (parse_card_access, SecurityInfos.decode, DG14.decode, CardSecurity.decode,
               decode_public_key_info):
        _total(fn, data)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_files_never_escape(vectors, data):
    files = [bytes.fromhex(f["hex"]) for f in vectors["lds_files"]["files"]
             if f["ef"] in ("EF.CardAccess", "EF.DG14")]
    base = bytearray(data.draw(st.sampled_from(files)))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(base) - 1))
        base[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(base)))
    for fn in (parse_card_access, DG14.decode):
        _total(fn, bytes(base[:cut]))


def _explicit_on(p: int, a: int, gx: int, gy: int) -> tuple[int, int, int, int, int]:
    """Curve coefficients that put (gx, gy) on the curve: b = gy^2 - gx^3 - a gx."""
    return p, a % p, (gy * gy - gx ** 3 - a * gx) % p, gx, gy


def test_explicit_parameters_must_describe_a_prime_order_group() -> None:
    """A chip's explicit parameters (EF.CardAccess is read unauthenticated) are checked before any
    arithmetic: a composite field, a composite or tiny order, a base point of another order or a
    cofactor that does not fit made the curve arithmetic raise raw ValueError / AttributeError."""
    from ecdsa import SECP256k1

    from cccd_reader.crypto.ec import ECError

    cf, g = SECP256k1.curve, SECP256k1.generator
    # a curve with no name here, but a sound group: still accepted
    dom = domain_from_parameters(cf.p(), cf.a(), cf.b(), g.x(), g.y(), SECP256k1.order, 1)
    assert dom.name == "explicit" and dom.n == SECP256k1.order
    p256 = STANDARD_EC_DOMAINS[12]
    bad = [
        (*_explicit_on(p256.p * 3, 5, 7, 11), p256.n, 1),  # composite field size
        (p256.p, p256.a, p256.b, p256.gx, p256.gy, p256.n * 2, 1),  # composite order
        (p256.p, p256.a, p256.b, p256.gx, p256.gy, p256.n, 2),  # cofactor that does not fit
        (p256.p, p256.a, p256.b, p256.gx, p256.gy, 2**255 - 19, 1),  # a prime that is not G's order
        (*_explicit_on(1009, 2, 3, 4), 1013, 1),  # a toy group
        (0, 1, 2, 3, 4, 5, 1),  # p = 0 (was a ZeroDivisionError)
    ]
    for params in bad:
        with pytest.raises(ECError):
            domain_from_parameters(*params)


def test_explicit_dh_parameters_must_describe_a_prime_order_subgroup() -> None:
    """q = 0 / 1 left nothing to draw a private key from (an endless loop); small or composite groups
    would make a PACE password guessable offline by an impostor chip."""
    from cccd_reader.crypto.dh import DHError
    from cccd_reader.crypto.dh import domain_from_parameters as dh_domain

    std = STANDARD_DH_DOMAINS[2]
    g3 = pow(std.g, 3, std.p)  # another generator of the same subgroup: a sound group, not the named one
    assert dh_domain(std.p, g3, std.q).name == "explicit"
    assert dh_domain(std.p, 2).name == "explicit"  # no q: keys are drawn below p - 1
    bad = [(std.p, g3, 0), (std.p, g3, 1), (std.p, g3, std.q * 2), (std.p, 2, std.q),  # g not of order q
           (std.p * 3, 2, None), (2**127 - 1, 3, None), (std.p, g3, 3)]
    for p, g, q in bad:
        with pytest.raises(DHError):
            dh_domain(p, g, q)
