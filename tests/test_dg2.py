"""DG2 down to the portrait: ISO/IEC 19794-5 and 39794-5 encodings, JPEG / JP2 / J2K images, slack.

Reference structures are written out by hand in this file from ICAO 9303-10 §4.7.2 (CBEFF template
layout), ISO/IEC 19794-5:2005 (14-byte record header, 20-byte facial information, 12-byte image
information) and the ISO/IEC 39794-5 ASN.1 module, so the decoder is not only checked against our own
builder.
"""

from __future__ import annotations

import base64
import io
import json
import struct

import pytest
from PIL import Image

from cccd_reader.errors import ParseError
from cccd_reader.lds import decode_file
from cccd_reader.lds.biometric import FacialRecord19794, probe_image
from cccd_reader.lds.dg2 import DG2
from cccd_reader.model import Portrait


def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    if n < 0x100:
        return bytes([0x81, n])
    return bytes([0x82]) + n.to_bytes(2, "big")


def tlv(tag: str, value: bytes) -> bytes:
    return bytes.fromhex(tag) + _len(len(value)) + value


def face(size=(48, 64), mode="RGB", fmt="JPEG", **kw) -> bytes:
    img = Image.new(mode, size, (180, 120, 90) if mode == "RGB" else 128)
    for x in range(size[0]):  # some structure so codecs do real work
        img.putpixel((x, x % size[1]), (10, 20, 30) if mode == "RGB" else 10)
    out = io.BytesIO()
    img.save(out, format=fmt, **kw)
    return out.getvalue()


JPEG = face()
JP2 = face(fmt="JPEG2000")
J2K = face(fmt="JPEG2000", no_jp2=True)
BHT_NO_VERSION = tlv(
    "A1", tlv("81", b"\x02") + tlv("82", b"\x00") + tlv("87", b"\x01\x01") + tlv("88", b"\x00\x08")
)


def record_19794(image: bytes, *, data_type=0, width=48, height=64, record_delta=0, block_delta=0, tail=b""):
    """An ISO/IEC 19794-5:2005 record written field by field."""
    facial_info = struct.pack(">IHBBB3s2s3s3s", 20 + 12 + len(image) + block_delta, 0, 1, 3, 4, b"\0\0\0",
                              b"\0\0", b"\0\0\0", b"\0\0\0")  # fmt: skip
    image_info = struct.pack(">BBHHBBHH", 1, data_type, width, height, 1, 2, 0, 0)
    body = facial_info + image_info + image + tail
    header = b"FAC\x00" + b"010\x00" + struct.pack(">IH", 14 + len(body) + record_delta, 1)
    return header + body


def dg2_around(bdb: bytes, *, bdb_tag="5F2E", bht=BHT_NO_VERSION, count=1) -> bytes:
    bit = tlv("7F60", bht + tlv(bdb_tag, bdb))
    return tlv("75", tlv("7F61", tlv("02", bytes([count])) + bit * count))


def der_int(n: int) -> bytes:
    return n.to_bytes(n.bit_length() // 8 + 1, "big")


def iso39794_block(image: bytes, fmt_code: int, width: int, height: int) -> bytes:
    """FaceImageDataBlock per the 39794-5 ASN.1 module (IMPLICIT tags), wrapped in [1] as in DG2."""
    info = tlv("A0", tlv("80", der_int(fmt_code))) + tlv(
        "A7", tlv("80", der_int(width)) + tlv("81", der_int(height))
    )
    block_2d = tlv("A0", tlv("80", image) + tlv("A1", info))
    representation = tlv("30", tlv("80", b"\x00") + tlv("A1", tlv("A0", block_2d)))
    version = tlv("A0", tlv("80", b"\x03") + tlv("81", b"\x07\xe3"))
    return tlv("A1", tlv("65", version + tlv("A1", representation)))


# --- images ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("image", "fmt", "mime"), [(JPEG, "JPEG", "image/jpeg"), (JP2, "JP2", "image/jp2"),
                                                     (J2K, "J2K", "image/j2k")])  # fmt: skip
def test_probe_reads_codec_and_size_from_the_image_header(image, fmt, mime):
    probe = probe_image(image)
    assert (probe.format, probe.width, probe.height) == (fmt, 48, 64)
    assert Portrait(image, fmt).mime_type == mime


def test_probe_of_garbage_is_unknown():
    assert probe_image(b"\x00" * 40).format == "unknown"
    assert probe_image(b"\xff\xd8\xff\xe0\x00\x02").width is None  # JPEG magic, no frame header


# --- ISO/IEC 19794-5 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("image", "data_type", "fmt"), [(JPEG, 0, "JPEG"), (JP2, 1, "JP2"), (J2K, 1, "J2K")])
def test_hand_built_19794_dg2_decodes_to_the_portrait(image, data_type, fmt):
    data = dg2_around(record_19794(image, data_type=data_type))
    dg2 = DG2.decode(data)
    p = dg2.portrait
    assert p is not None and p.image == image
    assert (p.format, p.width, p.height, p.source) == (fmt, 48, 64, "ISO/IEC 19794-5")
    assert p.declared_type is None
    assert p.to_image().size == (48, 64)
    assert dg2.encode() == data
    assert dg2.templates[0].header.format_type == 0x0008


