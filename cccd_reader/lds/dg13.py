"""DG13 of the Vietnamese CCCD / Căn cước: the holder's "optional details", decoded as real BER-TLV.

Layout (cccd-card-facts §4.1)::

    6D { SEQUENCE { INTEGER version, OID 1.0.10646.1.0.8, SET { SEQUENCE { INTEGER n, value... } ... } } }

Entries are found by the INTEGER that opens each SEQUENCE, never by position or byte prefix; a value is
every character string after that INTEGER, at any depth, in document order (field 13 is written both as
two SEQUENCEs and as one SEQUENCE holding father and mother). Unknown numbers are kept, entries may be
missing or empty, and the original string types and order are kept so that the file re-encodes
byte for byte (the SOD hashes it). The field map and the choices made where sources disagree are in
docs/lds.md.

What real cards write (cccd-card-facts §8): entries 1..16 in ascending order, each ``30 L 02 01 n value``
with a short-form length; entry 13 as two SEQUENCEs (father, mother); entry 14 as a bare
``30 03 02 01 0E`` with no spouse and ``SEQUENCE { INTEGER 14, SEQUENCE { UTF8String } }`` with one; and
"no old ID" as entry 15 **present but empty** (``30 03 02 01 0F``), not absent. :meth:`DG13.build` writes
those forms (``None`` gives the empty entry); absent entries and other nestings still decode.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal, Self

from cccd_reader.asn1.oids import decode_oid_value, encode_oid_value
from cccd_reader.errors import InputError, ParseError
from cccd_reader.folding import ascii_fold
from cccd_reader.iso7816.tlv import TLV, encode_tlv
from cccd_reader.lds import DG_TAGS
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
from cccd_reader.model import PartialDate
from cccd_reader.safetext import unsafe_characters

FILE = "DG13"
DG13_TAG = DG_TAGS[13]
UTF8_OID = "1.0.10646.1.0.8"  # ISO/IEC 10646 UTF-8 transfer encoding

UTF8_STRING = 0x0C
NUMERIC_STRING = 0x12
PRINTABLE_STRING = 0x13
TELETEX_STRING = 0x14
IA5_STRING = 0x16
VISIBLE_STRING = 0x1A
BMP_STRING = 0x1E
STRING_TAGS = frozenset({UTF8_STRING, NUMERIC_STRING, PRINTABLE_STRING, TELETEX_STRING, IA5_STRING,
                         VISIBLE_STRING, BMP_STRING})  # fmt: skip
MAX_ENTRIES = 256

FIELD_NAMES: dict[int, str] = {
    1: "id_number",
    2: "full_name",
    3: "date_of_birth",
    4: "sex",
    5: "nationality",
    6: "ethnicity",
    7: "religion",
    8: "place_of_origin",
    9: "place_of_residence",
    10: "identifying_marks",
    11: "issue_date",
    12: "expiry_date",
    13: "parents",
    14: "spouse_name",
    15: "old_id_number",
}
KNOWN_FIELDS = frozenset(FIELD_NAMES)
_PRINTABLE_BY_DEFAULT = frozenset({1, 3, 11, 15, 16})  # what cards use (facts §4.1); 12 is UTF8String
_PRINTABLE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?")
_NO_EXPIRY = ("KHONG THOI HAN", "VO THOI HAN", "KHONG CO THOI HAN", "KHONG XAC DINH", "VINH VIEN")


def is_no_expiry(text: str) -> bool:
    """True for the wordings of "does not expire" ("Không thời hạn", upper case, without diacritics...)."""
    folded = ascii_fold(text)
    return any(marker in folded for marker in _NO_EXPIRY)


def _decode_string(tag: int, value: bytes) -> tuple[str, bool]:
    """(NFC text, clean); ``clean`` is False when bytes had to be replaced (lenient decoding)."""
    if tag == BMP_STRING:
        text = value.decode("utf-16-be", errors="replace")
        clean = len(value) % 2 == 0 and "\ufffd" not in text
    elif tag in (UTF8_STRING, PRINTABLE_STRING, IA5_STRING, VISIBLE_STRING, NUMERIC_STRING):
        try:
            text, clean = value.decode("utf-8"), True  # cards may put UTF-8 in a PrintableString
        except UnicodeDecodeError:
            text, clean = value.decode("utf-8", errors="replace"), False
            if tag != UTF8_STRING:
                text, clean = value.decode("latin-1"), True
    else:  # TeletexString: treat as Latin-1
        text, clean = value.decode("latin-1"), True
    return unicodedata.normalize("NFC", text), clean


def _strings(nodes: Sequence[Node]) -> tuple[str, ...]:
    out = []
    for top in nodes:
        for node in top.walk():
            if node.children is None and node.tag in STRING_TAGS:
                out.append(_decode_string(node.tag, node.value)[0])
    return tuple(out)


@dataclass(frozen=True)
class DG13Entry:
    """One ``SEQUENCE { INTEGER number, value... }``; ``elements`` are the nodes after the INTEGER.

    An item of the SET that is not such a SEQUENCE is kept with ``number`` ``None`` (its node whole in
    ``elements``, ``tag`` ``None``) so that the file still re-encodes.
    """

    number: int | None
    elements: tuple[Node, ...] = field(repr=False)
    tag: int | None = 0x30

    @property
    def values(self) -> tuple[str, ...]:
        """Every character string after the INTEGER, at any depth, in document order (NFC)."""
        return _strings(self.elements)

    def node(self) -> Node:
        if self.tag is None or self.number is None:
            raise InputError("a malformed entry has no node of its own")
        return Node.constructed_of(self.tag, Node.primitive(0x02, encode_int(self.number)), *self.elements)

    def encode(self) -> bytes:
        if self.tag is None or self.number is None:
            return b"".join(n.encode() for n in self.elements)
        return self.node().encode()


@dataclass(frozen=True)
class DG13:
    """DG13: the Vietnamese details. Typed accessors return ``None`` for a missing or empty entry.

    ``fields`` maps entry numbers to their strings (the first entry wins if a number repeats);
    ``extra`` holds the entries whose meaning is unknown (16 and anything outside 1-16).
    """

    entries: tuple[DG13Entry, ...] = field(repr=False)
    version: int | None = 1
    oid: str | None = UTF8_OID
    set_tag: int = 0x31
    other_objects: tuple[Node, ...] = field(default=(), repr=False)  # in the SEQUENCE, after the SET
    trailing_objects: tuple[Node, ...] = field(default=(), repr=False)  # in 6D, after the SEQUENCE
    warnings: tuple[str, ...] = field(default=(), compare=False)
    _source: Source | None = field(default=None, repr=False, compare=False)

    # --- building ---------------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        fields: Mapping[int, str | Sequence[str] | None],
        *,
        version: int = 1,
        oid: str | None = UTF8_OID,
        parents: Literal["two", "one"] = "two",
        string_types: Mapping[int, int] | None = None,
    ) -> Self:
        """Build DG13 from ``{number: value}`` in number order, the way cards lay it out.

        ``None`` writes an entry with only its number, as cards write "no spouse" (14) and "no old ID"
        (15); a list writes several bare strings. Field 13 takes ``[father, mother]`` as two SEQUENCEs
        (``parents="two"``, as on cards) or one SEQUENCE holding both (``"one"``); field 14 given as a
        string is wrapped in a SEQUENCE, as on cards. Numbers 1, 3, 11, 15 and 16
        are PrintableString when their text allows it, everything else UTF8String; ``string_types``
        overrides per number.
        """
        entries = []
        for number in sorted(fields):
            value = fields[number]
            tag = (string_types or {}).get(number)

            def string(text: str, number: int = number, tag: int | None = tag) -> Node:
                return _string_node(text, number, tag)

            elements: tuple[Node, ...]
            if value is None:
                elements = ()
            elif isinstance(value, str):
                elements = (Node.constructed_of(0x30, string(value)),) if number == 14 else (string(value),)
            elif number == 13 and parents == "two":
                elements = tuple(Node.constructed_of(0x30, string(v)) for v in value)
            elif number == 13:
                elements = (Node.constructed_of(0x30, *(string(v) for v in value)),)
            else:
                elements = tuple(string(v) for v in value)
            entries.append(DG13Entry(number, elements))
        return cls(tuple(entries), version, oid)

    # --- decoding ---------------------------------------------------------------------------------------

    @classmethod
    def decode(cls, data: bytes) -> Self:
        data = bytes(data)
        top = decode_template(data, DG13_TAG, file=FILE, what="DG13 template")
        children = top.children or ()
        if not children or children[0].tag != 0x30 or children[0].children is None:
            raise ParseError("expected a SEQUENCE inside DG13", file=FILE, offset=value_offset(top))
        seq = children[0]
        warnings: list[str] = []
        version: int | None = None
        oid: str | None = None
        set_node: TLV | None = None
        extra: list[Node] = []
        for i, child in enumerate(seq.children or ()):
            if i == 0 and child.tag == 0x02 and child.children is None:
                version = int_value(child.value)
            elif child.tag == 0x06 and oid is None and set_node is None:
                # lenient: a DG13 is not refused over a non-minimal arc in its encoding OID
                oid = decode_oid_value(bytes(child.value), file=FILE, offset=value_offset(child),
                                       lenient=True)
            elif child.tag in (0x31, 0x30) and child.children is not None and set_node is None:
                set_node = child
            else:
                extra.append(Node.from_tlv(child))
        if set_node is None:
            raise ParseError("expected a SET of entries in DG13", file=FILE, offset=value_offset(seq))
        if version != 1:
            warnings.append(f"DG13 version is {version}, expected 1")
        if oid != UTF8_OID:
            warnings.append("DG13 does not carry the UTF-8 encoding OID 1.0.10646.1.0.8")
        items = set_node.children or ()
        if len(items) > MAX_ENTRIES:
            raise ParseError(f"more than {MAX_ENTRIES} entries", file=FILE, offset=value_offset(set_node))
        entries = []
        for item in items:
            entry = _decode_entry(item)
            if entry.number is None:
                warnings.append(f"an item at offset {item.offset} is not SEQUENCE {{ INTEGER, ... }}")
            entries.append(entry)
        record = cls(
            tuple(entries),
            version,
            oid,
            set_node.tag,
            tuple(extra),
            tuple(Node.from_tlv(c) for c in children[1:]),
        )
        warnings.extend(record._value_warnings())
        record = replace(record, warnings=tuple(warnings))
        return replace(record, _source=remember_source(data, record._canonical()))

    def _canonical(self) -> bytes:
        body = b""
        if self.version is not None:
            body += encode_tlv(0x02, encode_int(self.version))
        if self.oid is not None:
            body += encode_tlv(0x06, _encode_oid(self.oid))
        body += encode_tlv(self.set_tag, b"".join(e.encode() for e in self.entries))
        body += b"".join(n.encode() for n in self.other_objects)
        inner = encode_tlv(0x30, body) + b"".join(n.encode() for n in self.trailing_objects)
        return encode_tlv(DG13_TAG, inner)

    def encode(self) -> bytes:
        return encode_exact(self._source, self._canonical())

    def _value_warnings(self) -> list[str]:
        out = []
        seen: set[int] = set()
        for e in self.entries:
            if e.number is None:
                continue
            if e.number in seen:
                out.append(f"entry {e.number} appears more than once; the first is used")
            seen.add(e.number)
            for top in e.elements:
                for node in top.walk():
                    if (
                        node.children is None
                        and node.tag in STRING_TAGS
                        and not _decode_string(node.tag, node.value)[1]
                    ):
                        out.append(f"entry {e.number} holds bytes that are not valid in its string type")
            hidden = [c for value in e.values for c in unsafe_characters(value)]
            if hidden:
                out.append(f"entry {e.number} holds control or invisible formatting characters "
                           f"({', '.join(dict.fromkeys(hidden))})")
        for number, name in ((3, "date of birth"), (11, "issue date")):
            text = self.text(number)
            if text and PartialDate.parse(text) is None:
                out.append(f"the {name} (entry {number}) is not a dd/MM/yyyy date; kept as text")
        text = self.text(12)
        if text and not is_no_expiry(text) and PartialDate.parse(text) is None:
            out.append("the expiry date (entry 12) is neither a date nor a 'no expiry' wording; kept as text")
        return out

    # --- access -----------------------------------------------------------------------------------------

    @cached_property
    def fields(self) -> dict[int, tuple[str, ...]]:
        """Entry number -> strings (computed once: the record is frozen). Do not mutate the dict."""
        out: dict[int, tuple[str, ...]] = {}
        for e in self.entries:
            if e.number is not None and e.number not in out:
                out[e.number] = e.values
        return out

    @property
    def numbers(self) -> tuple[int, ...]:
        return tuple(e.number for e in self.entries if e.number is not None)

    def values(self, number: int) -> tuple[str, ...]:
        return self.fields.get(number, ())

    def text(self, number: int) -> str | None:
        """The first string of entry ``number``, stripped; ``None`` when the entry is absent or empty."""
        for value in self.values(number):
            value = value.strip()
            if value:
                return value
        return None

    @property
    def id_number(self) -> str | None:
        return self.text(1)

    @property
    def full_name(self) -> str | None:
        return self.text(2)

    @property
    def date_of_birth(self) -> PartialDate | None:
        text = self.text(3)
        return PartialDate.parse(text) if text else None

    @property
    def sex(self) -> str | None:
        return self.text(4)

    @property
    def nationality(self) -> str | None:
        return self.text(5)

    @property
    def ethnicity(self) -> str | None:
        return self.text(6)

    @property
    def religion(self) -> str | None:
        return self.text(7)

    @property
    def place_of_origin(self) -> str | None:
        return self.text(8)

    @property
    def place_of_residence(self) -> str | None:
        return self.text(9)

    @property
    def identifying_marks(self) -> str | None:
        return self.text(10)

    @property
    def issue_date(self) -> PartialDate | None:
        text = self.text(11)
        return PartialDate.parse(text) if text else None

    @property
    def no_expiry(self) -> bool:
        """The card says it does not expire ("Không thời hạn" and variants)."""
        text = self.text(12)
        return bool(text) and is_no_expiry(text or "")

    @property
    def expiry_date(self) -> PartialDate | None:
        """``None`` both for "no expiry" (see :attr:`no_expiry`) and for a missing or unreadable date."""
        text = self.text(12)
        if not text or is_no_expiry(text):
            return None
        return PartialDate.parse(text)

    @property
    def father_name(self) -> str | None:
        parents = self.values(13)
        return parents[0].strip() or None if parents else None

    @property
    def mother_name(self) -> str | None:
        parents = self.values(13)
        return parents[1].strip() or None if len(parents) > 1 else None

    @property
    def spouse_name(self) -> str | None:
        return self.text(14)

    @property
    def old_id_number(self) -> str | None:
        return self.text(15)

    @property
    def extra(self) -> dict[int, tuple[str, ...]]:
        """Entries of unknown meaning: 16 (a 16-character value) and any number outside 1-15."""
        return {n: v for n, v in self.fields.items() if n not in KNOWN_FIELDS}

    def __repr__(self) -> str:
        return f"DG13(version={self.version}, oid={self.oid!r}, entries={list(self.numbers)})"

    def to_dict(self) -> dict[str, Any]:
        def iso(d: PartialDate | None) -> str | None:
            return d.isoformat() if d else None

        return {
            "version": self.version,
            "oid": self.oid,
            "id_number": self.id_number,
            "full_name": self.full_name,
            "date_of_birth": iso(self.date_of_birth),
            "sex": self.sex,
            "nationality": self.nationality,
            "ethnicity": self.ethnicity,
            "religion": self.religion,
            "place_of_origin": self.place_of_origin,
            "place_of_residence": self.place_of_residence,
            "identifying_marks": self.identifying_marks,
            "issue_date": iso(self.issue_date),
            "expiry_date": iso(self.expiry_date),
            "no_expiry": self.no_expiry,
            "father_name": self.father_name,
            "mother_name": self.mother_name,
            "spouse_name": self.spouse_name,
            "old_id_number": self.old_id_number,
            "extra": {str(n): list(v) for n, v in self.extra.items()},
            "entries": {str(n): list(v) for n, v in self.fields.items()},
            "warnings": list(self.warnings),
        }


def _decode_entry(item: TLV) -> DG13Entry:
    children = item.children
    if item.tag == 0x30 and children and children[0].tag == 0x02 and children[0].children is None:
        number = int_value(children[0].value)
        return DG13Entry(number, tuple(Node.from_tlv(c) for c in children[1:]))
    return DG13Entry(None, (Node.from_tlv(item),), None)


def _string_node(text: str, number: int, tag: int | None) -> Node:
    text = unicodedata.normalize("NFC", text)
    if tag is None:
        printable = number in _PRINTABLE_BY_DEFAULT and all(c in _PRINTABLE_CHARS for c in text)
        tag = PRINTABLE_STRING if printable else UTF8_STRING
    if tag == BMP_STRING:
        return Node.primitive(tag, text.encode("utf-16-be"))
    if tag in (PRINTABLE_STRING, IA5_STRING, VISIBLE_STRING, NUMERIC_STRING):
        try:
            return Node.primitive(tag, text.encode("ascii"))
        except UnicodeEncodeError:
            raise InputError(f"entry {number}: text is not ASCII, cannot use string tag {tag:02X}") from None
    return Node.primitive(tag, text.encode("utf-8"))


def _encode_oid(oid: str) -> bytes:
    try:
        return encode_oid_value(oid)
    except ValueError as exc:
        raise InputError(str(exc)) from None
