"""Messages for people in English or Vietnamese, with the standard gettext machinery.

The catalogs are in the package: ``cccd_reader/locale/<lang>/LC_MESSAGES/cccd_reader.po`` (the source,
edited by hand or with any PO editor) and the compiled ``.mo`` next to it, which is what gettext reads
(``msgfmt -o cccd_reader.mo cccd_reader.po`` after an edit; a test checks that the two agree). English
is the source language: its strings are the message ids, so English needs no catalog.

Only output for people is translated (table labels, verdict sentences, states, error lines); JSON,
CSV column names and the library's exception messages stay language-neutral. The language is chosen
by ``--lang``, else by the locale (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``, as gettext
looks them up). Dates in human output are ``dd/mm/yyyy`` in Vietnamese, ISO ``yyyy-mm-dd`` in English.
"""

from __future__ import annotations

import datetime as _dt
import gettext
import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from cccd_reader.errors import InputError

DOMAIN = "cccd_reader"
LANGUAGES = ("en", "vi")
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_state: dict[str, Any] = {"lang": "en", "translations": gettext.NullTranslations()}


def locale_language(environ: dict[str, str] | None = None) -> str:
    """The language the locale asks for ("vi" or "en"), looked up the way gettext does."""
    env = os.environ if environ is None else environ
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var)
        if value:
            for item in value.split(":"):
                code = item.split(".")[0].split("_")[0].split("-")[0].lower()
                if code in LANGUAGES:
                    return code
                if code in ("c", "posix"):
                    return "en"
            return "en"
    return "en"


def normalise_language(lang: str | None) -> str:
    if lang is None or not lang.strip():
        return locale_language()
    code = lang.strip().split(".")[0].replace("-", "_").split("_")[0].lower()
    if code not in LANGUAGES:
        raise InputError(f"--lang: {lang!r} is not available; choose one of {', '.join(LANGUAGES)}")
    return code


@lru_cache(maxsize=4)
def translations(lang: str) -> gettext.NullTranslations:
    """The catalog for ``lang`` (English: the message ids themselves)."""
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[lang], fallback=True)


def set_language(lang: str | None) -> str:
    """Use ``lang`` ("vi", "en", a locale name like "vi_VN.UTF-8", or None for the locale's) from now on."""
    code = normalise_language(lang)
    _state["lang"] = code
    _state["translations"] = translations(code)
    return code


def language() -> str:
    return str(_state["lang"])


def _(message: str) -> str:
    """``message`` in the current language."""
    return str(_state["translations"].gettext(message))


def N_(message: str) -> str:
    """Marks ``message`` for the catalog where it is defined (a table of messages); translate it with
    :func:`_` where it is shown."""
    return message


def translator(lang: str) -> Callable[[str], str]:
    """A ``gettext`` for one language, for code that serves several languages at once (a web service)."""
    return translations(normalise_language(lang)).gettext


def format_date(value: Any, lang: str | None = None) -> str:
    """A date for people: ``dd/mm/yyyy`` in Vietnamese, ``yyyy-mm-dd`` in English.

    A partial date (DG13 may give only the year, or the month and year) keeps what it has
    (``mm/yyyy``, ``yyyy``). Anything that is not a date is returned as text.
    """
    code = lang or language()
    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, _dt.date):
        return value.strftime("%d/%m/%Y") if code == "vi" else value.isoformat()
    year, month, day = (getattr(value, "year", None), getattr(value, "month", None),
                        getattr(value, "day", None))
    if isinstance(year, int) and hasattr(value, "isoformat"):
        if code != "vi":
            return str(value.isoformat())
        if isinstance(month, int) and isinstance(day, int):
            return f"{day:02d}/{month:02d}/{year:04d}"
        if isinstance(month, int):
            return f"{month:02d}/{year:04d}"
        return f"{year:04d}"
    iso = getattr(value, "isoformat", None)
    return str(iso()) if callable(iso) else str(value)
