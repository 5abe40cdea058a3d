"""DG1, pinned to the ICAO 9303 / BSI DG1 samples and to the synthetic CCCD MRZ (facts §2.1)."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from cccd_reader.errors import ParseError
from cccd_reader.lds import decode_file
from cccd_reader.lds.dg1 import DG1

VN_MRZ = "IDVNM0901234562001090123456<<3\n9001011M3001019VNM<<<<<<<<<<<4\nNGUYEN<<VAN<A<<<<<<<<<<<<<<<<<"


def _dg1_vectors(vectors):
    return [f for f in vectors["lds_files"]["files"] if f["ef"] == "EF.DG1"]


def test_vectors_present(vectors):
    assert len(_dg1_vectors(vectors)) >= 5


def test_decode_external_samples(vectors):
    for f in _dg1_vectors(vectors):
        data = bytes.fromhex(f["hex"])
        dg1 = DG1.decode(data)
        mrz = dg1.mrz
        assert dg1.mrz_text == f["mrz"], f["name"]
        assert dg1.encode() == data, f["name"]
        for key, attr in (
            ("document_code", "document_code"),
            ("issuing_state", "issuing_state"),
            ("nationality", "nationality"),
            ("document_number", "document_number"),
            ("surname", "primary_identifier"),
            ("given_names", "secondary_identifier"),
            ("sex", "sex"),
            ("date_of_birth", "date_of_birth_raw"),
            ("date_of_expiry", "date_of_expiry_raw"),
            ("optional_data", "optional_data_1"),
        ):
            if key in f:
                assert getattr(mrz, attr) == f[key], (f["name"], key)
        if "fingerprint_sha256_8" in f:
            assert hashlib.sha256(dg1.encode()).hexdigest()[:16].upper() == f["fingerprint_sha256_8"]
        if "sha256" in f:
            assert hashlib.sha256(dg1.encode()).hexdigest().upper() == f["sha256"]
        if "composite_check_digit_correct" in f:
            assert mrz.composite_check == f["composite_check_digit_correct"]
            assert mrz.check_results["composite"] is True


def test_from_mrz_reproduces_external_samples(vectors):
    for f in _dg1_vectors(vectors):
        assert DG1.from_mrz(f["mrz"]).encode().hex().upper() == f["hex"].upper(), f["name"]


def test_document_types(vectors):
    kinds = {DG1.decode(bytes.fromhex(f["hex"])).document_type for f in _dg1_vectors(vectors)}
    assert kinds == {"TD1", "TD2", "TD3"}


def test_vietnamese_td1_exposes_the_12_digit_id():
    dg1 = DG1.from_mrz(VN_MRZ)
    assert dg1.document_type == "TD1"
    assert dg1.personal_id_number == "001090123456"
    assert dg1.mrz.document_number == "090123456"  # digits 4-12 of the ID
    assert dg1.valid
    assert dg1.check_results["personal_id_number"] is True
    again = DG1.decode(dg1.encode())
    assert again == dg1 and again.personal_id_number == "001090123456"
    assert dg1.encode()[:5] == bytes.fromhex("615D5F1F5A")  # 90 MRZ characters under 5F1F


def test_bad_check_digits_are_reported_not_rejected(vectors):
    f = _dg1_vectors(vectors)[0]  # TD3 ERIKSSON
    text = f["mrz"]
    broken = text[:44] + text[44:53] + ("0" if text[53] != "0" else "1") + text[54:]  # document number check
    dg1 = DG1.from_mrz(broken)
    assert not dg1.valid
    assert dg1.check_results["document_number"] is False
    assert dg1.check_results["date_of_birth"] is True
    assert DG1.decode(dg1.encode()).check_results == dg1.check_results
    bad_id = VN_MRZ.replace("<<3\n", "<<4\n")
    assert DG1.from_mrz(bad_id).check_results["personal_id_number"] is False


def test_repr_and_to_dict_hold_no_raw_bytes_and_repr_no_personal_data():
    dg1 = DG1.from_mrz(VN_MRZ)
    text = repr(dg1)
    for secret in ("NGUYEN", "001090123456", "090123456", "900101"):
        assert secret not in text
    d = dg1.to_dict()
    json.dumps(d)
    assert d["mrz"]["personal_id_number"] == "001090123456"
    assert d["mrz"]["date_of_birth"] == "1990-01-01"


def test_long_form_length_and_padding_reencode_exactly(vectors):
    data = bytes.fromhex(_dg1_vectors(vectors)[0]["hex"])
    odd = bytes([0x61, 0x81]) + data[1:] + b"\x00"
    dg1 = DG1.decode(odd)
    assert dg1.encode() == odd
    assert dataclasses.replace(dg1).encode() == odd
    assert DG1.from_mrz(dg1.mrz_text).encode() == data


@pytest.mark.parametrize(
    ("hexdata", "offset"),
    [
        ("6103020101", 2),  # no 5F1F
        ("6106" + "5F1F03414243", 5),  # 3 characters: no MRZ layout
        ("615D5F1F5A" + "61" * 90, 5),  # lower-case letters are not MRZ characters
        ("615D5F1F5A" + "C3" * 90, 5),  # not ASCII
        ("625D5F1F5A" + "3C" * 90, 0),  # wrong template tag
    ],
)
def test_bad_input_raises_parse_error(hexdata, offset):
    with pytest.raises(ParseError) as info:
        DG1.decode(bytes.fromhex(hexdata))
    assert info.value.file == "DG1"
    assert info.value.offset == offset


def test_decode_file_returns_dg1(vectors):
    data = bytes.fromhex(_dg1_vectors(vectors)[0]["hex"])
    assert isinstance(decode_file("DG1", data), DG1)
    assert isinstance(decode_file(None, data), DG1)
