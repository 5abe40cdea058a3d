"""The 12-digit personal ID number: its structure and its agreement with the holder's data.

A neutral home below both the QR parser and the access keys (each needs the rules, neither needs the
other). The number is: 3-digit province (or country) code of the birth registration, 1 digit for century
and sex, 2 digits for the year of birth, then a 6-digit serial.
"""

from __future__ import annotations

import datetime as _dt
import unicodedata

from cccd_reader.errors import IDNumberError
from cccd_reader.provinces import PROVINCE_CODES

ID_NUMBER_LENGTH = 12

_SEX_WORDS = {"m": "M", "f": "F", "nam": "M", "nữ": "F", "nu": "F"}


def is_digits(text: object, length: int) -> bool:
    """``text`` is exactly ``length`` ASCII digits."""
    return isinstance(text, str) and len(text) == length and text.isascii() and text.isdigit()


def _sex_letter(sex: str) -> str:
    letter = None
    if isinstance(sex, str):
        letter = _SEX_WORDS.get(unicodedata.normalize("NFC", sex).strip().casefold())
    if letter is None:
        raise IDNumberError("sex must be 'M' or 'F' (or 'Nam' / 'Nữ')")
    return letter


def id_number_century(id_number: str) -> int:
    """First year of the birth century the 4th digit encodes (0/1 -> 1900, 2/3 -> 2000, ..., 8/9 -> 2300)."""
    if not is_digits(id_number, ID_NUMBER_LENGTH):
        raise IDNumberError("the personal ID number is 12 digits (ASCII 0-9)")
    return 1900 + (int(id_number[3]) // 2) * 100


def id_number_sex(id_number: str) -> str:
    """'M' or 'F' from the 4th digit: even digits are men, odd digits women (Circular 07/2016/TT-BCA)."""
    if not is_digits(id_number, ID_NUMBER_LENGTH):
        raise IDNumberError("the personal ID number is 12 digits (ASCII 0-9)")
    return "M" if int(id_number[3]) % 2 == 0 else "F"


def id_number_birth_year(id_number: str) -> int:
    """The year of birth the number encodes: century from digit 4, last two digits from digits 5-6."""
    return id_number_century(id_number) + int(id_number[4:6])


def validate_id_number(
    id_number: str,
    *,
    date_of_birth: _dt.date | None = None,
    sex: str | None = None,
    strict: bool = False,
) -> tuple[str, ...]:
    """Check a 12-digit personal ID number's structure and its agreement with the holder's data.

    The number is: 3-digit province (or country) code of the birth registration, 1 digit for century
    and sex (0/1 = man/woman born 1900-1999, 2/3 = 2000-2099, 4/5, 6/7, 8/9 for the next centuries),
    2 digits for the year of birth, then a 6-digit serial (Decree 137/2015/ND-CP Art. 13, Circular
    07/2016/TT-BCA Art. 7 and Annexes).

    A malformed number (not 12 ASCII digits) always raises :class:`IDNumberError`. Disagreements
    (unknown province code, century/sex digit against the date of birth or sex, year digits against the
    year of birth) are returned as warnings, because a scanned card is what it is and the chip is the
    authority; with ``strict`` (data typed in by a person, where a slip is likely) they raise
    :class:`IDNumberError` instead. Messages name the part that disagrees, never the values.
    """
    if not is_digits(id_number, ID_NUMBER_LENGTH):
        raise IDNumberError("the personal ID number is 12 digits (ASCII 0-9)")
    if date_of_birth is not None and not isinstance(date_of_birth, _dt.date):
        raise IDNumberError("date_of_birth must be a datetime.date")
    warnings: list[str] = []
    if id_number[:3] not in PROVINCE_CODES:
        warnings.append(
            "province: the first 3 digits are not a province code of Circular 07/2016/TT-BCA "
            "(births registered abroad carry a country code)"
        )
    if date_of_birth is not None:
        if date_of_birth.year // 100 * 100 != id_number_century(id_number):
            warnings.append("century: the 4th digit gives a birth century other than the date of birth's")
        if date_of_birth.year % 100 != int(id_number[4:6]):
            warnings.append("birth_year: digits 5-6 are not the last two digits of the year of birth")
    if sex is not None and _sex_letter(sex) != id_number_sex(id_number):
        warnings.append("sex: the 4th digit gives a sex other than the holder's")
    if strict and warnings:
        raise IDNumberError("the ID number does not agree with the holder's data: " + "; ".join(warnings))
    return tuple(warnings)


__all__ = [
    "ID_NUMBER_LENGTH",
    "id_number_birth_year",
    "id_number_century",
    "id_number_sex",
    "is_digits",
    "validate_id_number",
]
