"""Biometric building blocks of DG2: the CBEFF header (ISO/IEC 7816-11), the ISO/IEC 19794-5:2005 facial
record and the ISO/IEC 39794-5 face image data block, plus image sniffing by magic bytes.

Everything decodes and encodes byte-exactly. The 19794-5 parser tolerates the slack seen on real
documents (record length off by a byte or eight, padding after the image): declared lengths are kept
as read, not trusted for slicing beyond the data, and bytes after the last image are kept.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field, replace
from typing import Any, Self

from cccd_reader.errors import ParseError, TLVError
from cccd_reader.iso7816.tlv import decode as tlv_decode
from cccd_reader.iso7816.tlv import encode_tlv
from cccd_reader.lds.raw import Node, Source, encode_exact, encode_int, int_value

FILE = "DG2"

# --- image sniffing -----------------------------------------------------------------------------------

JPEG_MAGIC = b"\xff\xd8\xff"
JP2_MAGIC = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
J2K_MAGIC = b"\xff\x4f\xff\x51"
_MAGICS = (("JPEG", JPEG_MAGIC), ("JP2", JP2_MAGIC), ("J2K", J2K_MAGIC))
MAX_SCAN = 64 * 1024  # JPEG marker segments walked before giving up on the frame header


@dataclass(frozen=True)
class ImageProbe:
    """What the image's own header says: codec and size (``None`` when the header is unreadable)."""

    format: str  # "JPEG" | "JP2" | "J2K" | "unknown"
    width: int | None = None
    height: int | None = None


def image_format(data: bytes) -> str:
    for name, magic in _MAGICS:
        if data.startswith(magic):
            return name
    return "unknown"


def find_image(data: bytes, start: int = 0) -> int | None:
    """Offset of the first JPEG / JP2 / J2K signature at or after ``start``, for records we cannot walk."""
    hits = [i for _, magic in _MAGICS if (i := data.find(magic, start)) >= 0]
    return min(hits) if hits else None


def probe_image(data: bytes) -> ImageProbe:
    """Codec by magic bytes, size from the JPEG SOF, the JP2 ``ihdr`` box or the J2K SIZ marker."""
    fmt = image_format(data)
    size: tuple[int, int] | None = None
    if fmt == "JPEG":
        size = _jpeg_size(data)
    elif fmt == "JP2":
        size = _jp2_size(data)
    elif fmt == "J2K":
        size = _j2k_size(data, 0)
    return ImageProbe(fmt, *(size or (None, None)))


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    end = min(len(data), MAX_SCAN * 16)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            return None
        (seg_len,) = struct.unpack_from(">H", data, pos + 2)
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            if pos + 9 > len(data):
                return None
            height, width = struct.unpack_from(">HH", data, pos + 5)
            return width, height
        if seg_len < 2:
            return None
        pos += 2 + seg_len
    return None


def _j2k_size(data: bytes, pos: int) -> tuple[int, int] | None:
    if data[pos : pos + 4] != J2K_MAGIC or pos + 24 > len(data):
        return None
    xsiz, ysiz, xo, yo = struct.unpack_from(">IIII", data, pos + 8)
    if xsiz < xo or ysiz < yo:
        return None
    return xsiz - xo, ysiz - yo


def _jp2_size(data: bytes) -> tuple[int, int] | None:
    for box_type, start, end in _boxes(data, 0, len(data)):
        if box_type == b"jp2h":
            for sub_type, s, e in _boxes(data, start, end):
                if sub_type == b"ihdr" and e - s >= 8:
                    height, width = struct.unpack_from(">II", data, s)
                    return width, height
        if box_type == b"jp2c":
            return _j2k_size(data, start)
    return None


