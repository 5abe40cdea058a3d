"""Files kept as bytes, and the small TLV toolkit the LDS decoders share to re-encode exactly.

Unknown data groups (DG3-DG12, DG16, the DG17+ some issuers add) must never abort a read: they are kept
as :class:`RawFile`. Every typed record here also promises ``encode(decode(b)) == b``, because the SOD
hashes the exact bytes and the emulator personalises cards from records. Chips do not always write the
shortest DER (long-form lengths for short values, padding after the file), so each record remembers the
bytes it was decoded from together with a digest of its own canonical encoding: while the fields are
unchanged ``encode`` returns the original bytes, and once a field is replaced it returns a fresh
encoding (see :func:`remember_source` and :func:`encode_exact`).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cccd_reader.errors import ParseError, TLVError
from cccd_reader.iso7816.tlv import TLV, decode_one, encode_tlv, is_constructed, read_header

Source = tuple[bytes, bytes]
"""(original bytes, SHA-256 of the canonical encoding made from the decoded fields)."""


def remember_source(original: bytes, canonical: bytes) -> Source | None:
    """What a record keeps to re-encode ``original`` exactly; ``None`` when canonical already equals it."""
    if original == canonical:
        return None
    return bytes(original), hashlib.sha256(canonical).digest()


def encode_exact(source: Source | None, canonical: bytes) -> bytes:
    """The original bytes while the record is unchanged, else the canonical encoding."""
    if source is not None and hashlib.sha256(canonical).digest() == source[1]:
        return source[0]
    return canonical


@dataclass(frozen=True, slots=True)
class Node:
    """A TLV without positions, so that two decodes of equal content compare equal.

    ``children`` is set for constructed tags. Decoders keep elements they do not interpret as nodes
    and write them back unchanged.
    """

    tag: int
    value: bytes = field(default=b"", repr=False)
    children: tuple[Node, ...] | None = None

    @classmethod
    def from_tlv(cls, tlv: TLV) -> Node:
        if tlv.children is not None:
            return cls(tlv.tag, b"", tuple(cls.from_tlv(c) for c in tlv.children))
        return cls(tlv.tag, bytes(tlv.value))

    @classmethod
    def primitive(cls, tag: int, value: bytes) -> Node:
        return cls(tag, bytes(value))

    @classmethod
    def constructed_of(cls, tag: int, *children: Node) -> Node:
        return cls(tag, b"", tuple(children))

    @property
    def constructed(self) -> bool:
        return self.children is not None

    def content(self) -> bytes:
        """The value field as it would be encoded."""
        if self.children is not None:
            return b"".join(c.encode() for c in self.children)
        return self.value

    def encode(self) -> bytes:
        return encode_tlv(self.tag, self.content())

    def find(self, tag: int) -> Node | None:
        for child in self.children or ():
            if child.tag == tag:
                return child
        return None

    def find_all(self, tag: int) -> Iterator[Node]:
        return (c for c in self.children or () if c.tag == tag)

    def walk(self) -> Iterator[Node]:
        """This node and its descendants in document order."""
        yield self
        for child in self.children or ():
            yield from child.walk()


def int_value(data: bytes) -> int:
    """A DER INTEGER's value (two's complement); an empty value reads as 0 (lenient)."""
    return int.from_bytes(data, "big", signed=True) if data else 0


def encode_int(value: int) -> bytes:
    """Minimal two's-complement content octets of an INTEGER."""
    length = max(1, (value + (value < 0)).bit_length() // 8 + 1)
    return value.to_bytes(length, "big", signed=True)


def tag_hex(tag: int | None) -> str | None:
    return None if tag is None else f"{tag:02X}"


def value_offset(tlv: TLV, base: int = 0) -> int:
    """Absolute offset of ``tlv``'s value field when the decoded buffer started at ``base``."""
    return base + tlv.offset + tlv.header_length


def expect_tag(tlv: TLV, tag: int, *, file: str, what: str, base: int = 0) -> None:
    if tlv.tag != tag:
        raise ParseError(
            f"expected {what} (tag {tag:X}), found tag {tlv.tag:X}", file=file, offset=base + tlv.offset
        )


def reraise_as(file: str, exc: TLVError) -> ParseError:
    """A TLV error re-labelled with the file being decoded (the TLV layer does not know it)."""
    if exc.file == file:
        return exc
    return TLVError(exc.reason, file=file, offset=exc.offset)


def decode_template(data: bytes, tag: int, *, file: str, what: str) -> TLV:
    """Decode an EF's outer template and check its tag.

    Bytes after the template are tolerated (chips pad files); TLV errors are re-labelled with ``file``.
    """
    try:
        top = decode_one(data, file=file, allow_trailing=True)
    except TLVError as exc:
        raise reraise_as(file, exc) from None
    expect_tag(top, tag, file=file, what=what)
    return top


@dataclass(frozen=True)
class RawFile:
    """A file kept as bytes: an unknown data group, or one whose decoder is not available.

    ``tag`` is the outer tag when the first bytes are a readable TLV header, else ``None``; decoding never
    fails, so a read can go on past files it cannot interpret.
    """

    data: bytes = field(repr=False)
    name: str | None = None
    tag: int | None = None

    @classmethod
    def decode(cls, data: bytes, *, name: str | None = None) -> RawFile:
        data = bytes(data)
        try:
            tag, _, _ = read_header(data, 0)
        except TLVError:
            tag = None
        return cls(data, name, tag)

    def encode(self) -> bytes:
        return self.data

    @property
    def value(self) -> bytes | None:
        """The value of the outer TLV, or ``None`` when the bytes are not a complete TLV."""
        try:
            _, length, pos = read_header(self.data, 0)
        except TLVError:
            return None
        if pos + length > len(self.data):
            return None
        return self.data[pos : pos + length]

    @property
    def constructed(self) -> bool:
        return self.tag is not None and is_constructed(self.tag)

    def __repr__(self) -> str:
        return f"RawFile(name={self.name!r}, tag={tag_hex(self.tag)!r}, length={len(self.data)})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tag": tag_hex(self.tag),
            "length": len(self.data),
            "data": base64.b64encode(self.data).decode("ascii"),
        }
