"""The printed QR against the chip: which fields disagree (never the values: they are personal data).

Text folding and sex codes are the model's own (:func:`~cccd_reader.model.ascii_fold`,
:func:`~cccd_reader.model.sex_code`), so the QR check and the DG1/DG13 cross-check fold names the same way.

A QR text without any diacritic ("Nguyen Van An", as many keyboard-wedge scanners type it) is compared
with the chip in its folded form, and the record says so in a :class:`QRNote`, not a mismatch; a QR
text with diacritics is compared exactly. The address is information only: a 2024 QR may carry a newer
residence than DG13, so a difference is a note, never a mismatch.
"""

from __future__ import annotations

import datetime as _dt
import unicodedata
from collections.abc import Callable
from typing import Any

from cccd_reader.folding import has_diacritics
from cccd_reader.model import ascii_fold, sex_code
from cccd_reader.read.records import QRMismatch, QRNote

NOT_ON_CHIP = "not on chip"
WITHOUT_DIACRITICS = "compared-without-diacritics"
DIFFERS = "differs"


def _norm_text(text: Any) -> str:
    s = unicodedata.normalize("NFC", str(text or "")).casefold()
    return " ".join(s.replace("<", " ").split())


def _fold(text: Any) -> str:
    """Without diacritics, for comparing with the MRZ (which has only A-Z)."""
    return ascii_fold(str(text or "").replace("<", " "))


def _as_date(value: Any) -> _dt.date | None:
    if value is None:
        return None
    if isinstance(value, _dt.date):
        return value
    to_date = getattr(value, "to_date", None)
    if callable(to_date):
        d = to_date()
        return d if isinstance(d, _dt.date) else None
    return None


def _sex_letter(value: Any) -> str | None:
    if value is None:
        return None
    text = str(getattr(value, "value", value))
    return sex_code(text) or _fold(text) or None


def _same_date(printed: Any, on_chip: Any) -> bool:
    """A full printed date against the chip's, which may be partial (DG13 allows year-only dates)."""
    p = _as_date(printed)
    if p is None:
        return str(printed) == str(on_chip)
    matches = getattr(on_chip, "matches", None)
    if callable(matches) and not isinstance(on_chip, _dt.date):
        return bool(matches(p.year, p.month, p.day))
    return p == _as_date(on_chip)


def compare_qr_with_chip(qr: Any, identity: Any, mrz: Any = None, *,
                         notes: list[QRNote] | None = None) -> list[QRMismatch]:
    """Compare the printed QR with the chip: ID number, name, date of birth, sex, issue date.

    Each disagreement is a :class:`QRMismatch` naming the field (never the values). A field the chip did
    not provide (e.g. DG13 not read) is listed with ``detail == NOT_ON_CHIP``: not compared, which is
    not a disagreement. A name that only the MRZ gave (no diacritics) is compared without diacritics.

    ``notes`` (a list to append to) receives :class:`QRNote` s: a name compared without diacritics
    because the QR has none (``WITHOUT_DIACRITICS``), and an address that differs from the chip's place
    of residence (``DIFFERS``, information only).
    """
    out: list[QRMismatch] = []
    noted: list[QRNote] = notes if notes is not None else []
    sources = getattr(identity, "sources", None) or {}

    def chip(*names: str) -> Any:
        for src in (identity, mrz):
            if src is None:
                continue
            for n in names:
                v = getattr(src, n, None)
                if v not in (None, ""):
                    return v
        return None

    def check(field_name: str, qv: Any, cv: Any, same: Callable[[Any, Any], bool]) -> None:
        if qv in (None, ""):
            return
        if cv in (None, ""):
            out.append(QRMismatch(field_name, NOT_ON_CHIP))
        elif not same(qv, cv):
            out.append(QRMismatch(field_name))

    def folded_name(a: Any, b: Any) -> bool:
        return _fold(a).replace(" ", "") == _fold(b).replace(" ", "")

    check("id_number", getattr(qr, "id_number", None), chip("id_number", "personal_id_number"),
          lambda a, b: str(a).strip() == str(b).strip())
    chip_name = getattr(identity, "full_name", None) if identity is not None else None
    qr_name = getattr(qr, "full_name", None)
    if chip_name and sources.get("full_name", "DG13") != "DG1":
        if qr_name and not has_diacritics(str(qr_name)) and has_diacritics(str(chip_name)):
            # the scanner dropped every diacritic: only the folded forms can be compared
            check("full_name", qr_name, chip_name, folded_name)
            if folded_name(qr_name, chip_name):
                noted.append(QRNote("full_name", WITHOUT_DIACRITICS))
        else:
            check("full_name", qr_name, chip_name, lambda a, b: _norm_text(a) == _norm_text(b))
    else:  # only the MRZ has the name: A-Z without diacritics
        parts = (getattr(mrz, "primary_identifier", None), getattr(mrz, "secondary_identifier", None))
        mrz_name = chip_name or " ".join(str(x) for x in parts if x)
        check("full_name", getattr(qr, "full_name", None), mrz_name, folded_name)
    check("date_of_birth", getattr(qr, "date_of_birth", None), chip("date_of_birth"), _same_date)
    check("sex", getattr(qr, "sex", None), chip("sex", "gender"),
          lambda a, b: _sex_letter(a) == _sex_letter(b))
    check("issue_date", getattr(qr, "issue_date", None), chip("issue_date", "date_of_issue"), _same_date)
    _note_address(getattr(qr, "address", None), chip("place_of_residence"), noted)
    return out


def _note_address(qr_address: Any, chip_address: Any, notes: list[QRNote]) -> None:
    """The QR's address against DG13's place of residence: information, never a mismatch."""
    if not qr_address or not chip_address:
        return

    def words(text: str) -> list[str]:
        return text.replace(",", " ").split()

    if not has_diacritics(str(qr_address)) and has_diacritics(str(chip_address)):
        same = words(_fold(qr_address)) == words(_fold(chip_address))
        notes.append(QRNote("address", WITHOUT_DIACRITICS if same else DIFFERS))
    elif words(_norm_text(qr_address)) != words(_norm_text(chip_address)):
        notes.append(QRNote("address", DIFFERS))
