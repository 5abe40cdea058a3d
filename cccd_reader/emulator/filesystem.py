"""The virtual chip's file system: the MF-level files and the eMRTD application with its EFs.

A CCCD chip has two places files live (cccd-card-facts §3.1): the master file level, where
EF.CardAccess (FID 011C, SFI 1C) sits and can be read before any authentication, and the eMRTD
application (AID A0000002471001) holding EF.COM, EF.SOD and the data groups, readable only under the
secure messaging of a BAC or PACE session. Data group 3 (fingerprints) needs Extended Access Control,
which the emulator never grants, so it answers 6982 as a real card does.

This module holds the files and the access rule of each; the command dispatcher in ``card.py`` decides
what a command may see.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from cccd_reader.lds import DG_TAGS, file_info
from cccd_reader.protocols.files import EMRTD_AID as EMRTD_AID


def _fid_sfi(name: str) -> tuple[int, int]:
    info = file_info(name)
    assert info is not None, name
    return info.fid, info.sfi


FID_MF = 0x3F00
# file identifiers and short file identifiers come from the one registry, cccd_reader.lds
FID_CARD_ACCESS, SFI_CARD_ACCESS = _fid_sfi("EF.CardAccess")
FID_CARD_SECURITY, SFI_CARD_SECURITY = _fid_sfi("EF.CardSecurity")
FID_ATR_INFO, SFI_ATR_INFO = _fid_sfi("EF.ATR/INFO")
FID_COM, SFI_COM = _fid_sfi("EF.COM")
FID_SOD, SFI_SOD = _fid_sfi("EF.SOD")


def dg_fid(number: int) -> int:
    """FID of data group ``number`` (9303-10 §4.6.1: 0101 .. 0110)."""
    if not 1 <= number <= 16:
        raise ValueError("data groups are numbered 1 to 16")
    return _fid_sfi(f"DG{number}")[0]


def dg_tag(number: int) -> int:
    """The LDS tag of data group ``number`` (DG1 61, DG2 75, ..., DG16 70)."""
    return DG_TAGS[number]


class Access(enum.Enum):
    """Who may read a file."""

    ALWAYS = "always"
    """Readable without authentication (EF.CardAccess, EF.ATR/INFO)."""
    SECURE = "secure"
    """Readable under the secure messaging of a BAC or PACE session (EF.COM, EF.SOD, DG1, DG2, ...)."""
    EAC = "eac"
    """Needs Terminal Authentication (DG3, DG4); the emulator never grants it, like a reader without
    an inspection-system certificate sees on a real card: 6982."""


@dataclass(frozen=True)
class ElementaryFile:
    """One transparent EF. ``data`` is the whole file content (a TLV for LDS files)."""

    name: str
    fid: int
    sfi: int | None
    data: bytes = field(repr=False)
    access: Access = Access.SECURE

    def __post_init__(self) -> None:
        if not 0 <= self.fid <= 0xFFFF:
            raise ValueError("a FID is two bytes")
        if self.sfi is not None and not 1 <= self.sfi <= 0x1E:
            raise ValueError("an SFI is 1 to 30")

    @property
    def size(self) -> int:
        return len(self.data)

    def fcp(self) -> bytes:
        """A minimal FCP template (ISO 7816-4 §5.3.3): size, descriptor 'transparent EF', FID, SFI."""
        body = b"\x80\x02" + self.size.to_bytes(2, "big") + b"\x82\x01\x01"
        body += b"\x83\x02" + self.fid.to_bytes(2, "big")
        if self.sfi is not None:
            body += b"\x88\x01" + bytes([self.sfi << 3])
        return b"\x62" + bytes([len(body)]) + body


class Directory:
    """A set of EFs addressable by FID and by SFI (the MF level or one application)."""

    def __init__(self, files: Iterable[ElementaryFile] = ()) -> None:
        self._by_fid: dict[int, ElementaryFile] = {}
        self._by_sfi: dict[int, ElementaryFile] = {}
        for ef in files:
            self.add(ef)

    def add(self, ef: ElementaryFile) -> None:
        if ef.fid in self._by_fid:
            raise ValueError(f"two files with FID {ef.fid:04X} in one directory")
        if ef.sfi is not None and ef.sfi in self._by_sfi:
            raise ValueError(f"two files with SFI {ef.sfi:02X} in one directory")
        self._by_fid[ef.fid] = ef
        if ef.sfi is not None:
            self._by_sfi[ef.sfi] = ef

    def replace(self, ef: ElementaryFile) -> None:
        """Swap the content of an existing file (same FID), e.g. to tamper with a data group in a test."""
        old = self._by_fid.pop(ef.fid, None)
        if old is not None and old.sfi is not None:
            self._by_sfi.pop(old.sfi, None)
        self.add(ef)

    def remove(self, fid: int) -> None:
        old = self._by_fid.pop(fid, None)
        if old is not None and old.sfi is not None:
            self._by_sfi.pop(old.sfi, None)

    def by_fid(self, fid: int) -> ElementaryFile | None:
        return self._by_fid.get(fid)

    def by_sfi(self, sfi: int) -> ElementaryFile | None:
        return self._by_sfi.get(sfi)

    def __iter__(self) -> Iterator[ElementaryFile]:
        return iter(self._by_fid.values())

    def __len__(self) -> int:
        return len(self._by_fid)


class FileSystem:
    """The chip's files: the MF-level directory and the eMRTD application directory."""

    def __init__(self, mf_files: Iterable[ElementaryFile] = (), app_files: Iterable[ElementaryFile] = (),
                 *, aid: bytes = EMRTD_AID) -> None:
        self.aid = bytes(aid)
        self.mf = Directory(mf_files)
        self.app = Directory(app_files)

    @classmethod
    def from_lds(cls, *, card_access: bytes, com: bytes, sod: bytes, data_groups: Mapping[int, bytes],
                 card_security: bytes | None = None, atr_info: bytes | None = None,
                 eac_protected: Iterable[int] = (3, 4), aid: bytes = EMRTD_AID) -> FileSystem:
        """Lay out encoded LDS files at their standard FIDs and SFIs (9303-10 §4.6).

        Data groups in ``eac_protected`` (DG3 fingerprints, DG4 iris) need Terminal Authentication.
        """
        protected = set(eac_protected)
        mf = [ElementaryFile("EF.CardAccess", FID_CARD_ACCESS, SFI_CARD_ACCESS, bytes(card_access),
                             Access.ALWAYS)]
        if card_security is not None:
            mf.append(ElementaryFile("EF.CardSecurity", FID_CARD_SECURITY, SFI_CARD_SECURITY,
                                     bytes(card_security), Access.SECURE))
        if atr_info is not None:
            mf.append(ElementaryFile("EF.ATR/INFO", FID_ATR_INFO, SFI_ATR_INFO, bytes(atr_info),
                                     Access.ALWAYS))
        app = [ElementaryFile("EF.COM", FID_COM, SFI_COM, bytes(com)),
               ElementaryFile("EF.SOD", FID_SOD, SFI_SOD, bytes(sod))]
        for number, content in sorted(data_groups.items()):
            access = Access.EAC if number in protected else Access.SECURE
            app.append(ElementaryFile(f"DG{number}", dg_fid(number), number, bytes(content), access))
        return cls(mf, app, aid=aid)

    def file(self, name: str) -> ElementaryFile | None:
        """Find a file by its name ("DG13", "EF.SOD", "EF.CardAccess")."""
        for directory in (self.app, self.mf):
            for ef in directory:
                if ef.name == name:
                    return ef
        return None

    def names(self) -> list[str]:
        return [ef.name for ef in self.mf] + [ef.name for ef in self.app]
