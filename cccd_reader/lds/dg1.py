"""DG1 (ICAO 9303-10 §4.7.1): the MRZ as the chip stores it, ``61 { 5F1F <MRZ characters> }``.

Check digits are checked and reported, not enforced: a chip whose printed data has a wrong check digit
(it happens, ICAO's own TD1 sample did) must still be readable. On a CCCD the MRZ is TD1 and its optional
data holds the 12-digit personal ID (:attr:`DG1.personal_id_number`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Self

from cccd_reader.errors import MRZError, ParseError
from cccd_reader.iso7816.tlv import encode_tlv
from cccd_reader.lds import DG_TAGS
from cccd_reader.lds.raw import (
    Node,
    Source,
    decode_template,
    encode_exact,
    remember_source,
    value_offset,
)
from cccd_reader.mrz import MRZ, normalize_mrz, parse_mrz

FILE = "DG1"
DG1_TAG = DG_TAGS[1]
MRZ_TAG = 0x5F1F
_LAYOUTS = {90: (3, 30), 72: (2, 36), 88: (2, 44)}


@dataclass(frozen=True)
class DG1:
    """DG1. ``mrz_text`` is the stored characters (no line breaks); ``mrz`` the parsed zone."""

    mrz_text: str = field(repr=False)
    mrz: MRZ = field(repr=False)
    extra: tuple[Node, ...] = field(default=(), repr=False)
    _source: Source | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_mrz(cls, text: str) -> Self:
        """Build DG1 from MRZ text (2 or 3 lines, or one line); check digits are not enforced."""
        mrz = parse_mrz("\n".join(normalize_mrz(text)), strict=False)  # MRZError for a malformed zone
        return cls("".join(mrz.lines), mrz)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        data = bytes(data)
        top = decode_template(data, DG1_TAG, file=FILE, what="DG1 template")
        mrz_tlv = top.find(MRZ_TAG)
        if mrz_tlv is None:
            raise ParseError("the MRZ data object (5F1F) is missing", file=FILE, offset=top.header_length)
        offset = value_offset(mrz_tlv)
        try:
            text = bytes(mrz_tlv.value).decode("ascii")
        except UnicodeDecodeError:
            raise ParseError("the MRZ holds non-ASCII bytes", file=FILE, offset=offset) from None
        layout = _LAYOUTS.get(len(text))
        if layout is None:
            raise ParseError(
                f"an MRZ of {len(text)} characters is neither TD1 (90), TD2 (72) nor TD3 (88)",
                file=FILE,
                offset=offset,
            )
        count, width = layout
        try:
            mrz = parse_mrz("\n".join(text[i * width : (i + 1) * width] for i in range(count)), strict=False)
        except MRZError as exc:
            raise ParseError(
                f"the MRZ is malformed ({exc.field or 'layout'})", file=FILE, offset=offset
            ) from None
        if "".join(mrz.lines) != text:  # characters changed by normalisation (spaces, lower case)
            raise ParseError("the MRZ holds characters outside 0-9, A-Z and '<'", file=FILE, offset=offset)
        extra = tuple(Node.from_tlv(c) for c in top.children or () if c is not mrz_tlv)
        record = cls(text, mrz, extra)
        return replace(record, _source=remember_source(data, record._canonical()))

    def _canonical(self) -> bytes:
        body = encode_tlv(MRZ_TAG, self.mrz_text.encode("ascii")) + b"".join(n.encode() for n in self.extra)
        return encode_tlv(DG1_TAG, body)

    def encode(self) -> bytes:
        return encode_exact(self._source, self._canonical())

    @property
    def document_type(self) -> str:
        return self.mrz.document_type

    @property
    def personal_id_number(self) -> str | None:
        """The 12-digit Vietnamese personal ID from TD1 optional data."""
        return self.mrz.personal_id_number

    @property
    def check_results(self) -> dict[str, bool]:
        return dict(self.mrz.check_results)

    @property
    def valid(self) -> bool:
        """All check digits match (reported, never enforced on chip data)."""
        return self.mrz.valid

    def __repr__(self) -> str:
        return f"DG1(document_type={self.document_type!r}, valid={self.valid})"

    def to_dict(self) -> dict[str, Any]:
        return {"mrz": self.mrz.to_dict(), "mrz_lines": list(self.mrz.lines)}
