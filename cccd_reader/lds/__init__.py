"""The files of the eMRTD application (ICAO 9303-10): names, tags, file identifiers, and one decoder entry.

``LDS_FILES`` maps every name to its tag, FID and SFI (EF.COM, EF.SOD, DG1-DG16; EF.CardAccess and
EF.CardSecurity live outside the application and carry no tag). :func:`decode_file` picks the decoder by
tag and falls back to :class:`~cccd_reader.lds.raw.RawFile` for groups this library does not interpret,
so an unknown or unexpected data group never stops a read. Decoders are imported on first use (this
module imports none of them); one that fails to import raises its ImportError.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cccd_reader.errors import InputError, TLVError
from cccd_reader.iso7816.tlv import read_header


@dataclass(frozen=True)
class LDSFile:
    """One elementary file: ``tag`` is the outer TLV tag of its content (``None`` for SET-encoded files)."""

    name: str
    fid: int
    sfi: int
    tag: int | None = None
    dg: int | None = None  # data group number, for DG1..DG16

    def __repr__(self) -> str:
        tag = "None" if self.tag is None else f"0x{self.tag:02X}"
        return f"LDSFile({self.name!r}, fid=0x{self.fid:04X}, sfi=0x{self.sfi:02X}, tag={tag})"


# ICAO 9303-10 §4.6.1 (data group tags) and Table 36 (FIDs / SFIs)
DG_TAGS: dict[int, int] = {
    1: 0x61, 2: 0x75, 3: 0x63, 4: 0x76, 5: 0x65, 6: 0x66, 7: 0x67, 8: 0x68,
    9: 0x69, 10: 0x6A, 11: 0x6B, 12: 0x6C, 13: 0x6D, 14: 0x6E, 15: 0x6F, 16: 0x70,
}  # fmt: skip
TAG_TO_DG: dict[int, int] = {tag: dg for dg, tag in DG_TAGS.items()}
COM_TAG = 0x60
SOD_TAG = 0x77

LDS_FILES: tuple[LDSFile, ...] = (
    LDSFile("EF.COM", 0x011E, 0x1E, COM_TAG),
    *(LDSFile(f"DG{n}", 0x0100 + n, n, DG_TAGS[n], n) for n in range(1, 17)),
    LDSFile("EF.SOD", 0x011D, 0x1D, SOD_TAG),
)
OTHER_FILES: tuple[LDSFile, ...] = (
    LDSFile("EF.CardAccess", 0x011C, 0x1C),  # in the MF, readable without access control
    LDSFile("EF.CardSecurity", 0x011D, 0x1D),  # in the MF (same FID as EF.SOD, other DF)
    LDSFile("EF.ATR/INFO", 0x2F01, 0x01),
    LDSFile("EF.DIR", 0x2F00, 0x1E),
)

_BY_NAME: dict[str, LDSFile] = {f.name.upper(): f for f in (*LDS_FILES, *OTHER_FILES)}
_BY_TAG: dict[int, LDSFile] = {f.tag: f for f in LDS_FILES if f.tag is not None}

# name -> (module, attribute): a class with ``decode`` or a function taking the file's bytes.
_DECODERS: dict[str, tuple[str, str]] = {
    "EF.COM": ("cccd_reader.lds.com", "EFCOM"),
    "DG1": ("cccd_reader.lds.dg1", "DG1"),
    "DG2": ("cccd_reader.lds.dg2", "DG2"),
    "DG13": ("cccd_reader.lds.dg13", "DG13"),
    "DG14": ("cccd_reader.lds.security_infos", "DG14"),
    "DG15": ("cccd_reader.lds.dg15", "DG15"),
    "EF.SOD": ("cccd_reader.lds.sod", "SOD"),
    "EF.CardAccess": ("cccd_reader.lds.security_infos", "parse_card_access"),
    "EF.CardSecurity": ("cccd_reader.lds.security_infos", "CardSecurity"),
}


def _canonical_name(name: str) -> str:
    key = name.strip().upper().replace("_", ".").replace(" ", "")
    if key.startswith("EF.DG"):
        key = key[3:]
    elif key.startswith("EFDG"):
        key = key[2:]
    if key.startswith("DG") and key[2:].isdigit():
        return f"DG{int(key[2:])}"
    short = {
        "COM": "EF.COM",
        "SOD": "EF.SOD",
        "CARDACCESS": "EF.CARDACCESS",
        "CARDSECURITY": "EF.CARDSECURITY",
        "EFCOM": "EF.COM",
        "EFSOD": "EF.SOD",
    }
    key = short.get(key, key)
    found = _BY_NAME.get(key)
    return found.name if found else key


def file_info(name_or_tag: str | int) -> LDSFile | None:
    """Look a file up by name (``"DG13"``, ``"EF.DG13"``, ``"COM"``, ``"EF.SOD"``) or by tag (``0x6D``)."""
    if isinstance(name_or_tag, int):
        return _BY_TAG.get(name_or_tag)
    return _BY_NAME.get(_canonical_name(name_or_tag).upper())


def _decoder_for(name: str) -> Callable[[bytes], Any] | None:
    """The decoder of a file this library interprets, else None (the file is kept raw). A decoder
    module that fails to import is a broken installation: the ImportError is raised, not hidden."""
    entry = _DECODERS.get(name)
    if entry is None:
        return None
    module_name, attr = entry
    obj = getattr(importlib.import_module(module_name), attr)
    decode = getattr(obj, "decode", None) if isinstance(obj, type) else obj
    return decode


def decode_file(name_or_tag: str | int | None, data: bytes) -> Any:
    """Decode ``data`` as the file named (or tagged) ``name_or_tag``; ``None`` detects it by its tag.

    Returns the typed record (``EFCOM``, ``DG1``, ``DG2``, ``DG13``, ``DG14``, ``DG15``, ``SOD``,
    EF.CardAccess's ``SecurityInfos``, ``CardSecurity``) or a :class:`~cccd_reader.lds.raw.RawFile` for
    anything else. Raises
    :class:`~cccd_reader.errors.ParseError` when a known file's bytes are malformed.
    """
    from cccd_reader.lds.raw import RawFile

    data = bytes(data)
    name: str | None
    if name_or_tag is None:
        try:
            tag, _, _ = read_header(data, 0)
        except TLVError:  # unreadable header: nothing to dispatch on, keep it raw
            return RawFile.decode(data)
        info = _BY_TAG.get(tag)
        name = info.name if info else None
    elif isinstance(name_or_tag, int):
        info = _BY_TAG.get(name_or_tag)
        name = info.name if info else f"tag {name_or_tag:02X}"
    elif isinstance(name_or_tag, str):
        name = _canonical_name(name_or_tag)
    else:
        raise InputError("name_or_tag must be a file name, a tag or None")
    decoder = _decoder_for(name) if name else None
    if decoder is None:
        return RawFile.decode(data, name=name)
    return decoder(data)


__all__ = [
    "COM_TAG",
    "DG_TAGS",
    "LDS_FILES",
    "OTHER_FILES",
    "SOD_TAG",
    "TAG_TO_DG",
    "LDSFile",
    "decode_file",
    "file_info",
]
