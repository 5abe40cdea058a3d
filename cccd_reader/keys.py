"""Access keys for the chip, and the rules that derive them from what is printed on the card.

* :class:`CANKey`: PACE with the Card Access Number. On the CCCD the CAN is the last 6 digits of the
  12-digit personal ID (cccd-card-facts §3.2).
* :class:`MRZKey`: BAC, or PACE with the MRZ password, from document number, date of birth and date of
  expiry. On the CCCD the document number is ``id_number[3:12]`` and "no expiry" is ``991231``.
* :func:`card_expiry`: the expiry the law gives a card, because the QR code carries the issue date but
  not the expiry the MRZ key needs.
* :func:`keys_from_qr` / :func:`mrz_key_from_mrz`: the keys to try, from the QR code or from the MRZ.

Keys never show their secret parts in ``repr``/``str``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from cccd_reader._lazy import moved_names
from cccd_reader.crypto.kdf import ENC, MAC, PACE, kdf
from cccd_reader.errors import KeyInputError, MRZError
from cccd_reader.idnumber import ID_NUMBER_LENGTH, is_digits
from cccd_reader.mrz import check_digit, normalize_mrz, parse_mrz

if TYPE_CHECKING:  # pragma: no cover - typing only
    from cccd_reader.qr.payload import QRData

NO_EXPIRY = "991231"


@dataclass(frozen=True)
class CANKey:
    """PACE Card Access Number (6 digits)."""

    can: str = field(repr=False)

    def __post_init__(self) -> None:
        can = self.can
        if not isinstance(can, str) or len(can) != 6 or not can.isascii() or not can.isdigit():
            raise KeyInputError(
                "a CAN is 6 digits (on the CCCD: the last 6 digits of the 12-digit ID number)"
            )

    kind = "CAN"
    pace_password_ref = 0x02

    @property
    def password(self) -> bytes:
        """The PACE password π: the CAN's ASCII digits (9303-11 §9.7.3)."""
        return self.can.encode("ascii")

    def k_pi(self, cipher: str) -> bytes:
        return kdf(self.password, PACE, cipher)

    def __repr__(self) -> str:
        return "CANKey(can=***)"

    def describe(self) -> str:
        return "the CAN (last 6 digits of the ID number)"


@dataclass(frozen=True)
class MRZKey:
    """BAC / PACE-MRZ key from document number, date of birth and date of expiry (``None`` = no expiry)."""

    document_number: str = field(repr=False)
    date_of_birth: _dt.date = field(repr=False)
    date_of_expiry: _dt.date | None = field(repr=False)

    kind = "MRZ"
    pace_password_ref = 0x01

    def __post_init__(self) -> None:
        doc = self.document_number
        if (
            not isinstance(doc, str)
            or not doc
            or len(doc) > 22
            or not all(c.isascii() and (c.isalnum() or c == "<") for c in doc)
        ):
            raise KeyInputError(
                "the document number must be 1-22 characters of A-Z, 0-9 (on the CCCD: ID digits 4-12)"
            )
        if doc.upper() != doc:
            object.__setattr__(self, "document_number", doc.upper())
        if not isinstance(self.date_of_birth, _dt.date):
            raise KeyInputError("date_of_birth must be a datetime.date")
        if self.date_of_expiry is not None and not isinstance(self.date_of_expiry, _dt.date):
            raise KeyInputError("date_of_expiry must be a datetime.date or None (no expiry)")

    @property
    def mrz_information(self) -> str:
        """Document number (padded to 9 with '<') + check, DOB YYMMDD + check, DOE YYMMDD + check."""
        doc = self.document_number.ljust(9, "<")
        dob = self.date_of_birth.strftime("%y%m%d")
        doe = NO_EXPIRY if self.date_of_expiry is None else self.date_of_expiry.strftime("%y%m%d")
        return doc + check_digit(doc) + dob + check_digit(dob) + doe + check_digit(doe)

    @property
    def password(self) -> bytes:
        """The PACE password π = SHA-1(MRZ information) (9303-11 §9.7.3)."""
        # SHA-1 is what ICAO 9303-11 prescribes here; there is no choice to make.
        return hashlib.sha1(self.mrz_information.encode("ascii")).digest()  # noqa: S324

    @property
    def k_seed(self) -> bytes:
        """BAC K_seed = the first 16 bytes of SHA-1(MRZ information) (9303-11 §9.7.2)."""
        return self.password[:16]

    def bac_keys(self) -> tuple[bytes, bytes]:
        """(K_enc, K_mac) for BAC: 3DES keys derived from K_seed."""
        return kdf(self.k_seed, ENC, "3DES"), kdf(self.k_seed, MAC, "3DES")

    def k_pi(self, cipher: str) -> bytes:
        return kdf(self.password, PACE, cipher)

    def __repr__(self) -> str:
        expiry = "***" if self.date_of_expiry else "None"
        return f"MRZKey(document_number=***, date_of_birth=***, date_of_expiry={expiry})"

    def describe(self) -> str:
        return "the MRZ data (document number = ID digits 4-12, date of birth, date of expiry)"


