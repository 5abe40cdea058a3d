"""The text inside the CCCD / Căn cước QR code, decoded into a :class:`QRData` record.

The payload is UTF-8 text, fields separated by ``|``, no header, no check digits, no signature
(cccd-card-facts §1)::

    ID12|OLD_ID9 or empty|Full name|ddMMyyyy|Nam/Nữ|Address|ddMMyyyy(issue)[||||]

7 fields on CCCD cards (2021 to mid-2024), 11 on Căn cước cards (from 2024-07-01: 4 trailing fields,
empty on every card seen). The parser is lenient about what scanners and decoders do to text
(whitespace, BOM, decomposed Unicode, Latin-1 mojibake, slashed dates, the 6-field form some documents
describe) and strict about the content (field count, digits, dates, sex). Each repair applied is listed
in :attr:`QRData.repairs`. docs/qr-payload.md records the decisions.

:func:`parse_qr_payload` is total: any input gives a :class:`QRData` or raises
:class:`~cccd_reader.errors.QRPayloadError` naming the field, and the message never quotes the value.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from cccd_reader.address import AddressParts, parse_address
from cccd_reader.errors import CCCDError, QRPayloadError
from cccd_reader.idnumber import validate_id_number
from cccd_reader.model import to_jsonable
from cccd_reader.provinces import province_name

MAX_PAYLOAD_CHARS = 4096
"""A version-40 QR code holds at most 2953 bytes; anything much longer is not a card's QR code."""

SEPARATOR = "|"

FIELD_NAMES = (
    "id_number",
    "old_id_number",
    "full_name",
    "date_of_birth",
    "sex",
    "address",
    "issue_date",
)

_SEX = {"nam": "M", "nữ": "F", "nu": "F"}

# Repairs reported in QRData.repairs
REPAIR_WHITESPACE = "whitespace"  # surrounding whitespace / CR / LF removed (payload or a field)
REPAIR_BOM = "bom"  # a leading U+FEFF removed
REPAIR_MOJIBAKE = "mojibake"  # UTF-8 bytes that a decoder had read as Latin-1 / cp1252, re-decoded
REPAIR_NFC = "nfc"  # decomposed Unicode composed to NFC
REPAIR_SLASHED_DATES = "slashed-dates"  # dd/MM/yyyy dates accepted
REPAIR_NO_OLD_ID_SLOT = "no-old-id-slot"  # the non-canonical 6-field form (no old-ID field)

MOJIBAKE_WARNING = ("the QR text had been decoded with the wrong character set (UTF-8 read as cp1252 / "
                    "Latin-1) and was repaired; check the name and address against the card")


@dataclass(frozen=True)
class QRData:
    """A decoded QR payload. ``repr`` shows no personal data; ``raw`` keeps the text as scanned.

    ``warnings`` lists where the ID number disagrees with the date of birth or sex, or has a province
    code outside the table (:func:`cccd_reader.idnumber.validate_id_number`): the QR is unsigned and a
    printed card is what it is, so these do not reject the record. ``repairs`` lists what the lenient
    parser had to undo (``REPAIR_*`` names).
    """

    id_number: str
    old_id_number: str | None
    full_name: str
    date_of_birth: _dt.date
    sex: str
    address: str
    issue_date: _dt.date
    field_count: int
    extra_fields: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    repairs: tuple[str, ...] = ()
    raw: str = field(default="", repr=False, compare=False)

    def __repr__(self) -> str:
        return (
            f"QRData(variant={self.variant!r}, field_count={self.field_count}, "
            f"warnings={len(self.warnings)}, repairs={list(self.repairs)!r})"
        )

    @property
    def variant(self) -> str:
        """``"cccd"`` (7 fields), ``"can-cuoc"`` (11 fields) or ``"no-old-id-slot"`` (the 6-field form)."""
        return {7: "cccd", 11: "can-cuoc", 6: "no-old-id-slot"}.get(self.field_count, "unknown")

    @property
    def can(self) -> str:
        """The PACE Card Access Number: the last 6 digits of the ID number (cccd-card-facts §3.2)."""
        return self.id_number[-6:]

    @property
    def document_number(self) -> str:
        """The MRZ document number: digits 4-12 of the ID number (cccd-card-facts §2.1)."""
        return self.id_number[3:12]

    @property
    def province_code(self) -> str:
        return self.id_number[:3]

    @property
    def province(self) -> str | None:
        """Where the birth was registered, from the ID number's first 3 digits (None if not a province)."""
        return province_name(self.province_code)

    @property
    def address_parts(self) -> AddressParts | None:
        """The address split into parts and mapped to the 2025 units (cccd_reader.address)."""
        return parse_address(self.address) if self.address else None

    def to_dict(self, *, include_raw: bool = False, addresses: bool = False) -> dict[str, Any]:
        """JSON-ready values (dates as ISO strings). ``raw`` only on request: it repeats everything.

        ``addresses=True`` adds ``address_parts`` (loads the address data, about a second, once).
        """
        out: dict[str, Any] = {
            "variant": self.variant,
            "id_number": self.id_number,
            "old_id_number": self.old_id_number,
            "full_name": self.full_name,
            "date_of_birth": self.date_of_birth,
            "sex": self.sex,
            "address": self.address,
            "issue_date": self.issue_date,
            "province_of_birth_registration": self.province,
            "field_count": self.field_count,
            "extra_fields": list(self.extra_fields),
            "warnings": list(self.warnings),
            "repairs": list(self.repairs),
        }
        if addresses:
            out["address_parts"] = self.address_parts
        if include_raw:
            out["raw"] = self.raw
        return {k: to_jsonable(v) for k, v in out.items()}


