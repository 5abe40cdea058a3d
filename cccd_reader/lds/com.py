"""EF.COM (ICAO 9303-10 §4.6.1): LDS version, Unicode version and the list of data groups present.

EF.COM is informative only (the SOD is what a reader should trust for the DG list), but a CCCD lists
DG1, DG2, DG3, DG13, DG14 and DG15 there, and the emulator writes one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Self

from cccd_reader.errors import InputError, ParseError, TLVError
from cccd_reader.iso7816.tlv import encode_tag, encode_tlv, read_tag
from cccd_reader.lds import COM_TAG, DG_TAGS, TAG_TO_DG
from cccd_reader.lds.raw import (
    Node,
    Source,
    decode_template,
    encode_exact,
    remember_source,
    value_offset,
)

FILE = "EF.COM"
LDS_VERSION_TAG = 0x5F01
UNICODE_VERSION_TAG = 0x5F36
TAG_LIST_TAG = 0x5C


@dataclass(frozen=True)
class EFCOM:
    """EF.COM. ``lds_version`` is the 4-digit text (``"0107"`` = LDS 1.7), ``unicode_version`` 6 digits."""

    lds_version: str | None
    unicode_version: str | None
    tags: tuple[int, ...]
    extra: tuple[Node, ...] = ()  # other data objects, kept for re-encoding
    _source: Source | None = field(default=None, repr=False, compare=False)

    @classmethod
    def build(
        cls, lds_version: str = "0107", unicode_version: str = "040000", dg_numbers: Iterable[int] = (1, 2)
    ) -> Self:
        """``lds_version`` as ``"0107"`` or ``"1.7"``; ``unicode_version`` as ``"040000"`` or ``"4.0.0"``."""
        tags = []
        for n in dg_numbers:
            if n not in DG_TAGS:
                raise InputError(f"no data group {n} in LDS 1.7")
            tags.append(DG_TAGS[n])
        return cls(_version_text(lds_version, 2), _version_text(unicode_version, 3), tuple(tags))

    @classmethod
    def decode(cls, data: bytes) -> Self:
        data = bytes(data)
        top = decode_template(data, COM_TAG, file=FILE, what="EF.COM template")
        lds = uni = None
        tags: tuple[int, ...] | None = None
        extra: list[Node] = []
        for child in top.children or ():
            if child.tag == LDS_VERSION_TAG and lds is None:
                lds = _ascii(child.value, value_offset(child), "LDS version")
            elif child.tag == UNICODE_VERSION_TAG and uni is None:
                uni = _ascii(child.value, value_offset(child), "Unicode version")
            elif child.tag == TAG_LIST_TAG and tags is None:
                tags = _tag_list(child.value, value_offset(child))
            else:
                extra.append(Node.from_tlv(child))
        if tags is None:
            raise ParseError("the tag list (5C) is missing", file=FILE, offset=top.header_length)
        record = cls(lds, uni, tags, tuple(extra))
        return replace(record, _source=remember_source(data, record._canonical()))

    def _canonical(self) -> bytes:
        body = b""
        if self.lds_version is not None:
            body += encode_tlv(LDS_VERSION_TAG, self.lds_version.encode("ascii"))
        if self.unicode_version is not None:
            body += encode_tlv(UNICODE_VERSION_TAG, self.unicode_version.encode("ascii"))
        body += encode_tlv(TAG_LIST_TAG, b"".join(encode_tag(t) for t in self.tags))
        body += b"".join(n.encode() for n in self.extra)
        return encode_tlv(COM_TAG, body)

    def encode(self) -> bytes:
        return encode_exact(self._source, self._canonical())

    @property
    def data_groups(self) -> tuple[int, ...]:
        """DG numbers listed, in file order (tags that name no data group are left out)."""
        return tuple(TAG_TO_DG[t] for t in self.tags if t in TAG_TO_DG)

    @property
    def unknown_tags(self) -> tuple[int, ...]:
        return tuple(t for t in self.tags if t not in TAG_TO_DG)

    @property
    def lds_version_tuple(self) -> tuple[int, int] | None:
        v = self.lds_version
        if v is None or len(v) != 4 or not v.isdigit():
            return None
        return int(v[:2]), int(v[2:])

    @property
    def unicode_version_tuple(self) -> tuple[int, int, int] | None:
        v = self.unicode_version
        if v is None or len(v) != 6 or not v.isdigit():
            return None
        return int(v[:2]), int(v[2:4]), int(v[4:])

    def to_dict(self) -> dict[str, Any]:
        lds = self.lds_version_tuple
        uni = self.unicode_version_tuple
        return {
            "lds_version": f"{lds[0]}.{lds[1]}" if lds else self.lds_version,
            "unicode_version": ".".join(map(str, uni)) if uni else self.unicode_version,
            "data_groups": [f"DG{n}" for n in self.data_groups],
            "tags": [f"{t:02X}" for t in self.tags],
        }


def _ascii(value: bytes, offset: int, what: str) -> str:
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:
        raise ParseError(f"the {what} is not ASCII digits", file=FILE, offset=offset) from None


def _tag_list(value: bytes, offset: int) -> tuple[int, ...]:
    tags = []
    pos = 0
    while pos < len(value):
        try:
            tag, pos = read_tag(value, pos, file=FILE)
        except TLVError as exc:
            raise ParseError(
                f"bad tag in the tag list: {exc.reason}", file=FILE, offset=offset + pos
            ) from None
        tags.append(tag)
    return tuple(tags)


def _version_text(version: str, parts: int) -> str:
    if "." in version:
        pieces = version.split(".")
        if len(pieces) != parts or not all(p.isdigit() for p in pieces):
            raise InputError(f"version {version!r} must have {parts} numeric parts")
        return "".join(f"{int(p):02d}" for p in pieces)
    if len(version) != 2 * parts or not version.isdigit():
        raise InputError(f"version {version!r} must be {2 * parts} digits")
    return version
