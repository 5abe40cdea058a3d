"""EF.COM and the LDS file registry, pinned to the ICAO 9303-10 / JMRTD EF.COM samples in the vectors."""

from __future__ import annotations

import dataclasses
import json

import pytest

from cccd_reader.errors import ParseError
from cccd_reader.lds import LDS_FILES, decode_file, file_info
from cccd_reader.lds.com import EFCOM
from cccd_reader.lds.raw import RawFile


def _com_vectors(vectors):
    return [f for f in vectors["lds_files"]["files"] if f["ef"] == "EF.COM"]


def test_vectors_present(vectors):
    assert len(_com_vectors(vectors)) >= 3


def test_decode_external_samples(vectors):
    for f in _com_vectors(vectors):
        data = bytes.fromhex(f["hex"])
        com = EFCOM.decode(data)
        assert com.lds_version == f["lds_version"], f["name"]
        assert com.unicode_version == f["unicode_version"], f["name"]
        assert bytes(com.tags).hex().upper() == f["tag_list"], f["name"]
        if "data_groups" in f:
            assert [f"DG{n}" for n in com.data_groups] == f["data_groups"].split(","), f["name"]
        assert com.encode() == data, f["name"]


def test_build_reproduces_external_samples(vectors):
    for f in _com_vectors(vectors):
        if "data_groups" not in f:
            continue
        dgs = [int(x[2:]) for x in f["data_groups"].split(",")]
        built = EFCOM.build(f["lds_version"], f["unicode_version"], dgs)
        assert built.encode().hex().upper() == f["hex"].upper(), f["name"]


def test_build_accepts_dotted_versions():
    com = EFCOM.build("1.7", "4.0.0", [1, 2, 3, 13, 14, 15])
    assert com.lds_version == "0107" and com.unicode_version == "040000"
    assert com.data_groups == (1, 2, 3, 13, 14, 15)
    assert EFCOM.decode(com.encode()) == com
    assert com.to_dict()["data_groups"] == ["DG1", "DG2", "DG3", "DG13", "DG14", "DG15"]
    json.dumps(com.to_dict())


def test_build_rejects_unknown_group():
    with pytest.raises(ValueError):
        EFCOM.build("0107", "040000", [17])


def test_unknown_tags_in_list_are_kept():
    com = EFCOM.decode(bytes.fromhex("600C5F0104303130375C03617199"))
    assert com.data_groups == (1,)
    assert com.unknown_tags == (0x71, 0x99)
    assert com.unicode_version is None


def test_long_form_lengths_reencode_exactly_and_edits_reencode_canonically(vectors):
    short = bytes.fromhex(_com_vectors(vectors)[0]["hex"])
    # the same EF.COM with a long-form outer length (81 16) and padding after it, as some chips write
    padded = bytes([0x60, 0x81]) + short[1:] + b"\x00\x00"
    com = EFCOM.decode(padded)
    assert com == EFCOM.decode(short)
    assert com.encode() == padded
    edited = dataclasses.replace(com, lds_version="0108")
    assert edited.encode() == bytes.fromhex(short.hex().replace("5f010430313037", "5f010430313038"))


@pytest.mark.parametrize(
    ("hexdata", "offset"),
    [
        ("61035C0161", 0),  # not EF.COM
        ("60065F0102303137", 8),  # a stray byte after 5F01 where a length should follow
        ("60095F01043031303735", 0),  # outer length runs past the end of the file
        ("60085F0104303130375F", 9),  # a cut multi-byte tag after the LDS version
        ("60075F010430313037", 2),  # no tag list
        ("60045C025F9F", 4),  # a multi-byte tag cut inside the tag list
    ],
)
def test_bad_input_raises_parse_error_naming_the_file(hexdata, offset):
    with pytest.raises(ParseError) as info:
        EFCOM.decode(bytes.fromhex(hexdata))
    assert info.value.file == "EF.COM"
    assert info.value.offset == offset