def parse_qr_payload(text: str) -> QRData:
    """Decode the text of a CCCD / Căn cước QR code.

    Accepts the 7-field CCCD payload, the 11-field Căn cước payload, an empty old-ID field, and (leniently)
    surrounding whitespace, a BOM, non-NFC text, Latin-1/cp1252 mojibake of UTF-8, ``dd/MM/yyyy`` dates and
    the 6-field form without an old-ID slot. Anything else raises :class:`QRPayloadError` with ``field``
    naming what is wrong; no other exception escapes, whatever the input.
    """
    try:
        return _parse(text)
    except QRPayloadError:
        raise
    except (CCCDError, ValueError, TypeError, LookupError, OverflowError) as exc:
        # Safety net for the totality promise; the parser is written not to need it.
        raise QRPayloadError("the QR text could not be decoded as a CCCD payload", field="payload") from exc


def _parse(text: object) -> QRData:
    if not isinstance(text, str):
        raise QRPayloadError(
            "the QR payload must be text (str); decode bytes as UTF-8 first", field="payload"
        )
    if len(text) > MAX_PAYLOAD_CHARS:
        raise QRPayloadError(
            f"the text is longer than any QR code holds ({MAX_PAYLOAD_CHARS} characters)", field="payload"
        )
    repairs: list[str] = []
    work = text.strip()
    trimmed = work != text
    fixed = _repair_mojibake(work)
    if fixed == work and not work.isascii():
        # a decoder that guessed the charset of one field only: repair field by field (as certain)
        fixed = SEPARATOR.join(_repair_mojibake(part) for part in work.split(SEPARATOR))
    mojibake = fixed != work
    if mojibake:
        repairs.append(REPAIR_MOJIBAKE)
        work = fixed
    if work.startswith("\ufeff"):
        repairs.append(REPAIR_BOM)
        work = work.lstrip("\ufeff")
        stripped = work.strip()
        trimmed = trimmed or stripped != work
        work = stripped
    if trimmed:
        repairs.append(REPAIR_WHITESPACE)
    if not work:
        raise QRPayloadError("the QR text is empty", field="payload")
    nfc = unicodedata.normalize("NFC", work)
    if nfc != work:
        repairs.append(REPAIR_NFC)
        work = nfc

    fields = work.split(SEPARATOR)
    count = len(fields)
    if count == 6 and _looks_like_no_old_id_slot(fields):
        fields = [fields[0], "", *fields[1:]]
        repairs.append(REPAIR_NO_OLD_ID_SLOT)
    elif count not in (7, 11):
        raise QRPayloadError(
            f"a CCCD QR payload has 7 fields (11 on Căn cước cards) separated by '|', this text has {count}",
            field="field_count",
        )
    core = fields[:7]
    extra = tuple(fields[7:])
    for i, value in enumerate(extra):
        if _has_control(value):
            raise QRPayloadError(
                f"extra field {i + 8} contains control or undecodable characters", field="extra_fields"
            )

    values: list[str] = []
    for name, value in zip(FIELD_NAMES, core, strict=True):
        s = value.strip()
        if s != value and REPAIR_WHITESPACE not in repairs:
            repairs.append(REPAIR_WHITESPACE)
        if _has_control(s):
            raise QRPayloadError(f"{_label(name)} contains control, invisible formatting (bidi) or "
                                 "undecodable characters (U+FFFD): scan the QR code again", field=name)
        values.append(s)
    id_number, old_id, full_name, dob_text, sex_text, address, issue_text = values

    if not _digits(id_number, 12):
        raise QRPayloadError("the ID number must be 12 digits", field="id_number")
    if old_id and not _digits(old_id, 9):
        raise QRPayloadError("the old ID (CMND) number must be 9 digits or empty", field="old_id_number")
    if not full_name:
        raise QRPayloadError("the full name is empty", field="full_name")
    dob, slashed_dob = _date(dob_text, "date_of_birth")
    sex = _SEX.get(sex_text.casefold())
    if sex is None:
        raise QRPayloadError("the sex must be 'Nam' or 'Nữ'", field="sex")
    issue, slashed_issue = _date(issue_text, "issue_date")
    if issue < dob:
        raise QRPayloadError("the issue date is before the date of birth", field="issue_date")
    if (slashed_dob or slashed_issue) and REPAIR_SLASHED_DATES not in repairs:
        repairs.append(REPAIR_SLASHED_DATES)

    warnings = validate_id_number(id_number, date_of_birth=dob, sex=sex)
    if mojibake:
        warnings = (*warnings, MOJIBAKE_WARNING)
    return QRData(
        id_number=id_number,
        old_id_number=old_id or None,
        full_name=full_name,
        date_of_birth=dob,
        sex=sex,
        address=address,
        issue_date=issue,
        field_count=count,
        extra_fields=extra,
        warnings=warnings,
        repairs=tuple(repairs),
        raw=text,
    )


