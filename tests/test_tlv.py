"""Bounded BER-TLV: encodings from ICAO 9303-10 files, header reads, the bounds, and totality."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cccd_reader.errors import ParseError, TLVError
from cccd_reader.iso7816 import tlv
from cccd_reader.iso7816.tlv import (
    MAX_DEPTH,
    TLV,
    decode,
    decode_one,
    encode_length,
    encode_tag,
    encode_tlv,
    is_constructed,
    iter_tlv,
    read_header,
)

H = bytes.fromhex


def test_ef_com_from_icao(vectors: dict[str, Any]) -> None:
    """EF.COM of ICAO 9303-10 Appendix A test case 1: 60 { 5F01 version, 5F36 unicode, 5C tag list }."""
    files = vectors["lds_files"]["files"]
    case = next(f for f in files if f["name"].startswith("EF.COM ICAO 9303-10 Appendix A test case 1"))
    com = decode_one(H(case["hex"]))
    assert com.tag == 0x60 and com.constructed and com.header_length == 2
    assert com.require(0x5F01).value.decode() == case["lds_version"]
    assert com.require(0x5F36).value.decode() == case["unicode_version"]
    assert com.require(0x5C).value == H(case["tag_list"])
    assert com.find(0x99) is None
    assert com.encode() == H(case["hex"])
    with pytest.raises(TLVError, match="5F1F"):
        com.require(0x5F1F, file="EF.COM")


def test_dg1_header_from_icao(vectors: dict[str, Any]) -> None:
    case = next(f for f in vectors["lds_files"]["files"] if f["ef"] == "EF.DG1")
    data = H(case["hex"])
    tag, length, off = read_header(data[:3])
    assert (tag, off) == (0x61, 2) and off + length == len(data)
    dg1 = decode_one(data)
    assert dg1.require(0x5F1F).value.decode("ascii").startswith(case["mrz"][:10])


@pytest.mark.parametrize("data,expected", [
    ("7582100000", (0x75, 0x1000, 4)),
    ("7F618203E8", (0x7F61, 1000, 5)),
    ("5F1F5A", (0x5F1F, 90, 3)),
    ("77830186A0", (0x77, 100000, 5)),
    ("6D8400001000", (0x6D, 4096, 6)),
])
def test_read_header_needs_only_the_header(data: str, expected: tuple[int, int, int]) -> None:
    assert read_header(H(data)) == expected
    assert read_header(memoryview(H("00" + data)), 1)[0] == expected[0]


@pytest.mark.parametrize("data,match", [
    ("", "expected a tag"),
    ("5F", "truncated multi-byte tag"),
    ("7F", "truncated multi-byte tag"),
    ("1FFFFFFF01", "longer than 4 bytes"),
    ("75", "expected a length"),
    ("7580", "indefinite"),
    ("758500000000FF", "too long"),
    ("7582", "truncated length"),
    ("758401000001", "bound"),
])
def test_header_errors(data: str, match: str) -> None:
    with pytest.raises(TLVError, match=match):
        read_header(H(data))


def test_errors_carry_file_and_offset() -> None:
    with pytest.raises(TLVError) as info:
        decode(H("0403010203") + H("5F0105"), file="DG1")
    assert info.value.file == "DG1" and info.value.offset == 5
    assert "DG1" in str(info.value) and isinstance(info.value, ParseError)


def test_value_longer_than_data() -> None:
    with pytest.raises(TLVError, match="needs 5 bytes but only 2 remain"):
        decode(H("04050102"))
    with pytest.raises(TLVError, match="remain"):
        decode_one(H("04050102"))


def test_decode_one_trailing() -> None:
    with pytest.raises(TLVError, match="unexpected bytes"):
        decode_one(H("0401AA0000"))
    assert decode_one(H("0401AA0000"), allow_trailing=True).value == H("AA")


def test_nested_children_and_offsets() -> None:
    data = H("30 08 02 01 01 31 03 0C 01 41".replace(" ", ""))
    (seq,) = decode(data)
    assert [c.tag for c in seq.children or ()] == [0x02, 0x31]
    inner = seq.require(0x31).require(0x0C)
    assert inner.value == b"A" and inner.offset == 7
    assert not TLV(0x04, b"x").constructed and TLV(0x04, b"x").children is None


def test_depth_is_bounded() -> None:
    data = b""
    for _ in range(MAX_DEPTH + 2):
        data = encode_tlv(0x30, data)
    with pytest.raises(TLVError, match="nesting"):
        decode(data)
    ok = b""
    for _ in range(MAX_DEPTH):
        ok = encode_tlv(0x30, ok)
    assert decode(ok)[0].tag == 0x30


def test_encodings() -> None:
    assert encode_length(0) == H("00")
    assert encode_length(127) == H("7F")
    assert encode_length(128) == H("8180")
    assert encode_length(255) == H("81FF")
    assert encode_length(256) == H("820100")
    assert encode_length(65536) == H("83010000")
    assert encode_tag(0x5F1F) == H("5F1F") and encode_tag(0x7F4E) == H("7F4E") and encode_tag(0) == H("00")
    assert encode_tlv(0x87, H("01AB")) == H("870201AB")
    with pytest.raises(ValueError):
        encode_length(-1)
    with pytest.raises(ValueError):
        encode_tag(-1)
    assert is_constructed(0x7F61) and is_constructed(0x30) and not is_constructed(0x5F1F)
    assert not is_constructed(0x04)


def test_iter_tlv_is_lazy() -> None:
    it = iter_tlv(H("0401AA") + H("FF"))
    assert next(it).value == H("AA")
    with pytest.raises(TLVError):
        next(it)


# --- properties ---------------------------------------------------------------------------------------------

primitive_tags = st.sampled_from([0x02, 0x04, 0x0C, 0x13, 0x5F1F, 0x5F2E, 0x80, 0x87, 0x9F1F])
constructed_tags = st.sampled_from([0x30, 0x31, 0x61, 0x75, 0x7F61, 0x7F2E, 0xA0])


def _leaf() -> st.SearchStrategy[bytes]:
    return st.builds(encode_tlv, primitive_tags, st.binary(max_size=300))


tlv_trees = st.recursive(
    _leaf(),
    lambda children: st.builds(lambda tag, kids: encode_tlv(tag, b"".join(kids)), constructed_tags,
                               st.lists(children, max_size=4)),
    max_leaves=12,
)


@given(st.lists(tlv_trees, max_size=3))
@settings(max_examples=200)
def test_round_trip(items: list[bytes]) -> None:
    data = b"".join(items)
    decoded = decode(data)
    assert len(decoded) == len(items)
    assert b"".join(t.encode() for t in decoded) == data
    for item, t in zip(items, decoded, strict=True):
        tag, length, off = read_header(item)
        assert (tag, length) == (t.tag, len(t.value)) and off == t.header_length


@given(st.binary(max_size=200))
@settings(max_examples=300)
def test_decode_is_total(data: bytes) -> None:
    """Any bytes: TLVs that cover the input exactly, or TLVError; never a Python error."""
    try:
        items = decode(data)
    except TLVError:
        return
    assert sum(t.header_length + len(t.value) for t in items) == len(data)


@given(st.binary(max_size=12), st.binary(max_size=40))
@settings(max_examples=300)
def test_read_header_and_decode_one_total(head: bytes, tail: bytes) -> None:
    data = head + tail
    try:
        tag, length, off = read_header(data)
    except TLVError:
        return
    assert 0 <= length <= tlv.MAX_LENGTH and 1 < off <= len(data)
    try:
        one = decode_one(data, allow_trailing=True)
    except TLVError:
        assert off + length > len(data) or is_constructed(tag)
        return
    assert one.tag == tag and len(one.value) == length