def _boxes(data: bytes, pos: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, content start, content end) of the JPEG 2000 boxes in ``data[pos:end]``; at most 64."""
    out: list[tuple[bytes, int, int]] = []
    while pos + 8 <= end and len(out) < 64:
        (length,) = struct.unpack_from(">I", data, pos)
        box_type = data[pos + 4 : pos + 8]
        header = 8
        if length == 1:
            if pos + 16 > end:
                break
            (length,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif length == 0:
            length = end - pos
        if length < header or pos + length > end:
            out.append((box_type, pos + header, end))
            break
        out.append((box_type, pos + header, pos + length))
        pos += length
    return out


# --- CBEFF biometric header template (ISO/IEC 7816-11, ICAO 9303-10 §4.7.2) ------------------------------

BHT_TAG = 0xA1
ICAO_HEADER_VERSION_TAG = 0x80
BIOMETRIC_TYPE_TAG = 0x81
BIOMETRIC_SUBTYPE_TAG = 0x82
CREATION_DATE_TAG = 0x83
VALIDITY_PERIOD_TAG = 0x85
CREATOR_TAG = 0x86
FORMAT_OWNER_TAG = 0x87
FORMAT_TYPE_TAG = 0x88

FORMAT_OWNER_JTC1_SC37 = 0x0101
FORMAT_TYPE_19794_5 = 0x0008  # ISO/IEC 19794-5 face image
FORMAT_TYPE_39794_5 = 0x002A  # ISO/IEC 39794-5 face image (CBEFF registry "g3-binary-face-image")
BIOMETRIC_TYPE_FACE = 0x02


@dataclass(frozen=True)
class BiometricHeader:
    """A biometric header template: its data objects in file order (tag, value)."""

    elements: tuple[tuple[int, bytes], ...]
    tag: int = BHT_TAG

    @classmethod
    def for_face(cls, format_type: int = FORMAT_TYPE_19794_5, *, header_version: bool = True) -> Self:
        """A face's header; ``header_version=False`` omits the ICAO header version (real CCCDs do)."""
        version = ((ICAO_HEADER_VERSION_TAG, b"\x01\x01"),) if header_version else ()
        return cls(
            (
                *version,
                (BIOMETRIC_TYPE_TAG, bytes([BIOMETRIC_TYPE_FACE])),
                (BIOMETRIC_SUBTYPE_TAG, b"\x00"),
                (FORMAT_OWNER_TAG, FORMAT_OWNER_JTC1_SC37.to_bytes(2, "big")),
                (FORMAT_TYPE_TAG, format_type.to_bytes(2, "big")),
            )
        )

    def get(self, tag: int) -> bytes | None:
        for t, v in self.elements:
            if t == tag:
                return v
        return None

    def _int(self, tag: int) -> int | None:
        v = self.get(tag)
        return int.from_bytes(v, "big") if v else None

    @property
    def biometric_type(self) -> int | None:
        return self._int(BIOMETRIC_TYPE_TAG)

    @property
    def format_owner(self) -> int | None:
        return self._int(FORMAT_OWNER_TAG)

    @property
    def format_type(self) -> int | None:
        return self._int(FORMAT_TYPE_TAG)

    def node(self) -> Node:
        return Node.constructed_of(self.tag, *(Node.primitive(t, v) for t, v in self.elements))

    def to_dict(self) -> dict[str, Any]:
        return {f"{t:02X}": v.hex().upper() for t, v in self.elements}


# --- ISO/IEC 19794-5:2005 facial record ---------------------------------------------------------------

FAC_MAGIC = b"FAC\x00"
VERSION_2005 = b"010\x00"
RECORD_HEADER = struct.Struct(">4s4sIH")  # format id, version, record length, number of images
FACIAL_INFO = struct.Struct(
    ">IHBBB3s2s3s3s"
)  # block length, points, gender, eyes, hair, mask, expr, pose, unc.
FEATURE_POINT = struct.Struct(">BBHH2s")
IMAGE_INFO = struct.Struct(
    ">BBHHBBHH"
)  # face image type, data type, width, height, colour, source, device, quality
IMAGE_DATA_TYPE_JPEG = 0
IMAGE_DATA_TYPE_JPEG2000 = 1
MAX_FACES = 16
MAX_FEATURE_POINTS = 1024


@dataclass(frozen=True)
class FeaturePoint:
    type: int
    code: int  # major code in the high nibble, minor in the low one
    x: int
    y: int
    reserved: bytes = b"\x00\x00"