def test_registry_table_matches_icao_9303_10():
    by_name = {f.name: f for f in LDS_FILES}
    assert set(by_name) == {"EF.COM", "EF.SOD", *(f"DG{n}" for n in range(1, 17))}
    assert (by_name["EF.COM"].tag, by_name["EF.COM"].fid, by_name["EF.COM"].sfi) == (0x60, 0x011E, 0x1E)
    assert (by_name["EF.SOD"].tag, by_name["EF.SOD"].fid, by_name["EF.SOD"].sfi) == (0x77, 0x011D, 0x1D)
    expected_tags = [
        0x61,
        0x75,
        0x63,
        0x76,
        0x65,
        0x66,
        0x67,
        0x68,
        0x69,
        0x6A,
        0x6B,
        0x6C,
        0x6D,
        0x6E,
        0x6F,
        0x70,
    ]
    for n, tag in enumerate(expected_tags, start=1):
        f = by_name[f"DG{n}"]
        assert (f.tag, f.fid, f.sfi, f.dg) == (tag, 0x0100 + n, n, n)


@pytest.mark.parametrize("alias", ["DG13", "dg13", "EF.DG13", "EF_DG13", 0x6D])
def test_file_info_aliases(alias):
    info = file_info(alias)
    assert info is not None and info.name == "DG13" and info.fid == 0x010D


def test_file_info_other_files():
    assert file_info("COM").name == "EF.COM"
    assert file_info("sod").tag == 0x77
    assert file_info("EF.CardAccess").fid == 0x011C
    assert file_info("DG17") is None
    assert file_info(0x71) is None


def test_decode_file_dispatches_by_name_tag_or_content(vectors):
    data = bytes.fromhex(_com_vectors(vectors)[0]["hex"])
    for key in ("EF.COM", "COM", 0x60, None):
        assert isinstance(decode_file(key, data), EFCOM)


def test_unknown_groups_are_kept_raw():
    dg3 = bytes.fromhex("630A7F610702010100000000")  # DG3 (fingerprints): not interpreted
    rec = decode_file("DG3", dg3)
    assert isinstance(rec, RawFile) and rec.tag == 0x63 and rec.name == "DG3"
    assert rec.encode() == dg3 and rec.value == dg3[2:]
    dg17 = bytes.fromhex("7103010203")
    rec = decode_file(None, dg17)
    assert isinstance(rec, RawFile) and rec.tag == 0x71
    rec = decode_file(0x71, dg17)
    assert isinstance(rec, RawFile)
    garbage = b"\xff"  # not even a TLV header
    rec = decode_file(None, garbage)
    assert isinstance(rec, RawFile) and rec.tag is None and rec.value is None
    assert "data" in rec.to_dict() and "ff" not in repr(rec).lower().replace("name", "")


def test_a_decoder_that_fails_to_import_is_not_hidden_as_a_raw_file(monkeypatch):
    import cccd_reader.lds as lds

    monkeypatch.setitem(lds._DECODERS, "DG15", ("cccd_reader.lds.no_such_module", "DG15"))
    with pytest.raises(ImportError):
        decode_file("DG15", bytes.fromhex("6F03020101"))


def test_every_known_file_has_a_decoder():
    import cccd_reader.lds as lds

    for name in lds._DECODERS:
        assert callable(lds._decoder_for(name)), name


def test_decode_file_propagates_parse_errors_of_known_files():
    with pytest.raises(ParseError):
        decode_file("EF.COM", bytes.fromhex("6003020101"))


@pytest.mark.parametrize(
    ("ef", "module"),
    [
        ("EF.SOD", "sod"),
        ("EF.DG14", "security_infos"),
        ("EF.DG15", "dg15"),
        ("EF.CardAccess", "security_infos"),
        ("EF.CardSecurity", "security_infos"),
    ],
)
def test_registry_reaches_the_other_decoders_when_they_exist(vectors, ef, module):
    import importlib.util

    sample = next(f for f in vectors["lds_files"]["files"] if f["ef"] == ef)
    record = decode_file(ef, bytes.fromhex(sample["hex"]))
    if importlib.util.find_spec(f"cccd_reader.lds.{module}") is None:
        assert isinstance(record, RawFile)
    else:
        assert not isinstance(record, RawFile)
