"""EF.SOD decoding: pinned to the BSI and ETSI sample EF.SODs, round trips, and totality on bad bytes."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cccd_reader.errors import InputError, ParseError
from cccd_reader.issue.signing import build_signed_data, build_sod
from cccd_reader.lds.sod import LDS_SECURITY_OBJECT_OID, SOD, decode_sod, encode_lds_security_object
from cccd_reader.verify.trust import CertificateInfo

PKI = Path(__file__).resolve().parent.parent / "samples" / "pki"


def _sod_vectors(vectors: dict[str, Any]) -> list[dict[str, Any]]:
    found = [f for f in vectors["lds_files"]["files"] if f["ef"] == "EF.SOD"]
    assert len(found) >= 2
    return found


def _signer(name: str) -> tuple[Any, x509.Certificate]:
    key = load_pem_private_key((PKI / "keys" / f"{name}.key").read_bytes(), None)
    cert = x509.load_pem_x509_certificate((PKI / "certs" / f"{name}.pem").read_bytes())
    return key, cert


DGS = {1: bytes.fromhex("615B5F1F58") + b"I<VNM" + b"<" * 83, 2: b"\x75\x03\x01\x02\x03", 13: b"\x6d\x00"}


# --- external vectors -------------------------------------------------------------------------------


def test_vector_sods_decode_to_the_published_values(vectors: dict[str, Any]) -> None:
    for vec in _sod_vectors(vectors):
        raw = bytes.fromhex(vec["hex"])
        sod = SOD.decode(raw)
        assert sod.encode() == raw
        assert sod.econtent_type == vec["econtent_type"] == LDS_SECURITY_OBJECT_OID
        assert sod.version == int(vec["lds_security_object_version"])
        assert sod.hash_algorithm == vec["dg_hash_algorithm"]
        expected = {int(k[2:]): bytes.fromhex(v) for k, v in vec["dg_hashes"].items()}
        assert sod.dg_hashes == expected
        assert sod.data_groups == tuple(sorted(expected))
        assert sod.signature_algorithm == vec["signature_algorithm"]
        assert sod.signed_attributes is not None
        assert sod.signed_attributes.message_digest == bytes.fromhex(vec["signed_attrs_message_digest"])
        assert sod.signed_attributes.content_type == LDS_SECURITY_OBJECT_OID
        assert sod.signing_time is None
        assert sod.lds_version is None
        # the signer certificate named by the signer identifier is the published DSC
        assert sod.signer_id.serial_number == int(vec["dsc_serial"], 16)
        der = sod.signer_certificate
        assert der is not None
        cert = CertificateInfo.from_der(der)
        assert cert.subject == vec["dsc_subject"]
        assert format(cert.serial_number, "X") == vec["dsc_serial"]


def test_vector_message_digest_is_the_hash_of_the_security_object(vectors: dict[str, Any]) -> None:
    for vec in _sod_vectors(vectors):
        sod = decode_sod(bytes.fromhex(vec["hex"]))
        assert hashlib.sha256(sod.econtent).hexdigest().upper() == vec["signed_attrs_message_digest"]


def test_vector_dg_files_hash_to_the_sod_values(vectors: dict[str, Any]) -> None:
    files = {f["name"]: bytes.fromhex(f["hex"]) for f in vectors["lds_files"]["files"]}
    bsi, etsi = _sod_vectors(vectors)[:2]
    bsi_sod = decode_sod(bytes.fromhex(bsi["hex"]))
    dg1 = files["DG1 MUSTERMANN (BSI TR-03105-5 ReferenceDataSet, expiry 2023)"]
    assert hashlib.sha256(dg1).digest() == bsi_sod.dg_hashes[1]
    etsi_sod = decode_sod(bytes.fromhex(etsi["hex"]))
    dg15 = files["DG15 RSA-1024 (ETSI TR 103 200 ePassport prototype data, EACAA)"]
    assert hashlib.sha256(dg15).digest() == etsi_sod.dg_hashes[15]


def test_to_dict_is_plain_json(vectors: dict[str, Any]) -> None:
    import json

    vec = _sod_vectors(vectors)[0]
    d = decode_sod(bytes.fromhex(vec["hex"])).to_dict()
    assert json.loads(json.dumps(d))["dg_hashes"]["1"] == vec["dg_hashes"]["DG1"]
    assert d["signer_serial_number"] == vec["dsc_serial"]


# --- encode / decode ---------------------------------------------------------------------------------


@pytest.mark.parametrize("hash_name", ["sha1", "sha224", "sha256", "sha384", "sha512"])
def test_build_then_decode_round_trip(hash_name: str) -> None:
    key, cert = _signer("dsc-ecdsa")
    raw = build_sod(DGS, signer_key=key, signer_cert=cert, hash_algorithm=hash_name)
    sod = SOD.decode(raw)
    assert sod.encode() == raw
    assert raw[0] == 0x77
    assert sod.hash_algorithm == hash_name
    assert sod.dg_hashes == {n: hashlib.new(hash_name, b).digest() for n, b in DGS.items()}
    assert sod.data_groups == (1, 2, 13)
    assert sod.version == 0 and sod.lds_version is None
    assert sod.signature_algorithm == f"{hash_name}_ecdsa"
    assert hash(sod) == hash(SOD.decode(raw)) and sod == SOD.decode(raw)  # frozen records are hashable
    assert sod.signer_certificate == cert.public_bytes(Encoding.DER)


def test_lds_version_info_and_signing_time() -> None:
    key, cert = _signer("dsc-rsa")
    when = dt.datetime(2025, 5, 17, 8, 30, tzinfo=dt.UTC)
    sod = decode_sod(
        build_sod(
            DGS,
            signer_key=key,
            signer_cert=cert,
            lds_version="0108",
            signing_time=when,
            signature_algorithm="rsassa-pss",
        )
    )
    assert sod.version == 1
    assert (sod.lds_version, sod.unicode_version) == ("0108", "040000")
    assert sod.signing_time == when
    assert sod.signature_algorithm == "rsassa_pss"


def test_ecdsa_sod_is_deterministic() -> None:
    key, cert = _signer("dsc-ecdsa")
    first = build_sod(DGS, signer_key=key, signer_cert=cert)
    assert build_sod(DGS, signer_key=key, signer_cert=cert) == first


def test_build_sod_rejects_bad_inputs() -> None:
    key, cert = _signer("dsc-ecdsa")
    with pytest.raises(InputError):
        build_sod({0: b"x"}, signer_key=key, signer_cert=cert)
    with pytest.raises(InputError):
        build_sod(DGS, signer_key=key, signer_cert=cert, hash_algorithm="md5")
    with pytest.raises(InputError):
        build_sod(DGS, signer_key=key, signer_cert=cert, signature_algorithm="rsassa-pss")


def test_trailing_padding_is_tolerated_but_not_garbage() -> None:
    key, cert = _signer("dsc-ecdsa")
    raw = build_sod(DGS, signer_key=key, signer_cert=cert)
    padded = raw + b"\x00" * 16
    assert decode_sod(padded).encode() == padded
    with pytest.raises(ParseError):
        decode_sod(raw + b"\x01")


def test_rejections_name_the_file() -> None:
    key, cert = _signer("dsc-ecdsa")
    raw = build_sod(DGS, signer_key=key, signer_cert=cert)
    other_content = build_signed_data("2.23.136.1.1.2", b"\x30\x00", signer_key=key, signer_cert=cert)
    from cccd_reader.iso7816.tlv import encode_tlv

    cases = {
        "empty": b"",
        "wrong tag": b"\x60" + raw[1:],
        "truncated": raw[:-1],
        "truncated header": raw[:3],
        "not CMS": encode_tlv(0x77, b"\x30\x03\x02\x01\x00"),
        "not SignedData": encode_tlv(0x77, cms.ContentInfo({"content_type": "data", "content": b"x"}).dump()),
        "other content type": encode_tlv(0x77, other_content),
    }
    for label, data in cases.items():
        with pytest.raises(ParseError) as info:
            decode_sod(data)
        assert info.value.file == "EF.SOD", label


def test_bad_security_objects_are_parse_errors() -> None:
    key, cert = _signer("dsc-ecdsa")
    from cccd_reader.iso7816.tlv import encode_tlv
    from cccd_reader.lds.sod import DataGroupHash, DataGroupHashValues, LDSSecurityObject

    def sod_over(lso: bytes) -> bytes:
        signed = build_signed_data(LDS_SECURITY_OBJECT_OID, lso, signer_key=key, signer_cert=cert)
        return encode_tlv(0x77, signed)

    def lso(entries: list[tuple[int, bytes]], version: int = 0, alg: str = "sha256") -> bytes:
        return bytes(
            LDSSecurityObject(
                {
                    "version": version,
                    "hash_algorithm": {"algorithm": alg},
                    "data_group_hash_values": DataGroupHashValues(
                        [
                            DataGroupHash({"data_group_number": n, "data_group_hash_value": h})
                            for n, h in entries
                        ]
                    ),
                }
            ).dump()
        )

    good = b"\x11" * 32
    assert decode_sod(sod_over(lso([(1, good)]))).dg_hashes == {1: good}
    for bad in (
        lso([(1, good), (1, good)]),  # listed twice
        lso([(1, b"\x11" * 20)]),  # wrong hash length
        lso([(0, good)]),  # DG number out of range
        lso([(1, good)], version=7),  # unknown version
        lso([(1, good)], alg="md5"),  # unknown hash
        b"\x30\x00",
    ):  # not an LDSSecurityObject
        with pytest.raises(ParseError):
            decode_sod(sod_over(bad))


def test_encode_lds_security_object_orders_data_groups() -> None:
    der = encode_lds_security_object({13: b"\x01" * 32, 1: b"\x02" * 32})
    from cccd_reader.iso7816.tlv import decode_one

    top = decode_one(der)  # read back with the project's own BER-TLV reader, not asn1crypto
    assert top.tag == 0x30 and top.children is not None
    version, _alg, hashes_ = top.children[:3]
    assert version.value == b"\x00"
    assert hashes_.children is not None
    assert [entry.children[0].value for entry in hashes_.children if entry.children] == [b"\x01", b"\x0d"]


# --- totality ----------------------------------------------------------------------------------------


def _valid_sod() -> bytes:
    key, cert = _signer("dsc-ecdsa")
    return build_sod(
        DGS,
        signer_key=key,
        signer_cert=cert,
        lds_version="0108",
        signing_time=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    )


VALID = _valid_sod()


def _decode_or_parse_error(data: bytes) -> None:
    try:
        sod = decode_sod(data)
    except ParseError as exc:
        assert exc.file == "EF.SOD"
    else:
        assert sod.encode() == data
        assert isinstance(sod.dg_hashes, dict)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=512))
def test_random_bytes_give_only_parse_errors(data: bytes) -> None:
    _decode_or_parse_error(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_tag_77_objects_give_only_parse_errors(body: bytes) -> None:
    from cccd_reader.iso7816.tlv import encode_tlv

    _decode_or_parse_error(encode_tlv(0x77, body))
    _decode_or_parse_error(encode_tlv(0x77, b"\x30\x82" + len(body).to_bytes(2, "big") + body))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_sods_give_only_parse_errors(data: st.DataObject) -> None:
    raw = bytearray(VALID)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "set", "delete", "insert", "truncate"]))
        pos = data.draw(st.integers(0, len(raw) - 1)) if raw else 0
        if op == "flip" and raw:
            raw[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "set" and raw:
            raw[pos] = data.draw(st.sampled_from([0x00, 0x80, 0x81, 0x82, 0x84, 0xFF, 0x30, 0x31, 0xA0]))
        elif op == "delete" and raw:
            del raw[pos]
        elif op == "insert":
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=4))
        elif op == "truncate":
            raw = raw[:pos]
    _decode_or_parse_error(bytes(raw))


def test_non_bytes_input_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        decode_sod("77" * 4)  # type: ignore[arg-type]


def test_oversized_input_is_refused_before_decoding() -> None:
    with pytest.raises(ParseError):
        decode_sod(b"\x77\x84\x01\x00\x00\x00" + b"\x00" * (2 * 1024 * 1024))


def test_to_dict_signer_is_the_signer_certificates_subject() -> None:
    # the signer identifier names the certificate's issuer (the CSCA); "signer" is the certificate itself
    key, cert = _signer("dsc-ecdsa")
    sod = SOD.decode(build_sod(DGS, signer_key=key, signer_cert=cert))
    d = sod.to_dict()
    assert cert.subject != cert.issuer
    assert d["signer"] == cert.subject.rfc4514_string() == sod.signer_subject
    assert d["signer_issuer"] == cert.issuer.rfc4514_string()
    assert sod.signed.econtent == sod.econtent and sod.signer_certificates == sod.signed.certificates
