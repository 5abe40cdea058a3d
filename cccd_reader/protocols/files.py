"""Selecting and reading elementary files, fast and resumable (the read strategy is in docs/read-strategy.md).

The slow part of reading a chip card is the number of READ BINARY round trips, so :class:`FileReader`:

* learns a file's length from its first bytes (the BER-TLV header) and never asks past it;
* asks for the largest chunk one response can carry: 231 (3DES SM) / 223 (AES SM) / 256 (plain) with short
  APDUs, or an extended Le when the link supports it, and steps down a ladder on 6700 / 6Cxx / 6282,
  remembering for the rest of the session what worked;
* reads the first chunk by short file identifier (P1 = 80|SFI) when it has one, so a small file costs one
  APDU (no SELECT), and falls back to SELECT by FID if the chip does not take SFIs;
* reads offsets above 32767 with the odd-INS READ BINARY (B1, offset in DO54, data in DO53);
* keeps the bytes of a file whose read failed part-way (tag loss, dead SM session), so after
  re-authentication :meth:`FileReader.resume` swaps in the new transport and the next
  :meth:`FileReader.read_file` continues at that offset;
* reports an error status word after a file's first bytes arrived (6A82, 6982... half-way through a file
  that exists) as :class:`~cccd_reader.errors.TransientError` ("could not complete", resumable), not as
  the file being absent or protected.

It talks only to a :class:`~cccd_reader.transport.base.Transport`, plain or secure-messaging wrapped; it
asks the transport (duck-typed) for ``max_read_length(extended=)`` and ``last_wire_sizes`` when present.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from cccd_reader.errors import (
    CardError,
    EndOfFile,
    FileNotFoundOnCard,
    InputError,
    InstructionNotSupported,
    ParseError,
    SecureMessagingError,
    TLVError,
    TransientError,
    WrongLength,
    WrongParameters,
)
from cccd_reader.iso7816.apdu import CommandAPDU, ResponseAPDU, status_error
from cccd_reader.iso7816.tlv import decode_one, encode_length, encode_tlv, read_header
from cccd_reader.lds import file_info
from cccd_reader.transport.base import Transport, as_card_transport

EMRTD_AID = bytes.fromhex("A0000002471001")
"""The eMRTD LDS1 application (ICAO 9303-10 §3.6.2)."""


@dataclass(frozen=True)
class EFId:
    """An elementary file: name, file identifier, short file identifier and the DF it lives in."""

    name: str
    fid: int
    sfi: int | None
    df: str  # "MF" or "eMRTD"


def _ef(name: str, df: str) -> EFId:
    """The file as the one registry (:data:`cccd_reader.lds.LDS_FILES`) knows it, in directory ``df``."""
    info = file_info(name)
    assert info is not None, name
    return EFId(info.name, info.fid, info.sfi, df)


# ICAO 9303-10 §3.11 / 3.12. Note the two 011D files: EF.CardSecurity lives in the MF, EF.SOD in the
# eMRTD application; which one a SELECT 011D or SFI 1D reaches depends on the selected DF.
EF_CARD_ACCESS = _ef("EF.CardAccess", "MF")
EF_CARD_SECURITY = _ef("EF.CardSecurity", "MF")
EF_ATR_INFO = _ef("EF.ATR/INFO", "MF")
EF_DIR = _ef("EF.DIR", "MF")
EF_COM = _ef("EF.COM", "eMRTD")
EF_SOD = _ef("EF.SOD", "eMRTD")

FID_CARD_ACCESS, SFI_CARD_ACCESS = EF_CARD_ACCESS.fid, EF_CARD_ACCESS.sfi
FID_CARD_SECURITY, SFI_CARD_SECURITY = EF_CARD_SECURITY.fid, EF_CARD_SECURITY.sfi
FID_ATR_INFO, SFI_ATR_INFO = EF_ATR_INFO.fid, EF_ATR_INFO.sfi
FID_COM, SFI_COM = EF_COM.fid, EF_COM.sfi
FID_SOD, SFI_SOD = EF_SOD.fid, EF_SOD.sfi


def data_group(number: int) -> EFId:
    """EF.DGn: FID 0100+n, SFI n (n = 1..16)."""
    if not isinstance(number, int) or not 1 <= number <= 16:
        raise InputError("data group numbers are 1..16")
    return _ef(f"DG{number}", "eMRTD")


DATA_GROUPS: dict[int, EFId] = {n: data_group(n) for n in range(1, 17)}
DG_FIDS: dict[int, int] = {n: ef.fid for n, ef in DATA_GROUPS.items()}
DG_SFIS: dict[int, int] = {n: n for n in DATA_GROUPS}

# Files that are not one BER-TLV object: read them until the chip says the file ended.
_NOT_SINGLE_TLV = frozenset({FID_ATR_INFO, EF_DIR.fid})

_MAX_B0_OFFSET = 0x7FFF
_MAX_SFI_OFFSET = 0xFF
_HEADER_PROBE = 8  # enough for any TLV header an LDS file starts with
_EXTENDED_STEPS = (16384, 4096, 1024)
_SHORT_STEPS = (223, 160, 128, 96, 64, 32, 16, 8, 1)

Progress = Callable[[int, int | None], None]
"""``progress(bytes_read, total_or_None)`` after every chunk."""


@dataclass
class ReadStats:
    """What a read cost. Wire byte counts are what went over the link (after secure messaging)."""

    apdus: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    payload_bytes: int = 0
    retries: int = 0
    files: int = 0
    resumed: int = 0
    seconds: float = 0.0
    fallbacks: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FileReader:
    """Reads EFs over any Transport; one instance per card session (it learns the card's read limits).

    ``chunk`` caps the Le used (default: the largest a response can carry); ``extended`` says whether to
    use extended-length READ BINARY (``None``: only when the transport advertises ``extended_length``);
    ``first_read`` is the size of the first READ BINARY of a file (``None``: a full chunk, which reads a
    small file in one APDU; a number such as 4 or 8 reads just the TLV header first); ``use_sfi`` reads
    the first chunk by short file identifier when one is given.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        chunk: int | None = None,
        extended: bool | None = None,
        stats: ReadStats | None = None,
        first_read: int | None = None,
        use_sfi: bool = True,
    ) -> None:
        if chunk is not None and not 1 <= chunk <= 65536:
            raise InputError("chunk must be between 1 and 65536 bytes")
        if first_read is not None and not 1 <= first_read <= 256:
            raise InputError("first_read must be between 1 and 256 bytes")
        self.transport = transport
        self.stats = stats if stats is not None else ReadStats()
        self.chunk = chunk
        self.extended = extended
        self.first_read = first_read
        self.use_sfi = use_sfi
        self.extended_ok: bool | None = None  # learned: None = untried
        self.sfi_ok: bool | None = None
        self._ceiling: int | None = None  # learned: largest Le worth asking
        self._partials: dict[str, bytearray] = {}
        self._totals: dict[str, int | None] = {}
        self._current: str | None = None

    def __repr__(self) -> str:
        return (f"FileReader(limit={self.read_limit}, extended_ok={self.extended_ok}, sfi_ok={self.sfi_ok}, "
                f"partials={self.partials})")

    # --- session state --------------------------------------------------------------------------------

    def resume(self, transport: Transport) -> None:
        """Continue with a new transport (a new SM session after re-authentication).

        Partially read files are kept; the next ``read_file`` of such a file re-selects it and continues
        at the offset it had reached. What was learned about read sizes is kept too: it is the same card.
        """
        self.transport = transport
        self._current = None

    @property
    def partials(self) -> dict[str, int]:
        """Files whose read was interrupted: key -> bytes already read."""
        return {k: len(v) for k, v in self._partials.items() if v}

    def partial(self, key: str) -> bytes:
        return bytes(self._partials.get(key, b""))

    def discard(self, key: str) -> None:
        self._partials.pop(key, None)
        self._totals.pop(key, None)

    # --- sizes ----------------------------------------------------------------------------------------

    def _capacity(self, extended: bool) -> int:
        # asked of the transport itself (secure messaging declares its cipher's limit)
        return as_card_transport(self.transport).max_read_length(extended=extended)

    def _use_extended(self) -> bool:
        if self.extended is False or self.extended_ok is False:
            return False
        if self.extended:
            return True
        return bool(as_card_transport(self.transport).extended_length)

    def _ladder(self) -> list[int]:
        short_cap = self._capacity(False)
        steps: list[int] = []
        if self._use_extended():
            ext_cap = self._capacity(True)
            steps += [ext_cap, *(s for s in _EXTENDED_STEPS if short_cap < s < ext_cap)]
        steps += [short_cap, *(s for s in _SHORT_STEPS if s < short_cap)]
        if self.chunk is not None:
            steps = [self.chunk, *(s for s in steps if s < self.chunk)] if self.chunk <= steps[0] else steps
            steps = [s for s in steps if s <= self.chunk]
        if self._ceiling is not None:
            steps = [s for s in steps if s <= self._ceiling] or [1]
        return steps

    @property
    def read_limit(self) -> int:
        """The Le the next READ BINARY will use at most."""
        return self._ladder()[0]

    def _step_down(self, le: int, sw: int) -> int | None:
        if le > self._capacity(False):
            self.extended_ok = False
        smaller = next((s for s in self._ladder() if s < le), None)
        if smaller is None:
            return None
        self._ceiling = smaller
        self.stats.fallbacks.append(f"Le {le} -> {smaller} after {sw:04X}")
        return smaller

    # --- APDUs ----------------------------------------------------------------------------------------

    def _exchange(self, cmd: CommandAPDU) -> ResponseAPDU:
        apdu = cmd.encode()
        self.stats.apdus += 1
        raw = self.transport.transmit(apdu)
        sizes = getattr(self.transport, "last_wire_sizes", None)
        sent, received = sizes if isinstance(sizes, tuple) and len(sizes) == 2 else (len(apdu), len(raw))
        self.stats.bytes_sent += int(sent)
        self.stats.bytes_received += int(received)
        return ResponseAPDU.decode(raw)

    def select_application(self, aid: bytes = EMRTD_AID) -> None:
        """SELECT by DF name (P1 04, P2 0C: no FCI, no Le - some chips reject an Le here)."""
        resp = self._exchange(CommandAPDU(0x00, 0xA4, 0x04, 0x0C, bytes(aid)))
        if resp.sw != 0x9000:
            raise status_error(resp.sw, "SELECT application")
        self._current = None

    def select_file(self, fid: int, *, name: str = "") -> None:
        """SELECT EF by FID under the current DF (P1 02, P2 0C, no Le)."""
        resp = self._exchange(CommandAPDU(0x00, 0xA4, 0x02, 0x0C, fid.to_bytes(2, "big")))
        if resp.sw != 0x9000:
            raise status_error(resp.sw, f"SELECT {name or f'{fid:04X}'}")
        self._current = None

    def _read_command(self, offset: int, le: int, sfi: int | None) -> tuple[CommandAPDU, bool]:
        if sfi is not None:
            return CommandAPDU(0x00, 0xB0, 0x80 | sfi, offset, le=le), False
        if offset <= _MAX_B0_OFFSET:
            return CommandAPDU(0x00, 0xB0, offset >> 8, offset & 0xFF, le=le), False
        do54 = encode_tlv(0x54, offset.to_bytes(2 if offset <= 0xFFFF else 3, "big"))
        wrapped = le + 1 + len(encode_length(le))  # Le counts the DO53 wrapper
        return CommandAPDU(0x00, 0xB1, 0x00, 0x00, do54, le=min(wrapped, 65536)), True

    def _read_chunk(
        self, offset: int, want: int, sfi: int | None, *, probe: bool, what: str
    ) -> tuple[bytes, int]:
        """One READ BINARY at ``offset`` for up to ``want`` bytes, stepping Le down as the chip asks.

        With ``probe`` (first read of a file of unknown length) a 6700 to a short Le first retries with a
        header-sized Le before concluding that the chip's limit is lower: chips may refuse an Le beyond
        the file's end. A 6700 to an extended Le is taken at once as "no extended length" (the link or
        the chip refuses it) and remembered: the next try is the largest short Le, which reads a small
        file whole, and no later read of the session asks for an extended Le again.
        """
        le = want
        while True:
            le = max(1, min(le, self.read_limit))
            cmd, odd = self._read_command(offset, le, sfi)
            try:
                resp = self._exchange(cmd)
                data, sw = resp.data, resp.sw
            except WrongLength as exc:  # naked 6700 / 6Cxx answered to a protected command
                data, sw = b"", exc.sw or 0x6700
            if sw in (0x9000, 0x6282):  # 6282: the file ended before Le bytes (maybe none)
                if odd and data:
                    data = self._unwrap_do53(data, what, offset)
                return data, sw
            if sw >> 8 == 0x6C and (sw & 0xFF or 256) < le:
                self.stats.retries += 1
                le = sw & 0xFF or 256
                continue
            if sw == 0x6700:
                if probe and _HEADER_PROBE < le <= self._capacity(False):
                    probe = False
                    self.stats.retries += 1
                    le = _HEADER_PROBE
                    continue
                smaller = self._step_down(le, sw)
                if smaller is None:
                    raise status_error(sw, f"READ BINARY {what}")
                self.stats.retries += 1
                le = smaller
                continue
            raise status_error(sw, f"READ BINARY {what} at offset {offset}")

    @staticmethod
    def _unwrap_do53(data: bytes, what: str, offset: int) -> bytes:
        try:
            do = decode_one(data, file=what)
        except TLVError as exc:
            raise ParseError(f"odd-INS READ BINARY answer is not a DO53 ({exc.reason})", file=what,
                             offset=offset) from None
        if do.tag != 0x53:
            raise ParseError(f"odd-INS READ BINARY answered tag {do.tag:X} instead of 53", file=what,
                             offset=offset)
        return do.value

    # --- files ----------------------------------------------------------------------------------------

    def read_ef(self, ef: EFId, *, progress: Progress | None = None) -> bytes:
        return self.read_file(ef.fid, sfi=ef.sfi, name=ef.name, progress=progress)

    def read_file(
        self,
        fid: int | None = None,
        *,
        sfi: int | None = None,
        name: str = "",
        progress: Progress | None = None,
        single_tlv: bool | None = None,
    ) -> bytes:
        """Read a whole EF and return its bytes (trimmed to its TLV length).

        Raises the chip's typed error (``FileNotFoundOnCard``, ``SecurityStatusNotSatisfied``,
        ``SecureMessagingError``, ``CardRemovedError``...). On an error after some bytes arrived, those
        bytes are kept (see :attr:`partials`) and the next call for the same file resumes at that offset.
        """
        if fid is None and sfi is None:
            raise InputError("read_file needs a FID or an SFI")
        if sfi is not None and not 1 <= sfi <= 30:
            raise InputError("an SFI is 1..30")
        key = name or (f"{fid:04X}" if fid is not None else f"SFI{sfi:02X}")
        if single_tlv is None:
            single_tlv = fid not in _NOT_SINGLE_TLV
        buf = self._partials.setdefault(key, bytearray())
        total = self._totals.get(key)
        started = time.perf_counter()
        if buf:
            self.stats.resumed += 1
        first = True
        try:
            sfi_now = self._make_current(key, fid, sfi, len(buf))
            while total is None or len(buf) < total:
                offset = len(buf)
                if total is not None:
                    want = total - offset
                elif first and not buf:
                    want = self.first_read or self.read_limit
                else:
                    want = self.read_limit
                try:
                    probe = first and total is None
                    data, sw = self._read_chunk(offset, want, sfi_now, probe=probe, what=key)
                except (SecureMessagingError, TransientError):
                    raise
                except CardError as exc:
                    if isinstance(exc, EndOfFile) and total is None and not single_tlv and buf:
                        break
                    if buf and not isinstance(exc, EndOfFile):
                        # A file that answered its first bytes does not vanish or lock half-way: a status
                        # word here is the link's doing (or a chip glitch). The bytes so far are kept and
                        # the next read_file resumes at this offset.
                        raise TransientError(f"{key}: the read could not complete at offset {offset} "
                                             f"({exc})", step="files") from exc
                    refused = isinstance(exc, FileNotFoundOnCard | WrongParameters | InstructionNotSupported)
                    if not refused or sfi_now is None or fid is None or self.sfi_ok:
                        raise  # the file's first bytes: the caller decides what the status word means
                    # the chip does not take SFIs: select by FID and go on
                    self.sfi_ok = False
                    self.stats.retries += 1
                    self.stats.fallbacks.append(f"SFI read refused for {key}: SELECT by FID")
                    sfi_now = self._make_current(key, fid, None, offset)
                    continue
                if sfi_now is not None:
                    self.sfi_ok = True
                    sfi_now = None
                self._current = key
                first = False
                if not data:
                    if total is None and not single_tlv and buf:
                        break  # the end of a file that is not one TLV
                    announced = f" although its header announces {total} bytes" if total else ""
                    raise EndOfFile(f"{key}: no data at offset {offset}{announced}", sw=sw)
                buf += data
                self.stats.payload_bytes += len(data)
                if total is None and single_tlv:
                    try:
                        total = self._learn_total(buf, key)
                    except ParseError:
                        self.discard(key)  # not resumable: the bytes are not a file we can read
                        raise
                    self._totals[key] = total
                if progress is not None:
                    progress(len(buf), total)
                if total is None:
                    if not single_tlv and (sw == 0x6282 or len(data) < want):
                        break
                    continue
                if len(buf) < total and sw == 0x6282:
                    raise EndOfFile(f"{key}: the file ends at {len(buf)} bytes but its header says {total}",
                                    sw=sw)
        finally:
            self.stats.seconds += time.perf_counter() - started
        content = bytes(buf[:total] if total is not None else buf)
        self.discard(key)
        self.stats.files += 1
        return content

    def _make_current(self, key: str, fid: int | None, sfi: int | None, offset: int) -> int | None:
        """Make the EF current; return the SFI to use for the next read (or None: already selected)."""
        if self._current == key and offset:
            return None
        self._current = None  # a failed SELECT or SFI read may leave any file current, or none
        if sfi is not None and self.use_sfi and self.sfi_ok is not False:
            if offset <= _MAX_SFI_OFFSET:
                return sfi
            if fid is None:  # an SFI read selects the file; its data is discarded
                self._read_chunk(0, 1, sfi, probe=False, what=key)
                self._current = key
                return None
        if fid is None:
            raise CardError(f"{key}: the chip refused short-file-identifier reads and no FID is known")
        self.select_file(fid, name=key)
        self._current = key
        return None

    @staticmethod
    def _learn_total(buf: bytearray, key: str) -> int | None:
        """Total file length from the TLV header; ``None`` while the header is still incomplete."""
        try:
            _, length, value_offset = read_header(bytes(buf), file=key)
            return value_offset + length
        except TLVError:
            pass
        try:  # incomplete rather than malformed? then the header parses once more bytes arrive
            read_header(bytes(buf) + bytes(16), file=key)
        except TLVError as exc:
            raise ParseError(f"the file does not start with a valid TLV header ({exc.reason})", file=key,
                             offset=0) from None
        return None
