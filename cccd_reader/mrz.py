"""Machine readable zones (ICAO 9303 parts 3-5): TD1, TD2, TD3, with every check digit checked.

The Vietnamese card is TD1 with a twist (cccd-card-facts §2.1): the document number field holds digits
4-12 of the 12-digit personal ID, and the optional data holds the full 12-digit ID followed by its own
check digit. :attr:`MRZ.personal_id_number` exposes it.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from cccd_reader.errors import MRZError

_WEIGHTS = (7, 3, 1)


def _char_value(c: str) -> int:
    if c.isdigit():
        return ord(c) - 48
    if "A" <= c <= "Z":
        return ord(c) - 55
    if c == "<":
        return 0
    raise MRZError("MRZ contains a character outside 0-9, A-Z and '<'", field="charset")


def check_digit(data: str) -> str:
    """ICAO 9303-3 §4.9 check digit of ``data`` (digits, A-Z, '<')."""
    return str(sum(_char_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(data)) % 10)


def parse_yymmdd(text: str, *, field_name: str, future: bool) -> _dt.date | None:
    """Decode a YYMMDD date. ``future`` picks the century for expiry dates; ``None`` for unknown parts.

    Birth dates take the most recent past century; expiry dates may be up to 50 years ahead.
    ``991231`` as an expiry is returned as 2099-12-31: the Vietnamese card's "no expiry".
    """
    if len(text) != 6 or not text.isdigit():
        return None
    yy, mm, dd = int(text[:2]), int(text[2:4]), int(text[4:6])
    today = _dt.date.today()
    if future:
        year = 2000 + yy if 2000 + yy <= today.year + 50 else 1900 + yy
    else:
        year = 2000 + yy if 2000 + yy <= today.year else 1900 + yy
    try:
        return _dt.date(year, mm, dd)
    except ValueError:
        return None


@dataclass(frozen=True)
class MRZ:
    """A decoded MRZ. Raw field strings are kept (fillers '<' stripped from names and numbers)."""

    document_type: str  # "TD1" | "TD2" | "TD3"
    document_code: str
    issuing_state: str
    document_number: str
    document_number_check: str
    optional_data_1: str
    date_of_birth_raw: str
    date_of_birth_check: str
    sex: str  # "M", "F" or "<"
    date_of_expiry_raw: str
    date_of_expiry_check: str
    nationality: str
    optional_data_2: str
    primary_identifier: str
    secondary_identifier: str
    composite_check: str
    lines: tuple[str, ...] = field(repr=False)
    check_results: dict[str, bool] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:  # no personal data in reprs
        return (
            f"MRZ(document_type={self.document_type!r}, issuing_state={self.issuing_state!r}, "
            f"valid={self.valid})"
        )

    @property
    def valid(self) -> bool:
        return all(self.check_results.values())

    @property
    def date_of_birth(self) -> _dt.date | None:
        return parse_yymmdd(self.date_of_birth_raw, field_name="date_of_birth", future=False)

    @property
    def date_of_expiry(self) -> _dt.date | None:
        """``None`` both for "no expiry" (991231) and for an unreadable date; see :attr:`no_expiry`."""
        if self.no_expiry:
            return None
        return parse_yymmdd(self.date_of_expiry_raw, field_name="date_of_expiry", future=True)

    @property
    def no_expiry(self) -> bool:
        return self.date_of_expiry_raw == "991231"

    @property
    def full_name(self) -> str:
        return f"{self.primary_identifier} {self.secondary_identifier}".strip()

    @property
    def personal_id_number(self) -> str | None:
        """The Vietnamese 12-digit personal ID from TD1 optional data, if this is such an MRZ."""
        opt = self.optional_data_1
        if self.document_type == "TD1" and len(opt) >= 12 and opt[:12].isdigit():
            return opt[:12]
        return None

    @property
    def mrz_information(self) -> str:
        """Document number + check, DOB + check, DOE + check: the BAC / PACE-MRZ password input.

        For TD1 documents whose number overflows into optional data (check digit '<') the full number is
        used, as 9303-11 §9.7.2 requires.
        """
        return (
            self.document_number.ljust(9, "<")
            + self.document_number_check
            + self.date_of_birth_raw
            + self.date_of_birth_check
            + self.date_of_expiry_raw
            + self.date_of_expiry_check
        )

    def text(self) -> str:
        return "\n".join(self.lines)

    def to_dict(self) -> dict[str, Any]:
        dob = self.date_of_birth
        doe = self.date_of_expiry
        return {
            "document_type": self.document_type,
            "document_code": self.document_code,
            "issuing_state": self.issuing_state,
            "document_number": self.document_number,
            "personal_id_number": self.personal_id_number,
            "date_of_birth": dob.isoformat() if dob else self.date_of_birth_raw,
            "sex": self.sex,
            "date_of_expiry": (
                None if self.no_expiry else (doe.isoformat() if doe else self.date_of_expiry_raw)
            ),
            "nationality": self.nationality,
            "primary_identifier": self.primary_identifier,
            "secondary_identifier": self.secondary_identifier,
            "optional_data_1": self.optional_data_1,
            "optional_data_2": self.optional_data_2,
            "checks": dict(self.check_results),
            "valid": self.valid,
        }


def _strip(s: str) -> str:
    return s.rstrip("<")


def _names(s: str) -> tuple[str, str]:
    primary, _, secondary = s.partition("<<")
    return primary.replace("<", " ").strip(), secondary.replace("<", " ").strip()


def normalize_mrz(text: str) -> list[str]:
    """Split typed or OCR'd MRZ text into lines: whitespace removed, upper-cased, '«' and spaces tolerated."""
    if not isinstance(text, str):
        raise MRZError("the MRZ must be text", field="mrz")
    raw_lines = [ln.strip().replace(" ", "").replace("«", "<").upper() for ln in text.strip().splitlines()]
    lines = [ln for ln in raw_lines if ln]
    if len(lines) == 1:
        one = lines[0]
        for width, count in ((30, 3), (36, 2), (44, 2)):
            if len(one) == width * count:
                return [one[i : i + width] for i in range(0, len(one), width)]
    return lines