@dataclass(frozen=True)
class FaceImage19794:
    """One facial record data block: facial information, feature points, image information, image."""

    image: bytes = field(repr=False)
    image_data_type: int = IMAGE_DATA_TYPE_JPEG
    width: int = 0
    height: int = 0
    face_image_type: int = 1  # 1 = full frontal
    colour_space: int = 1  # 1 = 24-bit RGB
    source_type: int = 2  # 2 = digital still camera
    device_type: int = 0
    quality: int = 0
    gender: int = 0
    eye_colour: int = 0
    hair_colour: int = 0
    feature_mask: bytes = b"\x00\x00\x00"
    expression: bytes = b"\x00\x00"
    pose_angle: bytes = b"\x00\x00\x00"
    pose_angle_uncertainty: bytes = b"\x00\x00\x00"
    feature_points: tuple[FeaturePoint, ...] = ()
    declared_length: int | None = None  # block length as read, when it disagrees with the data

    @property
    def block_length(self) -> int:
        return (
            FACIAL_INFO.size
            + FEATURE_POINT.size * len(self.feature_points)
            + IMAGE_INFO.size
            + len(self.image)
        )

    def encode(self) -> bytes:
        out = FACIAL_INFO.pack(
            self.block_length if self.declared_length is None else self.declared_length,
            len(self.feature_points),
            self.gender,
            self.eye_colour,
            self.hair_colour,
            self.feature_mask,
            self.expression,
            self.pose_angle,
            self.pose_angle_uncertainty,
        )
        for p in self.feature_points:
            out += FEATURE_POINT.pack(p.type, p.code, p.x, p.y, p.reserved)
        out += IMAGE_INFO.pack(
            self.face_image_type,
            self.image_data_type,
            self.width,
            self.height,
            self.colour_space,
            self.source_type,
            self.device_type,
            self.quality,
        )
        return out + self.image

    def to_dict(self) -> dict[str, Any]:
        return {
            "image_data_type": {0: "JPEG", 1: "JPEG2000"}.get(self.image_data_type, self.image_data_type),
            "width": self.width,
            "height": self.height,
            "face_image_type": self.face_image_type,
            "colour_space": self.colour_space,
            "source_type": self.source_type,
            "device_type": self.device_type,
            "quality": self.quality,
            "feature_points": len(self.feature_points),
            "image_size": len(self.image),
        }


@dataclass(frozen=True)
class FacialRecord19794:
    """An ISO/IEC 19794-5 record ("FAC\\0"). ``trailing`` holds bytes after the last image.

    Records of another version than 2005 ("010") are kept whole in ``body``; their image is found by its
    magic bytes.
    """

    images: tuple[FaceImage19794, ...]
    version: bytes = VERSION_2005
    declared_length: int | None = None  # record length as read, when it disagrees with the data
    declared_count: int | None = None
    body: bytes = field(default=b"", repr=False)  # unparsed content for versions other than 2005
    trailing: bytes = field(default=b"", repr=False)

    @classmethod
    def build(cls, images: tuple[FaceImage19794, ...]) -> Self:
        return cls(images)

    @classmethod
    def decode(cls, data: bytes, *, base: int = 0) -> Self:
        data = bytes(data)
        if len(data) < RECORD_HEADER.size:
            raise ParseError("facial record shorter than its 14-byte header", file=FILE, offset=base)
        magic, version, length, count = RECORD_HEADER.unpack_from(data, 0)
        if magic != FAC_MAGIC:
            raise ParseError("facial record does not start with 'FAC\\0'", file=FILE, offset=base)
        if version != VERSION_2005:
            return cls((), version, length, count, data[RECORD_HEADER.size :])
        if count > MAX_FACES:
            raise ParseError(
                f"facial record claims {count} images (at most {MAX_FACES})", file=FILE, offset=base + 12
            )
        pos = RECORD_HEADER.size
        images = []
        for _ in range(count):
            image, pos = _decode_face(data, pos, base)
            images.append(image)
        record = cls(tuple(images), version, None, None, b"", data[pos:])
        declared_length = None if length == len(record._encode_plain()) else length
        return replace(record, declared_length=declared_length)

    def _encode_plain(self, length: int | None = None) -> bytes:
        body = self.body if self.version != VERSION_2005 else b"".join(i.encode() for i in self.images)
        count = len(self.images) if self.declared_count is None else self.declared_count
        total = RECORD_HEADER.size + len(body) + len(self.trailing)
        return (
            RECORD_HEADER.pack(FAC_MAGIC, self.version, total if length is None else length, count)
            + body
            + self.trailing
        )

    def encode(self) -> bytes:
        return self._encode_plain(self.declared_length)


