"""ISO/IEC 7816-4 command and response APDUs and status words.

``CommandAPDU.encode()`` picks short or extended encoding from the lengths (cases 1, 2S/2E, 3S/3E, 4S/4E).
``Le`` is the number of bytes expected: ``None`` means "no Le field"; 256 (short) / 65536 (extended) are
encoded as ``00`` / ``0000``.
"""

from __future__ import annotations

from dataclasses import dataclass

from cccd_reader import errors
from cccd_reader.errors import ParseError

SW_OK = 0x9000


@dataclass(frozen=True, slots=True)
class CommandAPDU:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None
    force_extended: bool = False

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            v = getattr(self, name)
            if not 0 <= v <= 0xFF:
                raise ValueError(f"{name} must be one byte")
        if len(self.data) > 65535:
            raise ValueError("command data longer than 65535 bytes")
        if self.le is not None and not 0 < self.le <= 65536:
            raise ValueError("Le must be between 1 and 65536 (None for no Le)")

    @property
    def extended(self) -> bool:
        if not self.data and self.le is None:
            return False  # case 1 has no length fields, so it has no extended form
        return self.force_extended or len(self.data) > 255 or (self.le is not None and self.le > 256)

    def encode(self) -> bytes:
        header = bytes([self.cla, self.ins, self.p1, self.p2])
        if not self.extended:
            body = b""
            if self.data:
                body += bytes([len(self.data)]) + self.data
            if self.le is not None:
                body += bytes([self.le & 0xFF])  # 256 -> 00
            return header + body
        body = b""
        if self.data:
            body += b"\x00" + len(self.data).to_bytes(2, "big") + self.data
        if self.le is not None:
            le = (self.le & 0xFFFF).to_bytes(2, "big")  # 65536 -> 0000
            body += le if self.data else b"\x00" + le
        return header + body

    def __bytes__(self) -> bytes:
        return self.encode()

    @classmethod
    def decode(cls, raw: bytes) -> CommandAPDU:
        """Parse a command APDU (used by the emulator and traces)."""
        raw = bytes(raw)
        if len(raw) < 4:
            raise ParseError("command APDU shorter than 4 bytes", file="C-APDU")
        cla, ins, p1, p2 = raw[:4]
        body = raw[4:]
        n = len(body)
        if n == 0:
            return cls(cla, ins, p1, p2)
        if n == 1:
            return cls(cla, ins, p1, p2, le=body[0] or 256)
        if body[0] != 0:  # short Lc
            lc = body[0]
            if n == 1 + lc:
                return cls(cla, ins, p1, p2, body[1:])
            if n == 2 + lc:
                return cls(cla, ins, p1, p2, body[1 : 1 + lc], le=body[-1] or 256)
        elif n == 3:
            return cls(cla, ins, p1, p2, le=int.from_bytes(body[1:3], "big") or 65536, force_extended=True)
        elif n > 3:
            lc = int.from_bytes(body[1:3], "big")
            if lc and n == 3 + lc:
                return cls(cla, ins, p1, p2, body[3:], force_extended=True)
            if lc and n == 5 + lc:
                le = int.from_bytes(body[-2:], "big") or 65536
                return cls(cla, ins, p1, p2, body[3 : 3 + lc], le=le, force_extended=True)
        raise ParseError("APDU length fields do not match the body", file="C-APDU")


@dataclass(frozen=True, slots=True)
class ResponseAPDU:
    data: bytes
    sw: int

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    @property
    def ok(self) -> bool:
        return self.sw == SW_OK or self.sw1 == 0x61

    @classmethod
    def decode(cls, raw: bytes) -> ResponseAPDU:
        raw = bytes(raw)
        if len(raw) < 2:
            raise ParseError(f"response APDU of {len(raw)} bytes has no status word", file="R-APDU")
        return cls(raw[:-2], int.from_bytes(raw[-2:], "big"))

    def encode(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")

    def check(self, what: str = "command") -> ResponseAPDU:
        """Return self when the status is success, else raise the typed error for the status word."""
        if self.ok:
            return self
        raise status_error(self.sw, what)


_MESSAGES: dict[int, tuple[type[errors.CardError], str]] = {
    0x6982: (errors.SecurityStatusNotSatisfied,
             "security status not satisfied: authenticate first or the file is protected"),
    0x6A82: (errors.FileNotFoundOnCard, "file or application not found on the card"),
    0x6A88: (errors.FileNotFoundOnCard, "referenced data not found"),
    0x6700: (errors.WrongLength, "wrong length"),
    0x6282: (errors.EndOfFile, "end of file reached before the expected length"),
    0x6B00: (errors.EndOfFile, "offset outside the file"),
    0x6987: (errors.SecureMessagingError, "expected secure messaging data objects are missing"),
    0x6988: (errors.SecureMessagingError, "secure messaging data objects are incorrect"),
    0x6985: (errors.ConditionsNotSatisfied, "conditions of use not satisfied"),
    0x6D00: (errors.InstructionNotSupported, "instruction not supported"),
    0x6E00: (errors.InstructionNotSupported, "class not supported"),
    0x6A80: (errors.WrongParameters, "incorrect data in the command"),
    0x6A86: (errors.WrongParameters, "incorrect parameters P1-P2"),
    0x6A87: (errors.WrongParameters, "Lc inconsistent with P1-P2"),
    0x6A81: (errors.InstructionNotSupported, "function not supported"),
}


def status_error(sw: int, what: str = "command") -> errors.CCCDError:
    """The typed exception for an error status word (not raised, so callers can add context)."""
    if sw >> 8 == 0x6C:
        return errors.WrongLength(f"{what}: wrong Le, the card asks for {sw & 0xFF or 256}", sw=sw,
                                  correct_le=sw & 0xFF or 256)
    if sw >> 8 == 0x63:
        return errors.AccessDenied(f"{what}: authentication failed (SW {sw:04X}): check the access key")
    entry = _MESSAGES.get(sw)
    if entry is None:
        return errors.CardError(f"{what}: the card answered with an error", sw=sw)
    cls, msg = entry
    return cls(f"{what}: {msg}", sw=sw)
