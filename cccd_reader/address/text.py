"""Address text without data: folding for comparison, unit words and their abbreviations, the split.

Card addresses are comma-separated, most specific first: ``street part, ward/commune, district (before
2025-07-01), province``. Unit words come spelled out ("Phường", "Thành phố"), abbreviated ("P.", "Q.",
"TP.", "TX.", "TT."), without diacritics ("Phuong", "Thanh pho") or glued to a number ("P5", "Q.10").
This module recognises them; which unit a part really is is decided with the data (units.py) where the
words leave it open (a "Thành phố" can be a province or a city inside one).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from cccd_reader.folding import ascii_fold

# Levels of a part, from the unit word in front of it.
WARD = "ward"  # phường, xã, thị trấn, đặc khu
DISTRICT = "district"  # quận, huyện, thị xã (and "thành phố" under a province)
PROVINCE = "province"  # tỉnh (and "thành phố" run by the centre)
CITY = "city"  # "thành phố": a province-level or a district-level city; the data decides

# Folded unit word (or abbreviation, without its dot) -> (level, unit type as the data spells it).
_UNIT_WORDS: dict[str, tuple[str, str]] = {
    "phuong": (WARD, "phuong"), "p": (WARD, "phuong"),
    "xa": (WARD, "xa"), "x": (WARD, "xa"),
    "thi tran": (WARD, "thi-tran"), "tt": (WARD, "thi-tran"),
    "dac khu": (WARD, "dac-khu"),
    "quan": (DISTRICT, "quan"), "q": (DISTRICT, "quan"),
    "huyen": (DISTRICT, "huyen"), "h": (DISTRICT, "huyen"),
    "thi xa": (DISTRICT, "thi-xa"), "tx": (DISTRICT, "thi-xa"),
    "thanh pho": (CITY, "thanh-pho"), "tp": (CITY, "thanh-pho"),
    "tinh": (PROVINCE, "tinh"), "t": (PROVINCE, "tinh"),
}  # fmt: skip
# Abbreviations count with a dot ("P. Hàng Bạc"), glued to a number ("P5") or, bare, when of two letters
# in capitals ("TP Huế"): a bare one-letter word may start a street name.
_ABBREVIATIONS = frozenset({"p", "x", "tt", "q", "h", "tx", "tp", "t"})

# Province-level names that changed or have common short forms; folded -> folded name in the data.
PROVINCE_ALIASES: dict[str, str] = {
    "thua thien hue": "hue",
    "hcm": "ho chi minh", "tp hcm": "ho chi minh", "tphcm": "ho chi minh", "sai gon": "ho chi minh",
    "hn": "ha noi", "ba ria vung tau": "ba ria vung tau", "brvt": "ba ria vung tau",
}  # fmt: skip


def fold(text: str) -> str:
    """Comparison key: no diacritics, lower case, hyphens as spaces, numbers without leading zeros.

    The one folding helper (model.ascii_fold) does the diacritics; this adds what names in addresses
    need: "Bà Rịa-Vũng Tàu" = "Bà Rịa - Vũng Tàu", "Phường 05" = "Phường 5".
    """
    base = ascii_fold(text.replace("-", " ").replace("–", " ")).lower()
    words = [w.lstrip("0") or "0" if w.isdigit() else w for w in base.replace(".", " ").split()]
    return " ".join(words)


def mark_key(text: str) -> str:
    """A key that keeps diacritics but not where the tone mark sits ("Hòa" = "Hoà"), nor case.

    Used only to choose among names that fold to the same key (two communes "Tân Thành"/"Tân Thạnh").
    """
    words = unicodedata.normalize("NFD", text.replace("-", " ").lower()).split()
    return " ".join("".join(sorted(w)) for w in words)


@dataclass(frozen=True)
class Part:
    """One comma-separated part: as written, its unit word's level and type (if any), its bare name."""

    text: str
    level: str | None  # WARD / DISTRICT / PROVINCE / CITY, or None without a unit word
    unit_type: str | None  # "phuong", "xa", "thi-tran", "quan", "huyen", "thi-xa", "thanh-pho", "tinh"
    name: str  # the part without its unit word, as written


# The proper spelling of each spelled-out unit word: a part written with diacritics must spell its unit
# word so ("Xa lộ Hà Nội" is a road, not the commune "lộ Hà Nội"); a part without any diacritics may not.
_SPELLED: dict[str, str] = {
    "phuong": "phường", "xa": "xã", "thi tran": "thị trấn", "dac khu": "đặc khu", "quan": "quận",
    "huyen": "huyện", "thi xa": "thị xã", "thanh pho": "thành phố", "tinh": "tỉnh",
}  # fmt: skip
_GLUED = re.compile(r"(?i)^(tp|tx|tt|p|q|h|x|t)\.\s*")  # "TP.HCM", "P.5", "Q. Hoàn Kiếm"
_GLUED_NUMBER = re.compile(r"(?i)^(p|q)\s*(\d+)$")  # "P5", "Q 10"


def classify(text: str) -> Part:
    """Recognise the unit word in front of one part (never raises; an unknown part has no level)."""
    s = " ".join(unicodedata.normalize("NFC", text).split())
    if m := _GLUED_NUMBER.match(s):
        level, unit = _UNIT_WORDS[m[1].lower()]
        return Part(s, level, unit, m[2])
    if (m := _GLUED.match(s)) and s[m.end():].strip():
        level, unit = _UNIT_WORDS[m[1].lower()]
        return Part(s, level, unit, s[m.end():].strip())
    raw = s.split()
    folded = ascii_fold(s).lower().split()  # NFC Vietnamese letters are one code point: same words
    plain = " ".join(folded) == s.lower()
    for word, spelled in _SPELLED.items():
        n = len(word.split())
        if len(raw) <= n or " ".join(folded[:n]) != word:
            continue
        if not plain and " ".join(raw[:n]).lower() != spelled:
            continue
        level, unit = _UNIT_WORDS[word]
        return Part(s, level, unit, " ".join(raw[n:]))
    # bare abbreviations count in capitals ("TP Huế") or before a number ("P 5" handled above)
    if len(raw) > 1 and folded[0] in _ABBREVIATIONS and raw[0].isupper() and len(raw[0]) > 1:
        level, unit = _UNIT_WORDS[folded[0]]
        return Part(s, level, unit, " ".join(raw[1:]))
    return Part(s, None, None, s)


def split_parts(text: str) -> list[Part]:
    """Split on commas (and semicolons), trimming, dropping empty parts."""
    s = unicodedata.normalize("NFC", text)
    return [classify(p) for p in re.split(r"[,;]", s) if p.strip()]