@pytest.mark.parametrize("image", [JPEG, JP2, J2K])
def test_builder_writes_the_layout_readers_slice_at_84_bytes(image):
    """cccd-card-facts §3.4: readers find the JPEG 84 bytes into DG2 (BHT 81/82/87/88, 82-form lengths)."""
    big = image + b"\x00" * 300 if len(image) < 300 else image  # force the 82 xx xx length form
    built = DG2.from_image(big, 48, 64)
    hand = dg2_around(record_19794(big, data_type=0 if image is JPEG else 1))
    assert hand[84 : 84 + len(image)] == image
    # our builder adds the ICAO header version (80 02 0101) to the BHT: 4 more bytes before the image
    ours = built.encode()
    assert ours[88 : 88 + len(image)] == image
    assert ours[:2] == b"\x75\x82" and b"FAC\x0001" not in ours[:40]
    assert DG2.decode(ours).portrait.image == big


def test_builder_matches_hand_built_record_except_header_version():
    built = DG2.from_image(JPEG, gender=1, eye_colour=3, hair_colour=4)
    record = built.templates[0].data
    assert isinstance(record, FacialRecord19794)
    assert record.encode() == record_19794(JPEG)


def test_declared_type_loses_to_magic_bytes():
    data = dg2_around(record_19794(JP2, data_type=0))  # says JPEG, is JP2
    p = DG2.decode(data).portrait
    assert p.format == "JP2" and p.mime_type == "image/jp2" and p.declared_type == "JPEG"


@pytest.mark.parametrize("delta", [1, -1, -8, 8])
def test_record_length_slack_is_tolerated_and_kept(delta):
    data = dg2_around(record_19794(JPEG, record_delta=delta))
    dg2 = DG2.decode(data)
    assert dg2.portrait.image == JPEG
    assert dg2.encode() == data


def test_extra_bytes_after_the_image_are_kept():
    data = dg2_around(record_19794(JPEG, tail=b"\x00\x00\x00\x00"))
    dg2 = DG2.decode(data)
    assert dg2.portrait.image == JPEG
    assert dg2.templates[0].data.trailing == b"\x00" * 4
    assert dg2.encode() == data


def test_block_length_one_byte_short_still_yields_a_whole_jpeg():
    data = dg2_around(record_19794(JPEG, block_delta=-1))
    p = DG2.decode(data).portrait
    assert p.image == JPEG
    assert p.to_image().size == (48, 64)
    assert DG2.decode(data).encode() == data


def test_block_length_past_the_end_is_clamped():
    data = dg2_around(record_19794(JPEG, block_delta=5))
    dg2 = DG2.decode(data)
    assert dg2.portrait.image == JPEG and dg2.encode() == data


def test_two_templates_give_two_portraits():
    bit_a = tlv("7F60", BHT_NO_VERSION + tlv("5F2E", record_19794(JPEG)))
    bit_b = tlv("7F60", BHT_NO_VERSION + tlv("5F2E", record_19794(J2K, data_type=1)))
    data = tlv("75", tlv("7F61", tlv("02", b"\x02") + bit_a + bit_b))
    dg2 = DG2.decode(data)
    assert [p.format for p in dg2.portraits()] == ["JPEG", "J2K"]
    assert dg2.encode() == data


def test_bare_image_without_facial_record_is_found_by_magic():
    data = dg2_around(b"\x00\x01" + JPEG)  # CBEFF data block without the "FAC" record
    dg2 = DG2.decode(data)
    assert dg2.portrait.image == JPEG and dg2.portrait.source == "unknown"
    assert dg2.encode() == data


# --- ISO/IEC 39794-5 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("image", "code", "fmt"), [(JPEG, 2, "JPEG"), (JP2, 4, "JP2"), (J2K, 3, "J2K")])
def test_hand_built_39794_dg2_decodes_to_the_portrait(image, code, fmt):
    bht = tlv("A1", tlv("87", b"\x01\x01") + tlv("88", b"\x00\x2a"))
    data = dg2_around(iso39794_block(image, code, 48, 64), bdb_tag="7F2E", bht=bht)
    dg2 = DG2.decode(data)
    assert dg2.templates[0].encoding == "ISO/IEC 39794-5"
    p = dg2.portrait
    assert (p.image, p.format, p.width, p.height) == (image, fmt, 48, 64)
    assert p.source == "ISO/IEC 39794-5"
    assert dg2.templates[0].data.version == (3, 2019)
    assert dg2.encode() == data


def test_39794_builder_matches_hand_built_block():
    built = DG2.from_image(JPEG, encoding="39794")
    assert built.templates[0].data.encode() == iso39794_block(JPEG, 2, 48, 64)
    assert built.templates[0].data_tag == 0x7F2E


