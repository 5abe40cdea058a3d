"""The one OID decoder: strict DER by default, lenient on request, the same answer everywhere."""

import pytest

from cccd_reader.asn1.oids import decode_oid_value, encode_oid_value
from cccd_reader.errors import ParseError
from cccd_reader.lds.dg13 import DG13


def test_round_trip_and_a_known_value():
    assert decode_oid_value(bytes.fromhex("2B0E03021A")) == "1.3.14.3.2.26"
    for oid in ("1.0.10646.1.0.8", "0.4.0.127.0.7.2.2.4.2.2", "2.999.1"):
        assert decode_oid_value(encode_oid_value(oid)) == oid


def test_a_non_minimal_arc_is_refused_strictly_and_read_leniently():
    data = bytes.fromhex("28808001")  # 1.0 then an arc 1 written with two needless 80 bytes
    with pytest.raises(ParseError):
        decode_oid_value(data)
    assert decode_oid_value(data, lenient=True) == "1.0.1"


@pytest.mark.parametrize("bad", ["", "2B80", "80", "FF" * 65 + "01"])
def test_malformed_is_refused_even_leniently(bad):
    with pytest.raises(ParseError):
        decode_oid_value(bytes.fromhex(bad), lenient=True)


def test_dg13_reads_its_encoding_oid_with_the_same_decoder():
    # DG13 = 6D { 30 { 02 01 00, 06 <oid>, 31 { } } }: the lenient reading of 28808001 is what DG13 keeps
    oid = bytes.fromhex("28808001")
    body = bytes.fromhex("020100") + b"\x06" + bytes([len(oid)]) + oid + bytes.fromhex("3100")
    seq = b"\x30" + bytes([len(body)]) + body
    raw = b"\x6d" + bytes([len(seq)]) + seq
    dg13 = DG13.decode(raw)
    assert dg13.oid == "1.0.1" == decode_oid_value(oid, lenient=True)


def test_mapping_and_cipher_are_enums_that_read_as_their_text():
    from cccd_reader.asn1.oids import PACE_ALGORITHMS, Cipher, PACEMapping

    alg = PACE_ALGORITHMS["0.4.0.127.0.7.2.2.4.6.2"]  # id-PACE-ECDH-CAM-AES-CBC-CMAC-128
    assert alg.mapping is PACEMapping.CAM and alg.mapping == "CAM"
    assert alg.cipher is Cipher.AES_128 and f"{alg.cipher}" == "AES-128"
    assert alg.name == "id-PACE-ECDH-CAM-AES-CBC-CMAC-128"
    assert all(isinstance(a.mapping, PACEMapping) and isinstance(a.cipher, Cipher)
               for a in PACE_ALGORITHMS.values())
    assert not any(a.mapping is PACEMapping.CAM and a.cipher is Cipher.TDES for a in PACE_ALGORITHMS.values())