AccessKey = CANKey | MRZKey


# --- card expiry by law -----------------------------------------------------------------------------

LAW_2023_IN_FORCE = _dt.date(2024, 7, 1)
"""Law on Identification No. 26/2023/QH15 applies to cards issued from this day."""

MILESTONES_2014: tuple[int, ...] = (25, 40, 60)
"""Law on Citizen Identity No. 59/2014/QH13, Art. 21(1): renewal ages for cards issued before 2024-07-01."""

MILESTONES_2023: tuple[int, ...] = (14, 25, 40, 60)
"""Law on Identification No. 26/2023/QH15, Art. 21(1): renewal ages for cards issued from 2024-07-01."""

RENEWAL_WINDOW_YEARS = 2
"""Art. 21(2) of both laws: a card issued within 2 years before a renewal age is valid to the next one."""

LeapDay = Literal["feb28", "mar1"]


def milestones_for(issue_date: _dt.date) -> tuple[int, ...]:
    """The renewal ages of the law in force on ``issue_date``."""
    return MILESTONES_2023 if issue_date >= LAW_2023_IN_FORCE else MILESTONES_2014


def birthday_at(date_of_birth: _dt.date, age: int, *, leap_day: LeapDay = "feb28") -> _dt.date:
    """The day the holder reaches ``age``; a 29 February birthday falls on 28 Feb or 1 Mar in other years."""
    year = date_of_birth.year + age
    if not _dt.MINYEAR <= year <= _dt.MAXYEAR:
        raise KeyInputError("the date of birth is outside the calendar range this rule can use")
    if (date_of_birth.month, date_of_birth.day) == (2, 29):
        try:
            return _dt.date(year, 2, 29)
        except ValueError:
            return _dt.date(year, 2, 28) if leap_day == "feb28" else _dt.date(year, 3, 1)
    return date_of_birth.replace(year=year)


def _as_date(value: object, name: str) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if not isinstance(value, _dt.date):
        raise KeyInputError(f"{name} must be a datetime.date")
    return value


def _expiry_under(
    dob: _dt.date, issue: _dt.date, milestones: tuple[int, ...], leap_day: LeapDay
) -> _dt.date | None:
    for age in milestones:
        if issue < birthday_at(dob, age - RENEWAL_WINDOW_YEARS, leap_day=leap_day):
            return birthday_at(dob, age, leap_day=leap_day)
    return None


def card_expiry(
    date_of_birth: _dt.date, issue_date: _dt.date, *, leap_day: LeapDay = "feb28"
) -> _dt.date | None:
    """The expiry date the law gives a card issued on ``issue_date``; ``None`` means "no expiry".

    The QR code carries the issue date but not the expiry, and BAC (or PACE with the MRZ password)
    needs the expiry, so it is worked out from the law in force on the issue date:

    * Law on Citizen Identity 2014 (No. 59/2014/QH13), Art. 21 - cards issued before 2024-07-01: the
      card is renewed when the holder turns 25, 40 and 60.
    * Law on Identification 2023 (No. 26/2023/QH15), Art. 21 - cards issued from 2024-07-01: renewed
      at 14, 25, 40 and 60.
    * Both, Art. 21(2): a card issued, renewed or re-issued within 2 years before a renewal age stays
      valid until the next renewal age. After the last one (60) there is none: a card issued at 58 or
      later never expires (the MRZ then reads ``991231``).

    The card expires on the day the holder reaches the renewal age (the birthday). "Within 2 years
    before" is read as: from the birthday 2 years before the renewal age (inclusive) up to the renewal
    birthday (exclusive). For a 29 February birthday in a non-leap year the law says nothing; the
    default is 28 February, the usual civil-law reading of a period ending on a day the month lacks,
    and ``leap_day="mar1"`` gives the other reading (:func:`keys_from_qr` tries both).

    See docs/expiry-rule.md for the legal text and the boundary cases.
    """
    dob = _as_date(date_of_birth, "date_of_birth")
    issue = _as_date(issue_date, "issue_date")
    if leap_day not in ("feb28", "mar1"):
        raise KeyInputError("leap_day must be 'feb28' or 'mar1'")
    if issue < dob:
        raise KeyInputError("the issue date is before the date of birth")
    return _expiry_under(dob, issue, milestones_for(issue), leap_day)


# Cards issued within this many days before a 2-year window opens may have been treated as inside it
# (an issuer counting whole years, a QR issue date a few days off the application date).
_WINDOW_EDGE_DAYS = 31