def test_39794_block_without_the_wrapper_is_accepted():
    block = iso39794_block(JPEG, 2, 48, 64)
    unwrapped = block[2:] if block[1] < 0x80 else block[1 + 1 + (block[1] & 0x7F) :]
    data = dg2_around(unwrapped, bdb_tag="7F2E")
    assert DG2.decode(data).portrait.image == JPEG


# --- the Portrait record ---------------------------------------------------------------------------


@pytest.mark.parametrize("image", [JPEG, JP2, J2K, face(mode="L", fmt="JPEG2000"),
                                   face(mode="I;16", fmt="JPEG2000", no_jp2=True)])  # fmt: skip
@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_save_converts_any_codec_to_png_and_jpeg(tmp_path, image, suffix):
    portrait = DG2.decode(DG2.from_image(image).encode()).portrait
    out = portrait.save(tmp_path / f"face{suffix}")
    with Image.open(out) as back:
        assert back.size == (48, 64)
        assert back.format == ("PNG" if suffix == ".png" else "JPEG")


@pytest.mark.parametrize(("image", "suffix"), [(JPEG, ".jpg"), (JP2, ".jp2"), (J2K, ".j2k")])
def test_save_in_the_stored_codec_writes_the_chip_bytes(tmp_path, image, suffix):
    portrait = DG2.from_image(image).portrait
    out = portrait.save(tmp_path / f"face{suffix}")
    assert out.read_bytes() == image


def test_save_as_jpeg2000_from_jpeg(tmp_path):
    out = DG2.from_image(JPEG).portrait.save(tmp_path / "face.jp2")
    assert probe_image(out.read_bytes()).format == "JP2"


def test_to_dict_gives_base64_or_path_never_bytes(tmp_path):
    portrait = DG2.from_image(J2K).portrait
    d = portrait.to_dict()
    json.dumps(d)
    assert base64.b64decode(d["image_base64"]) == J2K
    assert d["mime_type"] == "image/j2k" and d["width"] == 48
    d2 = portrait.to_dict(path=tmp_path / "p.j2k")
    assert "image_base64" not in d2 and d2["path"].endswith("p.j2k")
    assert "image=" not in repr(portrait)
    json.dumps(DG2.from_image(JPEG).to_dict())


def test_undecodable_portrait_raises_parse_error():
    broken = Portrait(JPEG[:40], "JPEG")
    with pytest.raises(ParseError):
        broken.to_image()


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (tlv("61", b""), 0),  # not DG2
        (tlv("75", tlv("02", b"\x01")), 2),  # no 7F61
        (
            tlv("75", tlv("7F61", tlv("7F60", BHT_NO_VERSION + tlv("5F2E", record_19794(JPEG))))),
            9,
        ),  # no count
        (dg2_around(b"FAC\x00010\x00"), 30),  # record header cut short (5F2E value at 30)
        (dg2_around(record_19794(JPEG)[:30]), 30 + 14),  # facial information cut short
        (dg2_around(record_19794(JPEG, block_delta=-len(JPEG) - 1)), 38 + 14),  # block shorter than headers
        (tlv("75", tlv("7F61", tlv("02", b"\x01") + tlv("7F60", BHT_NO_VERSION))), None),  # no data block
    ],
    ids=["tag", "no-7F61", "no-count", "short-header", "short-info", "short-block", "no-bdb"],
)
def test_bad_input_raises_parse_error_naming_dg2(data, offset):
    with pytest.raises(ParseError) as info:
        DG2.decode(data)
    assert info.value.file == "DG2"
    if offset is not None:
        assert info.value.offset == offset


def test_decode_file_returns_dg2():
    data = DG2.from_image(JPEG).encode()
    assert isinstance(decode_file("DG2", data), DG2)
    assert isinstance(decode_file(0x75, data), DG2)


def test_other_19794_versions_keep_the_record_and_find_the_image_by_magic():
    body = b"\x01" * 23 + JPEG  # a 2011-style record: its own block layout, not walked here
    record = b"FAC\x00" + b"030\x00" + struct.pack(">IH", 14 + len(body), 1) + body
    data = dg2_around(record)
    dg2 = DG2.decode(data)
    assert dg2.templates[0].data.version == b"030\x00"
    assert dg2.portrait.image == JPEG
    assert dg2.encode() == data


def test_builders_reject_bad_caller_input(tmp_path):
    from cccd_reader.errors import InputError

    with pytest.raises(InputError):
        DG2.from_image(b"GIF89a....")
    with pytest.raises(InputError):
        DG2.from_image(JPEG, encoding="19794-2011")
    with pytest.raises(InputError):
        DG2.from_image(JPEG).portrait.save(tmp_path / "face")  # no suffix, no format
    assert DG2.from_image(JPEG).portrait.save(tmp_path / "face", format="png").read_bytes()[:4] == b"\x89PNG"
