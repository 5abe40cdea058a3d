"""BER-TLV (ISO/IEC 8825-1 as used by ISO 7816-4 and ICAO 9303), bounded.

Tags are kept as ints of their encoded bytes (``0x5F1F``, ``0x7F61``), as smart-card specifications print
them. Decoding is defensive: tag length, length-of-length, value length and nesting depth are bounded, and
every failure is a :class:`~cccd_reader.errors.TLVError` carrying the offset.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from cccd_reader.errors import TLVError

MAX_TAG_BYTES = 4
MAX_LENGTH_BYTES = 4
MAX_LENGTH = 16 * 1024 * 1024  # no LDS file comes near this; refuse before allocating
MAX_DEPTH = 32


@dataclass(frozen=True, slots=True)
class TLV:
    """One decoded TLV. ``children`` is set for constructed tags (parsed lazily is not worth it here)."""

    tag: int
    value: bytes
    children: tuple[TLV, ...] | None = None
    offset: int = 0  # offset of the tag byte in the buffer given to the decoder
    header_length: int = 0

    @property
    def constructed(self) -> bool:
        return is_constructed(self.tag)

    def find(self, tag: int) -> TLV | None:
        """First direct child with ``tag``."""
        for child in self.children or ():
            if child.tag == tag:
                return child
        return None

    def require(self, tag: int, *, file: str | None = None) -> TLV:
        found = self.find(tag)
        if found is None:
            raise TLVError(f"expected tag {tag:X} inside tag {self.tag:X}", file=file, offset=self.offset)
        return found

    def encode(self) -> bytes:
        if self.children is not None:
            return encode_tlv(self.tag, b"".join(c.encode() for c in self.children))
        return encode_tlv(self.tag, self.value)


def is_constructed(tag: int) -> bool:
    first = tag
    while first > 0xFF:
        first >>= 8
    return bool(first & 0x20)


def read_tag(data: bytes | memoryview, pos: int, *, file: str | None = None) -> tuple[int, int]:
    """Return ``(tag, new_pos)``."""
    if pos >= len(data):
        raise TLVError("truncated: expected a tag", file=file, offset=pos)
    start = pos
    tag = data[pos]
    pos += 1
    if tag & 0x1F == 0x1F:
        while True:
            if pos >= len(data):
                raise TLVError("truncated multi-byte tag", file=file, offset=start)
            b = data[pos]
            tag = (tag << 8) | b
            pos += 1
            if pos - start > MAX_TAG_BYTES:
                raise TLVError("tag longer than 4 bytes", file=file, offset=start)
            if not b & 0x80:
                break
    return tag, pos


def read_length(data: bytes | memoryview, pos: int, *, file: str | None = None) -> tuple[int, int]:
    """Return ``(length, new_pos)`` for a definite-form length."""
    if pos >= len(data):
        raise TLVError("truncated: expected a length", file=file, offset=pos)
    first = data[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    if first == 0x80:
        raise TLVError("indefinite length is not allowed here", file=file, offset=pos - 1)
    n = first & 0x7F
    if n > MAX_LENGTH_BYTES:
        raise TLVError(f"length field of {n} bytes is too long", file=file, offset=pos - 1)
    if pos + n > len(data):
        raise TLVError("truncated length field", file=file, offset=pos - 1)
    length = int.from_bytes(bytes(data[pos : pos + n]), "big")
    if length > MAX_LENGTH:
        raise TLVError(f"length {length} exceeds the {MAX_LENGTH}-byte bound", file=file, offset=pos - 1)
    return length, pos + n


def read_header(data: bytes | memoryview, pos: int = 0, *, file: str | None = None) -> tuple[int, int, int]:
    """Return ``(tag, length, value_offset)`` without requiring the value to be present.

    This is what a file reader needs: the first few bytes of an EF tell its total size.
    """
    tag, p = read_tag(data, pos, file=file)
    length, p = read_length(data, p, file=file)
    return tag, length, p


def _decode(data: bytes, pos: int, end: int, depth: int, file: str | None) -> Iterator[TLV]:
    if depth > MAX_DEPTH:
        raise TLVError(f"nesting deeper than {MAX_DEPTH} levels", file=file, offset=pos)
    while pos < end:
        start = pos
        tag, p = read_tag(data, pos, file=file)
        length, p = read_length(data, p, file=file)
        if p + length > end:
            raise TLVError(f"value of tag {tag:X} needs {length} bytes but only {end - p} remain",
                           file=file, offset=start)
        value = data[p : p + length]
        children = tuple(_decode(data, p, p + length, depth + 1, file)) if is_constructed(tag) else None
        yield TLV(tag, value, children, start, p - start)
        pos = p + length


def decode(data: bytes, *, file: str | None = None) -> list[TLV]:
    """Decode a sequence of TLVs that must fill ``data`` exactly."""
    return list(_decode(bytes(data), 0, len(data), 0, file))


def decode_one(data: bytes, *, file: str | None = None, allow_trailing: bool = False) -> TLV:
    """Decode exactly one TLV; trailing bytes are an error unless ``allow_trailing``.

    Trailing bytes are tolerated for EF contents read whole from a card: some chips pad files.
    """
    data = bytes(data)
    tag, length, p = read_header(data, 0, file=file)
    if p + length > len(data):
        raise TLVError(f"value of tag {tag:X} needs {length} bytes but only {len(data) - p} remain",
                       file=file, offset=0)
    if not allow_trailing and p + length != len(data):
        raise TLVError(f"{len(data) - p - length} unexpected bytes after the TLV", file=file,
                       offset=p + length)
    return decode(data[: p + length], file=file)[0]


def encode_tag(tag: int) -> bytes:
    if tag < 0:
        raise ValueError("negative tag")
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def encode_length(length: int) -> bytes:
    if length < 0:
        raise ValueError("negative length")
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def encode_tlv(tag: int, value: bytes) -> bytes:
    return encode_tag(tag) + encode_length(len(value)) + value


def iter_tlv(data: bytes, *, file: str | None = None) -> Iterator[TLV]:
    """Like :func:`decode` but lazily at the top level."""
    return _decode(bytes(data), 0, len(data), 0, file)