def expiry_candidates(date_of_birth: _dt.date, issue_date: _dt.date) -> list[_dt.date | None]:
    """Plausible expiries for a card, the lawful one first, then the alternatives worth a BAC attempt.

    Alternatives: the 1 March reading of a 29 February birthday; for a card issued inside a 2-year
    window, the renewal age it skipped (an issuer that did not apply Art. 21(2)); for a card issued
    just before a window opens, the next renewal age; the other law's answer (cards issued around
    2024-07-01, and children's cards). No duplicates.
    """
    dob = _as_date(date_of_birth, "date_of_birth")
    issue = _as_date(issue_date, "issue_date")
    lawful = card_expiry(dob, issue)
    out: list[_dt.date | None] = [lawful]

    def add(candidate: _dt.date | None) -> None:
        if candidate not in out:
            out.append(candidate)

    leap_days: tuple[LeapDay, ...] = ("feb28", "mar1") if (dob.month, dob.day) == (2, 29) else ("feb28",)
    milestones = milestones_for(issue)
    for leap in leap_days:
        add(_expiry_under(dob, issue, milestones, leap))
    for leap in leap_days:
        for i, age in enumerate(milestones):
            opens = birthday_at(dob, age - RENEWAL_WINDOW_YEARS, leap_day=leap)
            due = birthday_at(dob, age, leap_day=leap)
            if opens <= issue < due:
                add(due)
            elif opens - _dt.timedelta(days=_WINDOW_EDGE_DAYS) <= issue < opens:
                add(birthday_at(dob, milestones[i + 1], leap_day=leap) if i + 1 < len(milestones) else None)
    other = MILESTONES_2014 if milestones == MILESTONES_2023 else MILESTONES_2023
    for leap in leap_days:
        add(_expiry_under(dob, issue, other, leap))
    return out


# --- keys to try --------------------------------------------------------------------------------------


def keys_from_qr(qr: QRData) -> list[AccessKey]:
    """The access keys to try for the card whose QR code was read, best first.

    1. PACE with the CAN = the last 6 digits of the ID number: needs no expiry, so it cannot be wrong
       for a lawful reason (cccd-card-facts §3.2).
    2. The MRZ key: document number = ID digits 4-12, the date of birth, and the expiry the law gives
       (:func:`card_expiry`).
    3. MRZ keys with the other plausible expiries (:func:`expiry_candidates`), for cards whose expiry
       the rule cannot pin down.
    """
    id_number = qr.id_number
    if not is_digits(id_number, ID_NUMBER_LENGTH):
        raise KeyInputError("the QR record has no valid 12-digit ID number")
    keys: list[AccessKey] = [CANKey(id_number[-6:])]
    seen: set[str] = set()
    for expiry in expiry_candidates(qr.date_of_birth, qr.issue_date):
        key = MRZKey(id_number[3:12], qr.date_of_birth, expiry)
        if key.mrz_information not in seen:
            seen.add(key.mrz_information)
            keys.append(key)
    return keys


def mrz_key_from_mrz(text: str) -> MRZKey:
    """The MRZ key from an MRZ typed or OCR'd from the back of the card (TD1; TD2/TD3 work the same).

    Every check digit must hold (:func:`cccd_reader.mrz.parse_mrz` in strict mode): a slip in one
    character gives a key the card refuses, and the check digits catch nearly all such slips before
    the card is asked. ``991231`` (the CCCD's "no expiry") becomes ``date_of_expiry=None``.
    The key needs only the first two lines of a TD1 MRZ (the third holds the name), so two lines of 30
    characters are enough.
    """
    lines = normalize_mrz(text)
    if len(lines) == 2 and all(len(line) == 30 for line in lines):
        text = "\n".join([*lines, "<" * 30])  # a TD1 without its name line: no check digit covers it
    mrz = parse_mrz(text, strict=True)
    dob = mrz.date_of_birth
    if dob is None:
        raise MRZError("the date of birth in the MRZ is not a calendar date", field="date_of_birth")
    expiry = None if mrz.no_expiry else mrz.date_of_expiry
    if expiry is None and not mrz.no_expiry:
        raise MRZError("the date of expiry in the MRZ is not a calendar date", field="date_of_expiry")
    personal = mrz.personal_id_number
    if mrz.issuing_state == "VNM" and personal is not None and mrz.document_number != personal[3:12]:
        raise MRZError(
            "the document number is not digits 4-12 of the ID number in the optional data; "
            "re-check the first MRZ line",
            field="document_number",
        )
    try:
        return MRZKey(mrz.document_number, dob, expiry)
    except KeyInputError as exc:
        raise MRZError(str(exc), field="document_number") from None


# the ID-number rules moved to cccd_reader.idnumber (the QR parser needs them without the access keys)
__getattr__ = moved_names(__name__, {
    "validate_id_number": "cccd_reader.idnumber",
    "id_number_century": "cccd_reader.idnumber",
    "id_number_sex": "cccd_reader.idnumber",
    "id_number_birth_year": "cccd_reader.idnumber",
})
