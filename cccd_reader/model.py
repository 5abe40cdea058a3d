"""Typed, frozen records returned by the library, with ``to_dict()`` giving JSON-ready values.

Conventions: dates as ISO strings, images as base64 (or a file path when saved), never raw bytes;
``repr`` of records holding personal data shows no personal values.
"""

from __future__ import annotations

import base64
import calendar
import contextlib
import dataclasses
import datetime as _dt
import enum
import io
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cccd_reader.address import AddressParts, parse_address
from cccd_reader.errors import InputError, ParseError
from cccd_reader.folding import ascii_fold as ascii_fold  # re-exported: callers import it from here
from cccd_reader.safetext import unsafe_characters

if TYPE_CHECKING:  # model.py sits below nothing: the MRZ type is only needed by the type checker
    from cccd_reader.mrz import MRZ


def to_jsonable(value: Any) -> Any:
    """Convert record values to JSON-ready ones (dates -> ISO, bytes -> base64, records -> dicts)."""
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return value.to_dict()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return value


# --- dates that may be partial ------------------------------------------------------------------------

_DMY = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
_MY = re.compile(r"(\d{1,2})[/.\-](\d{4})")
_Y = re.compile(r"(\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")
_DMY_COMPACT = re.compile(r"(\d{2})(\d{2})(\d{4})")