def _decode_face(data: bytes, pos: int, base: int) -> tuple[FaceImage19794, int]:
    start = pos
    if pos + FACIAL_INFO.size > len(data):
        raise ParseError("facial information block truncated", file=FILE, offset=base + pos)
    (block_len, n_points, gender, eyes, hair, mask, expr, pose, unc) = FACIAL_INFO.unpack_from(data, pos)
    pos += FACIAL_INFO.size
    if n_points > MAX_FEATURE_POINTS:
        raise ParseError(f"{n_points} feature points is not plausible", file=FILE, offset=base + start + 4)
    if pos + n_points * FEATURE_POINT.size + IMAGE_INFO.size > len(data):
        raise ParseError("feature points or image information truncated", file=FILE, offset=base + pos)
    points = []
    for _ in range(n_points):
        points.append(FeaturePoint(*FEATURE_POINT.unpack_from(data, pos)))
        pos += FEATURE_POINT.size
    (face_type, data_type, width, height, colour, source, device, quality) = IMAGE_INFO.unpack_from(data, pos)
    pos += IMAGE_INFO.size
    header_len = pos - start
    image_len = block_len - header_len
    if image_len < 0:
        raise ParseError(
            f"facial block length {block_len} is shorter than its headers", file=FILE, offset=base + start
        )
    end = min(len(data), pos + image_len)  # tolerate a block length past the end (slack)
    image = FaceImage19794(
        data[pos:end],
        data_type,
        width,
        height,
        face_type,
        colour,
        source,
        device,
        quality,
        gender,
        eyes,
        hair,
        mask,
        expr,
        pose,
        unc,
        tuple(points),
    )
    if image.block_length != block_len:
        image = replace(image, declared_length=block_len)
    return image, end


# --- ISO/IEC 39794-5 face image data block (DER) ---------------------------------------------------------

FACE_IMAGE_DATA_BLOCK_TAG = 0x65  # [APPLICATION 5] SEQUENCE
DG2_39794_WRAPPER_TAG = 0xA1  # the 7F2E value wraps the block in [1], as ICAO's application profile does
IMAGE_FORMAT_CODES = {2: "JPEG", 3: "JPEG2000 lossy", 4: "JPEG2000 lossless"}


@dataclass(frozen=True)
class Representation39794:
    """What a representation block says about its 2D image (the rest stays in the node tree)."""

    image: bytes = field(repr=False)
    data_format: int | None
    width: int | None
    height: int | None


@dataclass(frozen=True)
class FaceImageDataBlock39794:
    """An ISO/IEC 39794-5 face image data block, kept as its DER tree (the 7F2E data objects)."""

    nodes: tuple[Node, ...] = field(repr=False)

    @classmethod
    def decode(cls, data: bytes, *, base: int = 0) -> Self:
        try:
            tlvs = tlv_decode(bytes(data), file=FILE)
        except TLVError as exc:
            off = None if exc.offset is None else base + exc.offset
            raise ParseError(
                f"ISO/IEC 39794-5 block is not valid DER: {exc.reason}", file=FILE, offset=off
            ) from None
        record = cls(tuple(Node.from_tlv(t) for t in tlvs))
        if record.block is None:
            raise ParseError(
                "no ISO/IEC 39794-5 face image data block ([APPLICATION 5])", file=FILE, offset=base
            )
        return record

    @classmethod
    def build(
        cls,
        image: bytes,
        *,
        data_format: int,
        width: int | None,
        height: int | None,
        generation: int = 3,
        year: int = 2019,
    ) -> Self:
        """A minimal block: version, one representation with the image, its format and size."""
        info = [Node.constructed_of(0xA0, Node.primitive(0x80, encode_int(data_format)))]
        if width is not None and height is not None:
            info.append(
                Node.constructed_of(
                    0xA7, Node.primitive(0x80, encode_int(width)), Node.primitive(0x81, encode_int(height))
                )
            )
        block_2d = Node.constructed_of(0xA0, Node.primitive(0x80, image), Node.constructed_of(0xA1, *info))
        representation = Node.constructed_of(
            0x30,
            Node.primitive(0x80, b"\x00"),
            Node.constructed_of(0xA1, Node.constructed_of(0xA0, block_2d)),
        )
        block = Node.constructed_of(
            FACE_IMAGE_DATA_BLOCK_TAG,
            Node.constructed_of(
                0xA0, Node.primitive(0x80, encode_int(generation)), Node.primitive(0x81, encode_int(year))
            ),
            Node.constructed_of(0xA1, representation),
        )
        return cls((Node.constructed_of(DG2_39794_WRAPPER_TAG, block),))

    def encode(self) -> bytes:
        return b"".join(n.encode() for n in self.nodes)

    @property
    def block(self) -> Node | None:
        """The [APPLICATION 5] node, wrapped in [1] (ICAO profile) or not (lenient)."""
        for n in self.nodes:
            if n.tag == FACE_IMAGE_DATA_BLOCK_TAG and n.children is not None:
                return n
            if n.tag == DG2_39794_WRAPPER_TAG:
                inner = n.find(FACE_IMAGE_DATA_BLOCK_TAG)
                if inner is not None and inner.children is not None:
                    return inner
        return None

    @property
    def version(self) -> tuple[int, int] | None:
        block = self.block
        vb = block.find(0xA0) if block else None
        gen = vb.find(0x80) if vb else None
        year = vb.find(0x81) if vb else None
        if gen is None or year is None:
            return None
        return int_value(gen.value), int_value(year.value)

    @property
    def representations(self) -> tuple[Representation39794, ...]:
        block = self.block
        reps = block.find(0xA1) if block else None
        out = []
        for rep in reps.find_all(0x30) if reps else ():
            # imageRepresentation [1] CHOICE -> base [0] CHOICE -> imageRepresentation2DBlock [0] SEQUENCE
            image_rep = rep.find(0xA1)
            base = image_rep.find(0xA0) if image_rep else None
            block_2d = base.find(0xA0) if base else None
            if block_2d is None:
                continue
            data = block_2d.find(0x80)
            info = block_2d.find(0xA1)
            fmt_choice = info.find(0xA0) if info else None
            fmt_code = fmt_choice.find(0x80) if fmt_choice else None
            size = info.find(0xA7) if info else None
            width = size.find(0x80) if size else None
            height = size.find(0x81) if size else None
            out.append(
                Representation39794(
                    data.value if data is not None and data.children is None else b"",
                    int_value(fmt_code.value) if fmt_code is not None and fmt_code.children is None else None,
                    int_value(width.value) if width is not None and width.children is None else None,
                    int_value(height.value) if height is not None and height.children is None else None,
                )
            )
        return tuple(out)


