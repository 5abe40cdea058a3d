"""DG2 (ICAO 9303-10 §4.7.2): the encoded face, down to a :class:`~cccd_reader.model.Portrait`.

Layout: ``75 { 7F61 { 02 count, 7F60 { A1 header, 5F2E|7F2E data } ... } }``. The data block is an
ISO/IEC 19794-5 facial record ("FAC\\0", what CCCD chips carry) or an ISO/IEC 39794-5 DER block (ICAO's
newer encoding); both are walked, never sliced at fixed offsets. The codec is then taken from the
image's magic bytes, which win over the declared image data type.

Real CCCD records (cccd-card-facts §8) carry no ICAO header version (tag 80) in the biometric header and
declare 480 x 400 in the 19794-5 image information while the JPEG inside is 300 x 400: the portrait's
size is therefore taken from the image itself, and the declared size is only kept (for re-encoding).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Self

from cccd_reader.errors import InputError, ParseError
from cccd_reader.iso7816.tlv import TLV, encode_tlv
from cccd_reader.lds import DG_TAGS
from cccd_reader.lds.biometric import (
    BDB_CONSTRUCTED_TAG,
    BDB_TAG,
    BHT_TAG,
    BIT_TAG,
    FAC_MAGIC,
    FORMAT_TYPE_19794_5,
    FORMAT_TYPE_39794_5,
    IMAGE_DATA_TYPE_JPEG,
    IMAGE_DATA_TYPE_JPEG2000,
    JPEG_MAGIC,
    BiometricData,
    BiometricHeader,
    BiometricInfoTemplate,
    FaceImage19794,
    FaceImageDataBlock39794,
    FacialRecord19794,
    find_image,
    image_format,
    probe_image,
)
from cccd_reader.lds.raw import (
    Node,
    Source,
    decode_template,
    encode_exact,
    encode_int,
    int_value,
    remember_source,
    value_offset,
)
from cccd_reader.model import Portrait

FILE = "DG2"
DG2_TAG = DG_TAGS[2]
BIGT_TAG = 0x7F61  # biometric information group template
COUNT_TAG = 0x02
MAX_TEMPLATES = 16


@dataclass(frozen=True)
class DG2:
    """DG2: the biometric information templates, in file order. ``portrait`` is the first face image."""

    templates: tuple[BiometricInfoTemplate, ...]
    declared_count: int | None = None  # the 02 count as read, when it disagrees with the templates found
    extra: tuple[Node, ...] = field(default=(), repr=False)  # other objects inside 7F61
    _source: Source | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_image(
        cls,
        image: bytes,
        width: int | None = None,
        height: int | None = None,
        *,
        encoding: str = "19794",
        header_version: bool = True,
        **face: Any,
    ) -> Self:
        """Build DG2 around one portrait (JPEG, JP2 or J2K bytes), as the emulator personalises a card.

        ``width``/``height`` default to the image's own (real CCCD records declare 480 x 400 around a
        300 x 400 JPEG: a reader must trust the image); ``header_version=False`` leaves the ICAO header
        version (tag 80) out of the biometric header, as real CCCD chips do; ``encoding`` is ``"19794"``
        (ISO/IEC 19794-5, what CCCD chips use) or ``"39794"``. Extra keyword arguments set 19794-5 facial
        fields (``gender``, ``eye_colour``, ``source_type``, ...).
        """
        image = bytes(image)
        probe = probe_image(image)
        if probe.format == "unknown":
            raise InputError("the portrait is not JPEG, JP2 or J2K (no magic bytes found)")
        width = probe.width if width is None else width
        height = probe.height if height is None else height
        data: BiometricData
        if encoding == "19794":
            data_type = IMAGE_DATA_TYPE_JPEG if probe.format == "JPEG" else IMAGE_DATA_TYPE_JPEG2000
            face_image = FaceImage19794(image, data_type, width or 0, height or 0, **face)
            data = FacialRecord19794.build((face_image,))
            header = BiometricHeader.for_face(FORMAT_TYPE_19794_5, header_version=header_version)
            data_tag = BDB_TAG
        elif encoding == "39794":
            code = 2 if probe.format == "JPEG" else 4
            data = FaceImageDataBlock39794.build(image, data_format=code, width=width, height=height)
            header = BiometricHeader.for_face(FORMAT_TYPE_39794_5, header_version=header_version)
            data_tag = BDB_CONSTRUCTED_TAG
        else:
            raise InputError("encoding must be '19794' or '39794'")
        return cls((BiometricInfoTemplate(header, data, data_tag),))

    @classmethod
    def decode(cls, data: bytes) -> Self:
        data = bytes(data)
        top = decode_template(data, DG2_TAG, file=FILE, what="DG2 template")
        group = top.find(BIGT_TAG)
        if group is None or group.children is None:
            raise ParseError(
                "the biometric information group template (7F61) is missing",
                file=FILE,
                offset=top.header_length,
            )
        if len(top.children or ()) != 1:
            raise ParseError("DG2 holds data objects besides 7F61", file=FILE, offset=top.header_length)
        count: int | None = None
        templates: list[BiometricInfoTemplate] = []
        extra: list[Node] = []
        for child in group.children:
            if child.tag == COUNT_TAG and count is None and not templates:
                count = int_value(child.value)
            elif child.tag == BIT_TAG and child.children is not None:
                if len(templates) >= MAX_TEMPLATES:
                    raise ParseError(
                        f"more than {MAX_TEMPLATES} biometric templates", file=FILE, offset=child.offset
                    )
                templates.append(_decode_bit(child))
            else:
                extra.append(Node.from_tlv(child))
        if count is None:
            raise ParseError(
                "the number of biometric templates (02) is missing", file=FILE, offset=value_offset(group)
            )
        record = cls(tuple(templates), None if count == len(templates) else count, tuple(extra))
        return replace(record, _source=remember_source(data, record._canonical()))

    def _canonical(self) -> bytes:
        count = len(self.templates) if self.declared_count is None else self.declared_count
        body = encode_tlv(COUNT_TAG, encode_int(count))
        body += b"".join(t.encode() for t in self.templates)
        body += b"".join(n.encode() for n in self.extra)
        return encode_tlv(DG2_TAG, encode_tlv(BIGT_TAG, body))

    def encode(self) -> bytes:
        return encode_exact(self._source, self._canonical())

    def portraits(self) -> list[Portrait]:
        """Every face image found, in file order."""
        out: list[Portrait] = []
        for template in self.templates:
            out.extend(_portraits_of(template))
        return out

    @property
    def portrait(self) -> Portrait | None:
        found = self.portraits()
        return found[0] if found else None

    def __repr__(self) -> str:
        return f"DG2(templates={len(self.templates)}, encodings={[t.encoding for t in self.templates]})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "templates": [t.to_dict() for t in self.templates],
            "portraits": [p.to_dict() for p in self.portraits()],
        }


def _decode_bit(node: TLV) -> BiometricInfoTemplate:
    header: BiometricHeader | None = None
    data: BiometricData | None = None
    data_tag = BDB_TAG
    extra: list[Node] = []
    for child in node.children or ():
        if child.tag == BHT_TAG and header is None and child.children is not None:
            header = BiometricHeader(
                tuple((c.tag, bytes(c.value)) for c in child.children if c.children is None)
            )
            if any(c.children is not None for c in child.children):
                extra.append(Node.from_tlv(child))  # unusual nested header: keep it whole instead
                header = None
        elif child.tag in (BDB_TAG, BDB_CONSTRUCTED_TAG) and data is None:
            data_tag = child.tag
            data = _decode_bdb(child, header)
        else:
            extra.append(Node.from_tlv(child))
    if data is None:
        raise ParseError(
            "a biometric template has no data block (5F2E / 7F2E)", file=FILE, offset=node.offset
        )
    bit = BiometricInfoTemplate(header, data, data_tag, tuple(extra))
    # the 7F60 header's own length form is DG2's concern; here only the content must come back exactly
    return replace(bit, _source=remember_source(encode_tlv(BIT_TAG, bytes(node.value)), bit._canonical()))


def _decode_bdb(child: TLV, header: BiometricHeader | None) -> BiometricData:
    base = value_offset(child)
    value = bytes(child.value)
    if child.tag == BDB_CONSTRUCTED_TAG:
        return FaceImageDataBlock39794.decode(value, base=base)
    if value.startswith(FAC_MAGIC):
        return FacialRecord19794.decode(value, base=base)
    if (header is not None and header.format_type == FORMAT_TYPE_39794_5) or value[:1] in (b"\xa1", b"\x65"):
        try:
            return FaceImageDataBlock39794.decode(value, base=base)
        except ParseError:
            pass
    return value  # unknown format: the image is looked for by its magic bytes


def _portraits_of(template: BiometricInfoTemplate) -> list[Portrait]:
    data = template.data
    out: list[Portrait] = []
    if isinstance(data, FacialRecord19794):
        if data.images:
            for i, face in enumerate(data.images):
                image = face.image
                last = i == len(data.images) - 1
                if (
                    last
                    and data.trailing
                    and image.startswith(JPEG_MAGIC)
                    and not image.endswith(b"\xff\xd9")
                ):
                    # block length a little short of the real image (record-length slack): the end of image
                    # marker sits in the trailing bytes
                    joined = image + data.trailing[:8]
                    eoi = joined.find(b"\xff\xd9", max(0, len(image) - 1))
                    if eoi >= 0:
                        image = joined[: eoi + 2]
                declared: str | None = {
                    IMAGE_DATA_TYPE_JPEG: "JPEG",
                    IMAGE_DATA_TYPE_JPEG2000: "JPEG2000",
                }.get(face.image_data_type, f"type {face.image_data_type}")
                out.append(_portrait(image, face.width, face.height, "ISO/IEC 19794-5", declared))
        else:
            offset = find_image(data.body)
            if offset is not None:
                out.append(_portrait(data.body[offset:], None, None, "ISO/IEC 19794-5", None))
    elif isinstance(data, FaceImageDataBlock39794):
        for rep in data.representations:
            declared_39794 = {2: "JPEG", 3: "JPEG2000", 4: "JPEG2000"}.get(rep.data_format or -1)
            out.append(_portrait(rep.image, rep.width, rep.height, "ISO/IEC 39794-5", declared_39794))
    else:
        offset = find_image(data)
        if offset is not None:
            out.append(_portrait(data[offset:], None, None, "unknown", None))
    return out


def _portrait(
    image: bytes, width: int | None, height: int | None, source: str, declared: str | None
) -> Portrait:
    probe = probe_image(image)
    fmt = probe.format if probe.format != "unknown" else image_format(image)
    family = "JPEG" if fmt == "JPEG" else "JPEG2000" if fmt in ("JP2", "J2K") else None
    mismatch = declared if declared is not None and family is not None and declared != family else None
    return Portrait(
        image=image,
        format=fmt,
        width=probe.width if probe.width else (width or None),
        height=probe.height if probe.height else (height or None),
        source=source,
        declared_type=mismatch,
    )