@dataclass(frozen=True)
class PartialDate:
    """A date whose day, or day and month, may be unknown (``00/00/1950`` or ``1950`` on a card).

    Vietnamese records carry such dates for people whose exact birth date was never registered. The
    unknown parts stay ``None``: the library never invents a 1st of January.
    """

    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.year <= 9999:
            raise InputError("year out of range")
        if self.month is None and self.day is not None:
            raise InputError("a day without a month is not a partial date")
        if self.month is not None and not 1 <= self.month <= 12:
            raise InputError("month out of range")
        if self.day is not None:
            assert self.month is not None
            _dt.date(self.year, self.month, self.day)  # raises ValueError for impossible days

    @classmethod
    def parse(cls, text: str) -> PartialDate | None:
        """Parse ``dd/MM/yyyy`` (``00`` for unknown parts), ``MM/yyyy``, ``yyyy``; ``None`` if not a date.

        Also accepted, leniently: ``.`` or ``-`` as separators, ISO ``yyyy-MM-dd`` and ``ddMMyyyy``.
        """
        s = unicodedata.normalize("NFC", text).strip()
        day = month = year = 0
        if m := _DMY.fullmatch(s):
            day, month, year = int(m[1]), int(m[2]), int(m[3])
        elif m := _ISO.fullmatch(s):
            year, month, day = int(m[1]), int(m[2]), int(m[3] or 0)
        elif m := _DMY_COMPACT.fullmatch(s):
            day, month, year = int(m[1]), int(m[2]), int(m[3])
        elif m := _MY.fullmatch(s):
            month, year = int(m[1]), int(m[2])
        elif m := _Y.fullmatch(s):
            year = int(m[1])
        else:
            return None
        if year == 0 or (month == 0 and day != 0):
            return None
        try:
            return cls(year, month or None, day or None)
        except (InputError, ValueError):
            return None

    @classmethod
    def from_date(cls, value: _dt.date) -> PartialDate:
        return cls(value.year, value.month, value.day)

    @property
    def complete(self) -> bool:
        return self.day is not None

    @property
    def precision(self) -> str:
        return "day" if self.day is not None else "month" if self.month is not None else "year"

    def to_date(self) -> _dt.date | None:
        """The full date, or ``None`` when a part is unknown."""
        if self.day is None or self.month is None:
            return None
        return _dt.date(self.year, self.month, self.day)

    def isoformat(self) -> str:
        """``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY`` (ISO 8601 reduced precision)."""
        out = f"{self.year:04d}"
        if self.month is not None:
            out += f"-{self.month:02d}"
        if self.day is not None:
            out += f"-{self.day:02d}"
        return out

    def matches(self, year: int | None, month: int | None, day: int | None) -> bool:
        """True when every part known on both sides agrees (used for DG1/DG13 cross-checks)."""
        pairs = ((self.year, year), (self.month, month), (self.day, day))
        return all(a is None or b is None or a == b for a, b in pairs)

    # --- comparison with dates ---------------------------------------------------------------------
    # A complete PartialDate IS that day: it equals the datetime.date of the same day (and hashes like
    # it), so ``identity.date_of_birth == qr.date_of_birth`` means what it says. A partial one equals only
    # the same PartialDate. Ordering is defined where the answer does not depend on the unknown parts
    # (1950 < 1951-03-02, but 1950 and 1950-06-01 cannot be ordered: comparing them raises TypeError).

    def _span(self) -> tuple[_dt.date, _dt.date]:
        """The first and last day this date may be."""
        if self.month is None:
            return _dt.date(self.year, 1, 1), _dt.date(self.year, 12, 31)
        if self.day is None:
            last = calendar.monthrange(self.year, self.month)[1]
            return _dt.date(self.year, self.month, 1), _dt.date(self.year, self.month, last)
        day = _dt.date(self.year, self.month, self.day)
        return day, day

    @staticmethod
    def _other_span(other: object) -> tuple[_dt.date, _dt.date] | None:
        if isinstance(other, PartialDate):
            return other._span()
        if isinstance(other, _dt.date) and not isinstance(other, _dt.datetime):
            return other, other
        return None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PartialDate):
            return (self.year, self.month, self.day) == (other.year, other.month, other.day)
        if isinstance(other, _dt.date) and not isinstance(other, _dt.datetime):
            return self.to_date() == other
        return NotImplemented

    def __hash__(self) -> int:
        day = self.to_date()
        return hash(day) if day is not None else hash((PartialDate, self.year, self.month))

    def _order(self, other: object) -> int | None:
        """-1 / 0 / 1 when the order is certain, None when it is not (or ``other`` is not a date)."""
        span = self._other_span(other)
        if span is None:
            return None
        first, last = self._span()
        if last < span[0]:
            return -1
        if first > span[1]:
            return 1
        if first == last == span[0] == span[1]:
            return 0
        return None

    def __lt__(self, other: object) -> bool:
        order = self._order(other)
        return NotImplemented if order is None else order < 0

    def __le__(self, other: object) -> bool:
        order = self._order(other)
        return NotImplemented if order is None else order <= 0

    def __gt__(self, other: object) -> bool:
        order = self._order(other)
        return NotImplemented if order is None else order > 0

    def __ge__(self, other: object) -> bool:
        order = self._order(other)
        return NotImplemented if order is None else order >= 0

    def __repr__(self) -> str:  # may be a date of birth: show the precision only
        return f"PartialDate(precision={self.precision!r})"

    def __str__(self) -> str:
        return self.isoformat()

    def to_dict(self) -> str:  # JSON value: the ISO text
        return self.isoformat()


# --- the portrait -------------------------------------------------------------------------------------

MAX_PORTRAIT_PIXELS = 25_000_000  # an ID portrait is well under a megapixel; refuse decompression bombs
_MIME_BY_FORMAT = {"JPEG": "image/jpeg", "JP2": "image/jp2", "J2K": "image/j2k"}
_SUFFIX_FORMAT = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".jfif": "JPEG",
    ".jp2": "JP2", ".j2k": "J2K", ".j2c": "J2K", ".jpc": "J2K",
    ".png": "PNG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP", ".gif": "GIF",
}  # fmt: skip


def portrait_format_for(path: str | os.PathLike[str]) -> str | None:
    """The image format :meth:`Portrait.save` would write for this file name ("JPEG", "PNG", ...), or None."""
    return _SUFFIX_FORMAT.get(Path(path).suffix.lower())