# --- 7F60: one biometric information template -----------------------------------------------------------

BIT_TAG = 0x7F60
BDB_TAG = 0x5F2E
BDB_CONSTRUCTED_TAG = 0x7F2E
BiometricData = FacialRecord19794 | FaceImageDataBlock39794 | bytes


@dataclass(frozen=True)
class BiometricInfoTemplate:
    """A 7F60 template: header (A1), biometric data block (5F2E or 7F2E), and other objects kept as nodes.

    ``data`` is a 19794-5 record, a 39794-5 block, or the raw 5F2E bytes when neither format is
    recognised (the portrait is then looked for by magic bytes).
    """

    header: BiometricHeader | None
    data: BiometricData = field(repr=False)
    data_tag: int = BDB_TAG
    extra: tuple[Node, ...] = field(default=(), repr=False)
    _source: Source | None = field(default=None, repr=False, compare=False)

    @property
    def encoding(self) -> str:
        if isinstance(self.data, FacialRecord19794):
            return "ISO/IEC 19794-5"
        if isinstance(self.data, FaceImageDataBlock39794):
            return "ISO/IEC 39794-5"
        return "unknown"

    def _canonical(self) -> bytes:
        body = self.header.node().encode() if self.header is not None else b""
        data = self.data if isinstance(self.data, bytes) else self.data.encode()
        body += encode_tlv(self.data_tag, data)
        body += b"".join(n.encode() for n in self.extra)
        return encode_tlv(BIT_TAG, body)

    def encode(self) -> bytes:
        return encode_exact(self._source, self._canonical())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "encoding": self.encoding,
            "header": self.header.to_dict() if self.header else None,
        }
        if isinstance(self.data, FacialRecord19794):
            out["facial_record"] = {
                "version": self.data.version.rstrip(b"\x00").decode("latin-1"),
                "images": [i.to_dict() for i in self.data.images],
                "trailing_bytes": len(self.data.trailing),
            }
        elif isinstance(self.data, FaceImageDataBlock39794):
            out["representations"] = [
                {
                    "data_format": IMAGE_FORMAT_CODES.get(r.data_format or -1, r.data_format),
                    "width": r.width,
                    "height": r.height,
                    "image_size": len(r.image),
                }
                for r in self.data.representations
            ]
        return out
