"""Text from a chip or a QR code, made safe to show on a terminal (or in a CSV cell, a log line).

A forged card can put escape sequences, carriage returns, newlines or bidi overrides in its name: printed
raw they move the cursor, recolour or rewrite what was printed before ("verdict=genuine"), add fake table
rows, or show the text in another order than it is stored. Human-readable output therefore goes through
:func:`visible`; JSON keeps the exact text (its encoder escapes control characters itself).

The unsafe characters are the Unicode categories Cc (controls: C0, DEL, C1), Cf (format: bidi
embeddings, overrides and isolates, zero-width joiners and spaces, the BOM, soft hyphen, ...), Co
(private use), Cs (lone surrogates), Cn (unassigned) and the line/paragraph separators Zl/Zp. Vietnamese
text (precomposed or with combining marks) has none of them. :func:`visible` replaces each one by an
escape such as ``\\x1b`` or ``\\u202e`` (a backslash is doubled, so the output is unambiguous).
"""

from __future__ import annotations

import unicodedata

__all__ = ["UNSAFE_CATEGORIES", "is_unsafe", "unsafe_characters", "visible"]

UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})


def is_unsafe(char: str) -> bool:
    """True for a character that a terminal would act on, or that changes how text around it is shown."""
    return unicodedata.category(char) in UNSAFE_CATEGORIES


def unsafe_characters(text: str) -> list[str]:
    """The unsafe characters of ``text`` as escapes (``["\\\\x1b", "\\\\u202e"]``), in order, each once."""
    seen: list[str] = []
    for char in text:
        if is_unsafe(char):
            shown = _escape(char)
            if shown not in seen:
                seen.append(shown)
    return seen


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(value: object) -> str:
    """``value`` as text with every unsafe character shown as an escape and backslashes doubled.

    ``None`` is the empty string; anything else goes through ``str()``. Text without unsafe characters
    and without backslashes comes back unchanged.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if "\\" not in text and not any(is_unsafe(c) for c in text):
        return text
    return "".join("\\\\" if c == "\\" else _escape(c) if is_unsafe(c) else c for c in text)