@dataclass(frozen=True)
class Portrait:
    """The holder's face image from DG2, in the codec the chip stores (JPEG, JPEG 2000 JP2 or J2K).

    ``format`` and ``mime_type`` come from the image's magic bytes, which win over what the biometric
    header declares. ``width``/``height`` are the image's own when its header could be read, else the
    declared ones.
    """

    image: bytes = field(repr=False)
    format: str  # "JPEG", "JP2", "J2K" or "unknown"
    width: int | None = None
    height: int | None = None
    source: str = "ISO/IEC 19794-5"
    declared_type: str | None = None  # what the biometric record said, when it disagrees it is kept here

    @property
    def mime_type(self) -> str:
        return _MIME_BY_FORMAT.get(self.format, "application/octet-stream")

    @property
    def suffix(self) -> str:
        return {"JPEG": ".jpg", "JP2": ".jp2", "J2K": ".j2k"}.get(self.format, ".bin")

    def to_image(self) -> Any:
        """Decode with Pillow (OpenJPEG inside Pillow handles JP2 and J2K). Returns a loaded image."""
        from PIL import Image

        try:
            img = Image.open(io.BytesIO(self.image))
            if img.width * img.height > MAX_PORTRAIT_PIXELS:
                raise ParseError(f"the portrait claims {img.width}x{img.height} pixels; refusing to decode",
                                 file="DG2")
            img.load()
        except ParseError:
            raise
        except Exception as exc:  # codec errors come in many types; the bytes are untrusted
            raise ParseError(f"the portrait ({self.format}) cannot be decoded: {type(exc).__name__}",
                             file="DG2") from None
        return img

    def save(self, path: str | os.PathLike[str], *, format: str | None = None) -> Path:
        """Write the portrait; the target format follows ``format`` or the file suffix.

        Saving in the stored codec writes the chip's bytes unchanged; any other target (PNG, JPEG from a
        JPEG 2000 portrait, ...) is converted, with image modes adapted to what the target supports.
        """
        target = Path(path)
        fmt = (format or _SUFFIX_FORMAT.get(target.suffix.lower(), "")).upper()
        fmt = {"JPG": "JPEG", "JPEG2000": "JP2"}.get(fmt, fmt)
        if not fmt:
            raise InputError("cannot tell the image format from the file name: end it in .jpg, .png or "
                             ".jp2 (or pass format='PNG')")
        if fmt == self.format:
            data = self.image
        else:
            img = _mode_for(self.to_image(), fmt)
            pil_format = {"JP2": "JPEG2000", "J2K": "JPEG2000"}.get(fmt, fmt)
            kwargs: dict[str, Any] = {"no_jp2": True} if fmt == "J2K" else {}
            buffer = io.BytesIO()
            try:
                img.save(buffer, format=pil_format, **kwargs)
            except (KeyError, OSError, ValueError) as exc:
                raise InputError(f"cannot save the portrait as {fmt}: {exc}") from None
            data = buffer.getvalue()
        # the face is personal data: the file is created readable by its owner only
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            with contextlib.suppress(OSError):
                os.fchmod(out.fileno(), 0o600)
            out.write(data)
        return target

    def to_dict(self, *, path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
        """JSON-ready: the image as base64, or only its ``path`` when it was saved to a file."""
        out: dict[str, Any] = {
            "format": self.format,
            "mime_type": self.mime_type,
            "width": self.width,
            "height": self.height,
            "size": len(self.image),
            "source": self.source,
        }
        if self.declared_type is not None:
            out["declared_type"] = self.declared_type
        if path is not None:
            out["path"] = os.fspath(path)
        else:
            out["image_base64"] = base64.b64encode(self.image).decode("ascii")
        return out


def _mode_for(img: Any, fmt: str) -> Any:
    """Convert ``img`` to a mode ``fmt`` can store (16-bit greys are scaled, not clipped, to 8 bits)."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        if fmt == "PNG" and mode != "I":
            return img
        _lo, hi = img.getextrema()
        scale = 255.0 / hi if hi and hi > 255 else 1.0
        img = img.convert("I").point(lambda v: v * scale).convert("L")
        mode = "L"
    if fmt == "JPEG":
        if mode in ("RGB", "L", "CMYK"):
            return img
        if mode in ("LA", "La"):
            return img.convert("L")
        return img.convert("RGB")
    if fmt in ("JP2", "J2K"):
        return img if mode in ("RGB", "RGBA", "L", "LA") else img.convert("RGB")
    if fmt == "PNG":
        return img if mode in ("RGB", "RGBA", "L", "LA", "P", "1", "I", "I;16") else img.convert("RGB")
    return img


# --- the identity: DG13 first, DG1 for the rest ------------------------------------------------------

_SEX_FROM_TEXT = {"nam": "M", "nu": "F", "male": "M", "female": "F", "m": "M", "f": "F"}


def sex_code(text: str | None) -> str | None:
    """``Nam``/``Nữ`` (or an MRZ letter) as ``"M"``/``"F"``; ``None`` when unknown."""
    if not text:
        return None
    return _SEX_FROM_TEXT.get(ascii_fold(text).lower())


IdentityDate = _dt.date | PartialDate


@dataclass(frozen=True)
class Identity:
    """The holder's identity, merged from DG13 (Vietnamese details) and DG1 (MRZ).

    DG13 wins where both have a value (it has diacritics and full dates); DG1 fills the gaps.
    ``sources`` says where each field came from, ``warnings`` where the two disagree (without values).
    ``expiry_date`` ``None`` with ``no_expiry`` True means the card never expires.
    """

    id_number: str | None = None
    full_name: str | None = None
    date_of_birth: IdentityDate | None = None
    sex: str | None = None  # "M" / "F"
    sex_text: str | None = None  # as printed in DG13 ("Nam" / "Nữ")
    nationality: str | None = None
    nationality_code: str | None = None  # ICAO code from the MRZ ("VNM")
    ethnicity: str | None = None
    religion: str | None = None
    place_of_origin: str | None = None
    place_of_residence: str | None = None
    identifying_marks: str | None = None
    issue_date: IdentityDate | None = None
    expiry_date: IdentityDate | None = None
    no_expiry: bool = False
    father_name: str | None = None
    mother_name: str | None = None
    spouse_name: str | None = None
    old_id_number: str | None = None
    document_number: str | None = None  # the MRZ document number (ID digits 4-12 on a CCCD)
    portrait: Portrait | None = field(default=None, repr=False)  # from DG2, when given
    extra: dict[int, tuple[str, ...]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def __repr__(self) -> str:  # personal data: show which fields are known, not their values
        skip = ("extra", "sources", "warnings", "no_expiry")
        known = [f.name for f in dataclasses.fields(self)
                 if f.name not in skip and getattr(self, f.name) is not None]
        return f"Identity(known={known}, no_expiry={self.no_expiry}, warnings={len(self.warnings)})"

    @property
    def place_of_origin_parts(self) -> AddressParts | None:
        """The place of origin split into parts and mapped to the 2025 units (cccd_reader.address)."""
        return parse_address(self.place_of_origin) if self.place_of_origin else None

    @property
    def place_of_residence_parts(self) -> AddressParts | None:
        """The place of residence split into parts and mapped to the 2025 units (cccd_reader.address)."""
        return parse_address(self.place_of_residence) if self.place_of_residence else None

    def to_dict(self, *, addresses: bool = False) -> dict[str, Any]:
        """JSON-ready values; ``addresses=True`` adds ``place_of_origin_parts``/``place_of_residence_parts``.

        The parts are opt-in: mapping loads the address data (about a second, once per process).
        """
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "extra":
                out["extra"] = {str(k): list(v) for k, v in sorted(value.items())}
            else:
                out[f.name] = to_jsonable(value)
        if addresses:
            out["place_of_origin_parts"] = to_jsonable(self.place_of_origin_parts)
            out["place_of_residence_parts"] = to_jsonable(self.place_of_residence_parts)
        return out


class _DG13Like(Protocol):
    def text(self, number: int) -> str | None: ...
    @property
    def date_of_birth(self) -> PartialDate | None: ...
    @property
    def issue_date(self) -> PartialDate | None: ...
    @property
    def expiry_date(self) -> PartialDate | None: ...
    @property
    def no_expiry(self) -> bool: ...
    @property
    def father_name(self) -> str | None: ...
    @property
    def mother_name(self) -> str | None: ...
    @property
    def spouse_name(self) -> str | None: ...
    @property
    def extra(self) -> dict[int, tuple[str, ...]]: ...


def _mrz_of(dg1: Any) -> MRZ | None:
    if dg1 is None:
        return None
    from cccd_reader.mrz import MRZ

    if isinstance(dg1, MRZ):
        return dg1
    mrz = getattr(dg1, "mrz", None)
    return mrz if isinstance(mrz, MRZ) else None


def _yymmdd(raw: str) -> tuple[int | None, int | None, int | None]:
    def part(s: str) -> int | None:
        return int(s) if s.isdigit() and int(s) != 0 else None

    return part(raw[0:2]), part(raw[2:4]), part(raw[4:6])


def merge_identity(dg13: _DG13Like | None, dg1: Any = None, dg2: Any = None) -> Identity:
    """Merge a decoded DG13 and DG1 (or an :class:`~cccd_reader.mrz.MRZ`) into one :class:`Identity`.

    ``dg2`` (a decoded DG2 or a :class:`Portrait`) adds the portrait.

    Cross-checks (cccd-card-facts §4.3 step 5) are reported in ``warnings``: the ID against the MRZ
    optional data, the date of birth, the sex, the name without diacritics against the MRZ name.
    """
    mrz = _mrz_of(dg1)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    warnings: list[str] = []

    def put(name: str, value: Any, source: str) -> None:
        if value is None or value == "" or name in values:
            return
        values[name] = value
        sources[name] = source
        hidden = unsafe_characters(value) if isinstance(value, str) else []
        if hidden:  # a forged chip's escape sequences or bidi overrides: kept exact, flagged, shown escaped
            warnings.append(f"the {name.replace('_', ' ')} from {source} holds control or invisible "
                            f"formatting characters ({', '.join(hidden)})")

    if dg13 is not None:
        put("id_number", dg13.text(1), "DG13")
        put("full_name", dg13.text(2), "DG13")
        put("date_of_birth", dg13.date_of_birth, "DG13")
        sex_text = dg13.text(4)
        put("sex", sex_code(sex_text), "DG13")
        put("sex_text", sex_text, "DG13")
        put("nationality", dg13.text(5), "DG13")
        put("ethnicity", dg13.text(6), "DG13")
        put("religion", dg13.text(7), "DG13")
        put("place_of_origin", dg13.text(8), "DG13")
        put("place_of_residence", dg13.text(9), "DG13")
        put("identifying_marks", dg13.text(10), "DG13")
        put("issue_date", dg13.issue_date, "DG13")
        if dg13.no_expiry:
            put("no_expiry", True, "DG13")
        put("expiry_date", dg13.expiry_date, "DG13")
        put("father_name", dg13.father_name, "DG13")
        put("mother_name", dg13.mother_name, "DG13")
        put("spouse_name", dg13.spouse_name, "DG13")
        put("old_id_number", dg13.text(15), "DG13")
        if dg13.extra:
            values["extra"] = dict(dg13.extra)
            sources["extra"] = "DG13"

    if mrz is not None:
        for check, ok in mrz.check_results.items():
            if not ok:  # reported, not enforced: the chip is what it is (the field, never its value)
                warnings.append(f"DG1: the MRZ check digit of the {check.replace('_', ' ')} does not match")
        mrz_id = mrz.personal_id_number
        put("document_number", mrz.document_number or None, "DG1")
        put("id_number", mrz_id, "DG1")
        put("full_name", mrz.full_name or None, "DG1")
        put("date_of_birth", mrz.date_of_birth, "DG1")
        put("sex", mrz.sex if mrz.sex in ("M", "F") else None, "DG1")
        put("nationality_code", mrz.nationality or None, "DG1")
        put("nationality", mrz.nationality or None, "DG1")
        if "expiry_date" not in values and "no_expiry" not in values:
            if mrz.no_expiry:
                put("no_expiry", True, "DG1")
            else:
                put("expiry_date", mrz.date_of_expiry, "DG1")

        if dg13 is not None:
            _cross_check(dg13, mrz, warnings)

    portrait = dg2 if isinstance(dg2, Portrait) else getattr(dg2, "portrait", None)
    if isinstance(portrait, Portrait):
        values["portrait"] = portrait
        sources["portrait"] = "DG2"
    return Identity(**values, sources=sources, warnings=tuple(warnings))


def _cross_check(dg13: _DG13Like, mrz: MRZ, warnings: list[str]) -> None:
    id13 = dg13.text(1)
    if id13:
        mrz_id = mrz.personal_id_number
        if mrz_id is not None and mrz_id != id13:
            warnings.append("the ID number in DG13 differs from the one in the MRZ optional data (DG1)")
        if len(id13) == 12 and mrz.document_number and mrz.document_number != id13[3:12] and mrz_id is None:
            warnings.append("the MRZ document number is not digits 4-12 of the DG13 ID number")
    dob = dg13.date_of_birth
    if dob is not None and len(mrz.date_of_birth_raw) == 6:
        yy, mm, dd = _yymmdd(mrz.date_of_birth_raw)
        if not dob.matches(None, mm, dd) or (yy is not None and dob.year % 100 != yy):
            warnings.append("the date of birth in DG13 differs from the one in the MRZ (DG1)")
    sex13 = sex_code(dg13.text(4))
    if sex13 is not None and mrz.sex in ("M", "F") and sex13 != mrz.sex:
        warnings.append("the sex in DG13 differs from the one in the MRZ (DG1)")
    name13 = dg13.text(2)
    mrz_name = " ".join(mrz.full_name.split())
    if name13 and mrz_name:
        folded = ascii_fold(name13)
        # TD1 names are cut at 30 characters: a truncated MRZ name must be a prefix of the full one
        name_line = (mrz.lines[2] if mrz.document_type == "TD1" else mrz.lines[0]) if mrz.lines else ""
        # a cut name fills the line: at most one '<' (a separator) is left at its end
        truncated = bool(name_line) and len(name_line) - len(name_line.rstrip("<")) <= 1
        if folded != mrz_name and not (truncated and folded.startswith(mrz_name)):
            warnings.append("the name in DG13 (without diacritics) differs from the MRZ name (DG1)")
    if dg13.no_expiry and not mrz.no_expiry and mrz.date_of_expiry is not None:
        warnings.append("DG13 says the card does not expire but the MRZ has an expiry date")
    exp13 = dg13.expiry_date
    if exp13 is not None and mrz.no_expiry:
        warnings.append("DG13 has an expiry date but the MRZ says the card does not expire")
    elif exp13 is not None and len(mrz.date_of_expiry_raw) == 6:
        yy, mm, dd = _yymmdd(mrz.date_of_expiry_raw)
        if not exp13.matches(None, mm, dd) or (yy is not None and exp13.year % 100 != yy):
            warnings.append("the expiry date in DG13 differs from the one in the MRZ (DG1)")
