"""DG15 pinned to the BSI and ETSI sample files in the vectors (modulus, exponent, fingerprint), EC keys
with named and explicit parameters, and fuzzed for totality."""

from __future__ import annotations

import contextlib
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cccd_reader.crypto.ec import STANDARD_EC_DOMAINS
from cccd_reader.errors import ParseError
from cccd_reader.lds.dg15 import DG15
from cccd_reader.lds.security_infos import PublicKeyInfo


def dg15_files(vectors):
    return [f for f in vectors["lds_files"]["files"] if f["ef"] == "EF.DG15"]


def test_rsa_samples(vectors):
    files = dg15_files(vectors)
    assert len(files) == 2
    for f in files:
        data = bytes.fromhex(f["hex"])
        dg15 = DG15.decode(data)
        assert dg15.encode() == data
        assert hashlib.sha256(data).hexdigest().upper()[:16] == f["fingerprint_sha256_8"]
        key = dg15.public_key
        assert dg15.algorithm == "RSA" == key.algorithm
        assert key.rsa_modulus == int(f["modulus"], 16)
        assert key.rsa_exponent == int(f["public_exponent"], 16)
        assert key.key_bits == int(f["key_bits"])
        assert DG15.from_public_key(key).encode() == data


def test_negative_modulus_quirk_is_read_unsigned(vectors):
    """A 1024-bit modulus stored without the leading 00 (a negative INTEGER in strict DER)."""
    modulus = int(dg15_files(vectors)[0]["modulus"], 16)
    body = modulus.to_bytes(128, "big")
    rsa_key = bytes([0x30, 0x81, 0x88, 0x02, 0x81, 0x80]) + body + bytes.fromhex("0203010001")
    bit_string = bytes([0x03, 0x81, len(rsa_key) + 1, 0x00]) + rsa_key
    alg = bytes.fromhex("300D06092A864886F70D0101010500")
    spki_body = alg + bit_string
    spki = bytes([0x30, 0x81, len(spki_body)]) + spki_body
    data = bytes([0x6F, 0x81, len(spki)]) + spki
    key = DG15.decode(data).public_key
    assert key.rsa_modulus == modulus and key.key_bits == 1024


@pytest.mark.parametrize("form", ["named", "explicit"])
@pytest.mark.parametrize("pid", [11, 12, 13, 16])
def test_ec_keys(form, pid):
    dom = STANDARD_EC_DOMAINS[pid]
    point = dom.public_key(424242)
    dg15 = DG15.from_public_key(PublicKeyInfo.from_ec(dom, point, form=form))
    back = DG15.decode(dg15.encode())
    assert back.algorithm == "EC" and back.public_key.ec_domain is dom
    assert back.public_key.ec_public_point() == point
    assert back.encode() == dg15.encode()


def test_rejects_other_files_and_keys():
    with pytest.raises(ParseError):
        DG15.decode(bytes.fromhex("6E03020101"))
    from cccd_reader.crypto.dh import STANDARD_DH_DOMAINS

    dh = PublicKeyInfo.from_dh(STANDARD_DH_DOMAINS[0], 5)
    with pytest.raises(ParseError, match="RSA or EC"):
        DG15.decode(DG15.from_public_key(dh).encode())


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_fuzz(vectors, data):
    base = bytearray(data.draw(st.sampled_from([bytes.fromhex(f["hex"]) for f in dg15_files(vectors)])))
    for _ in range(data.draw(st.integers(0, 3))):
        base[data.draw(st.integers(0, len(base) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(base)))
    with contextlib.suppress(ParseError):
        DG15.decode(bytes(base[:cut]))
    with contextlib.suppress(ParseError):
        DG15.decode(data.draw(st.binary(max_size=200)))
