"""The one text-folding helper: Vietnamese text without diacritics, for comparisons and the MRZ.

It sits below every other module (it imports nothing of the library) so that records, the LDS parsers
and the address module share it without importing one another.
"""

from __future__ import annotations

import unicodedata


def ascii_fold(text: str) -> str:
    """Vietnamese text as the MRZ prints it: diacritics removed, Đ as D, upper case, single spaces."""
    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.upper().split())


def has_diacritics(text: str) -> bool:
    """True when ``text`` has any Vietnamese diacritic (a combining mark once decomposed, or Đ/đ).

    "Nguyen Van An" as a keyboard-wedge scanner types it has none; "Nguyễn Văn An" has.
    """
    if "Đ" in text or "đ" in text:
        return True
    return any(unicodedata.combining(c) for c in unicodedata.normalize("NFD", text))
