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

__all__ = ["UNSAFE_CATEGORIES", "is_unsafe", "json_safe", "unsafe_characters", "visible"]

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
    # str.isprintable() (C speed) is False for every unsafe category (and for spaces other than ' ')
    if "\\" not in text and (text.isprintable() or not any(is_unsafe(c) for c in text)):
        return text
    return "".join("\\\\" if c == "\\" else _escape(c) if is_unsafe(c) else c for c in text)


_JSON_WHITESPACE = frozenset("\t\n\r")


def json_safe(json_text: str) -> str:
    """JSON text (from ``json.dumps(..., ensure_ascii=False)``) with every unsafe character escaped.

    ``json.dumps`` escapes only C0 controls; DEL, C1 controls, bidi overrides and zero-width characters
    would reach the terminal raw. Raw tab, newline and carriage return can only be JSON whitespace
    (indentation) and are kept; outside strings JSON text has no other such character, so replacing
    each by its ``\\uXXXX`` escape (a surrogate pair above U+FFFF) keeps the same JSON value, byte for
    byte once decoded, while Vietnamese letters stay readable.
    """
    if json_text.replace("\n", "").replace("\t", "").replace("\r", "").isprintable() \
            or not any(is_unsafe(c) and c not in _JSON_WHITESPACE for c in json_text):
        return json_text
    out = []
    for char in json_text:
        if char in _JSON_WHITESPACE or not is_unsafe(char):
            out.append(char)
            continue
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out)