def parse_mrz(text: str, *, strict: bool = True) -> MRZ:
    """Parse an MRZ given as 2 or 3 lines (or one concatenated string).

    With ``strict`` a failing check digit raises :class:`MRZError`; otherwise the MRZ is returned and
    :attr:`MRZ.check_results` says which checks failed (DG1 on a card is reported, not rejected).
    """
    lines = normalize_mrz(text)
    for ln in lines:
        for c in ln:
            _char_value(c)
    shape = (len(lines), *(len(ln) for ln in lines))
    if shape == (3, 30, 30, 30):
        mrz = _parse_td1(lines)
    elif shape == (2, 36, 36):
        mrz = _parse_td23(lines, "TD2")
    elif shape == (2, 44, 44):
        mrz = _parse_td23(lines, "TD3")
    else:
        raise MRZError(
            "an MRZ has 3 lines of 30 characters (ID card), or 2 lines of 36 or 44; check the text scanned",
            field="layout",
        )
    if strict and not mrz.valid:
        failed = ", ".join(k for k, ok in mrz.check_results.items() if not ok)
        raise MRZError(f"MRZ check digit mismatch in: {failed}; re-check the characters typed", field=failed)
    return mrz


def _digit_ok(data: str, check: str) -> bool:
    return check_digit(data) == check


def _parse_td1(lines: list[str]) -> MRZ:
    l1, l2, l3 = lines
    doc_number = l1[5:14]
    doc_check = l1[14]
    opt1 = l1[15:30]
    if doc_check == "<" and _strip(opt1):
        # long document number continues in optional data, its check digit is the last char before '<'
        ext = _strip(opt1)
        doc_number = doc_number + ext[:-1]
        doc_check = ext[-1]
        opt1_out = ""
    else:
        opt1_out = _strip(opt1)
    composite_data = l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29]
    primary, secondary = _names(l3)
    checks = {
        "document_number": _digit_ok(doc_number, doc_check),
        "date_of_birth": _digit_ok(l2[0:6], l2[6]),
        "date_of_expiry": _digit_ok(l2[8:14], l2[14]),
        "composite": _digit_ok(composite_data, l2[29]),
    }
    # Vietnamese TD1: the 12-digit ID in optional data carries its own check digit at position 30
    # (positions 16-29 = ID + '<<', so the check over 16-29 equals the check over the ID alone).
    if opt1_out[:12].isdigit() and len(opt1_out) >= 12 and l1[:5] in ("IDVNM",):
        checks["personal_id_number"] = _digit_ok(l1[15:29], l1[29])
    return MRZ(
        document_type="TD1",
        document_code=_strip(l1[0:2]),
        issuing_state=_strip(l1[2:5]),
        document_number=_strip(doc_number),
        document_number_check=doc_check,
        optional_data_1=opt1_out,
        date_of_birth_raw=l2[0:6],
        date_of_birth_check=l2[6],
        sex=l2[7],
        date_of_expiry_raw=l2[8:14],
        date_of_expiry_check=l2[14],
        nationality=_strip(l2[15:18]),
        optional_data_2=_strip(l2[18:29]),
        primary_identifier=primary,
        secondary_identifier=secondary,
        composite_check=l2[29],
        lines=tuple(lines),
        check_results=checks,
    )


def _parse_td23(lines: list[str], kind: str) -> MRZ:
    l1, l2 = lines
    width = len(l1)
    primary, secondary = _names(l1[5:])
    doc_number, doc_check = l2[0:9], l2[9]
    if kind == "TD3":
        opt = l2[28:42]
        opt_check = l2[42]
        composite_data = l2[0:10] + l2[13:20] + l2[21:43]
        composite = l2[43]
    else:
        opt = l2[28:35]
        opt_check = ""
        composite_data = l2[0:10] + l2[13:20] + l2[21:35]
        composite = l2[35]
        if doc_check == "<" and _strip(opt):
            ext = _strip(opt)
            doc_number, doc_check, opt = doc_number + ext[:-1], ext[-1], ""
    checks = {
        "document_number": _digit_ok(doc_number, doc_check),
        "date_of_birth": _digit_ok(l2[13:19], l2[19]),
        "date_of_expiry": _digit_ok(l2[21:27], l2[27]),
        "composite": _digit_ok(composite_data, composite),
    }
    if kind == "TD3":
        # an all-filler personal number may carry '<' or '0' as its check digit
        checks["optional_data"] = (opt_check == "<" and not _strip(opt)) or _digit_ok(opt, opt_check)
    del width
    return MRZ(
        document_type=kind,
        document_code=_strip(l1[0:2]),
        issuing_state=_strip(l1[2:5]),
        document_number=_strip(doc_number),
        document_number_check=doc_check,
        optional_data_1=_strip(opt),
        date_of_birth_raw=l2[13:19],
        date_of_birth_check=l2[19],
        sex=l2[20],
        date_of_expiry_raw=l2[21:27],
        date_of_expiry_check=l2[27],
        nationality=_strip(l2[10:13]),
        optional_data_2="",
        primary_identifier=primary,
        secondary_identifier=secondary,
        composite_check=composite,
        lines=tuple(lines),
        check_results=checks,
    )