_LABELS = {
    "id_number": "the ID number",
    "old_id_number": "the old ID number",
    "full_name": "the full name",
    "date_of_birth": "the date of birth",
    "sex": "the sex",
    "address": "the address",
    "issue_date": "the issue date",
}


def _label(name: str) -> str:
    return _LABELS.get(name, name)


def _digits(text: str, length: int) -> bool:
    return len(text) == length and text.isascii() and text.isdigit()


# Control characters, line/paragraph separators, lone surrogates (bytes a decoder could not read, e.g.
# command-line arguments that were not UTF-8), format characters (bidi embeddings, overrides and
# isolates such as U+202E, zero-width characters, a BOM inside the text), private-use and unassigned
# code points have no place in a field; nor has U+FFFD, which a decoder puts where it could not read a
# byte: the text is then not what the card prints.
_BAD_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp", "Cf", "Co", "Cn"})
_REPLACEMENT = "\ufffd"


def _has_control(text: str) -> bool:
    return any(c == _REPLACEMENT or unicodedata.category(c) in _BAD_CATEGORIES for c in text)


def _is_date_text(text: str) -> bool:
    s = text.strip()
    if len(s) == 10 and s[2] == "/" and s[5] == "/":
        s = s[:2] + s[3:5] + s[6:]
    return _digits(s, 8)


def _looks_like_no_old_id_slot(fields: list[str]) -> bool:
    """The 6-field form ``ID|Name|DOB|Sex|Address|Issue``: field 1 is no number, field 2 is a date."""
    second = fields[1].strip()
    return bool(second) and not (second.isascii() and second.isdigit()) and _is_date_text(fields[2])


# The lowest and highest birth years the ID number's century digit can express (Circular 07/2016).
_MIN_YEAR = 1900
_MAX_YEAR = 2399


def _date(text: str, name: str) -> tuple[_dt.date, bool]:
    slashed = False
    if len(text) == 10 and text[2] == "/" and text[5] == "/":
        digits = text[:2] + text[3:5] + text[6:]
        slashed = True
    else:
        digits = text
    if not _digits(digits, 8):
        raise QRPayloadError(f"{_label(name)} must be 8 digits ddMMyyyy (or dd/MM/yyyy)", field=name)
    day, month, year = int(digits[:2]), int(digits[2:4]), int(digits[4:])
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise QRPayloadError(f"{_label(name)} has a year outside {_MIN_YEAR}-{_MAX_YEAR}", field=name)
    try:
        return _dt.date(year, month, day), slashed
    except ValueError:
        raise QRPayloadError(f"{_label(name)} is not a calendar date", field=name) from None


# cp1252 puts printable characters where Latin-1 has C1 controls; a decoder that read UTF-8 bytes as
# cp1252 produces these, so they map back to their byte values.
_CP1252_BYTES: dict[str, int] = {}
for _b in range(0x80, 0xA0):
    with contextlib.suppress(UnicodeDecodeError):  # 5 bytes are undefined in cp1252
        _CP1252_BYTES[bytes([_b]).decode("cp1252")] = _b


def _repair_mojibake(text: str) -> str:
    """Undo UTF-8 that was decoded as Latin-1 or cp1252 (QR decoders that guess the byte-mode charset).

    Only applied when every character maps back to one byte and those bytes are valid UTF-8 that is
    not plain ASCII. Real Vietnamese text never passes this test: its letters (ạ, ễ, ữ, ...) are
    outside Latin-1, and the Latin-1 ones (à, â, ê, ô, ...) are followed by ASCII letters, which is
    never valid UTF-8.
    """
    if text.isascii():
        return text
    data = bytearray()
    for c in text:
        o = ord(c)
        if o < 0x100:
            data.append(o)
        elif c in _CP1252_BYTES:
            data.append(_CP1252_BYTES[c])
        else:
            return text
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return text
