"""A tiny scripted eMRTD chip for the protocol-core tests (not the emulator).

It answers BAC through :class:`BACChip`, secure messaging through the chip side of :class:`SMSession`,
and SELECT / READ BINARY (B0, SFI, B1 with DO54/DO53) over a flat file system, with switches for the
read-length behaviours real chips show (a short-read limit, no extended length, 6282 vs 9000 at the end
of a file). Every command it receives is kept in ``log`` so tests can count and inspect APDUs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

from cccd_reader.crypto.sm import SMSession, max_plain_response
from cccd_reader.errors import ParseError, SecureMessagingError
from cccd_reader.iso7816.apdu import CommandAPDU, ResponseAPDU
from cccd_reader.iso7816.tlv import decode_one, encode_tlv
from cccd_reader.keys import MRZKey
from cccd_reader.protocols.bac import BACChip
from cccd_reader.transport.base import RandomBytes

EMRTD_AID = bytes.fromhex("A0000002471001")

# --- synthetic card content shared by the protocol-core tests ---

def blob(n: int, seed: bytes = b"x") -> bytes:
    """Deterministic filler bytes."""
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:n]


def tlv_file(tag: int, total: int) -> bytes:
    """A TLV whose encoded size is exactly ``total`` bytes."""
    for header in (2, 3, 4, 5):
        f = encode_tlv(tag, blob(total - header))
        if len(f) == total:
            return f
    raise ValueError(total)


KEY = MRZKey("090123456", dt.date(1990, 1, 1), dt.date(2030, 1, 1))  # synthetic person (card facts §2.1)
EF_COM = bytes.fromhex("60145F0104303130365F36063034303030305C026175")


DG2 = tlv_file(0x75, 15000)
DG1 = tlv_file(0x61, 95)
FILES = {0x011E: EF_COM, 0x0101: DG1, 0x0102: DG2, 0x0103: tlv_file(0x63, 300), 0x010D: tlv_file(0x6D, 700)}


def counter_random(seed: bytes = b"r") -> Any:
    """A deterministic random_bytes: every draw is different, every run the same."""
    state = {"n": 0}

    def random_bytes(n: int) -> bytes:
        state["n"] += 1
        return blob(n, seed + state["n"].to_bytes(4, "big"))

    return random_bytes




class MiniChip:
    def __init__(
        self,
        key: MRZKey,
        files: Mapping[int, bytes],
        *,
        random_bytes: RandomBytes,
        extended: bool = True,
        read_limit: int | None = None,
        eof_sw: int = 0x6282,
        require_auth: bool = True,
        mf_files: Mapping[int, bytes] | None = None,
        sfi: bool = True,
        denied: frozenset[int] = frozenset(),
        exact_le: bool = False,
    ) -> None:
        self.bac = BACChip.from_key(key, random_bytes=random_bytes)
        self.files = dict(files)
        self.mf_files = dict(mf_files or {})
        self.extended = extended
        self.read_limit = read_limit
        self.eof_sw = eof_sw
        self.require_auth = require_auth
        self.sfi = sfi
        self.denied = denied
        self.exact_le = exact_le
        self.reads: list[tuple[int, int, int]] = []  # (INS, offset, Le) of every READ BINARY
        self.session: SMSession | None = None
        self.selected: bytes | None = None
        self.app_selected = False
        self.log: list[bytes] = []

    def transmit(self, apdu: bytes) -> bytes:
        self.log.append(bytes(apdu))
        if self.session is not None and len(apdu) >= 1 and apdu[0] & 0x0C == 0x0C:
            try:
                cmd = self.session.unprotect_command(apdu)
            except SecureMessagingError as exc:
                self.session = None
                return (exc.sw or 0x6988).to_bytes(2, "big")
            resp = self.handle(cmd, secure=True)
            return self.session.protect_response(resp.data, resp.sw, odd_ins=bool(cmd.ins & 1))
        self.session = None  # a plain command aborts secure messaging
        try:
            cmd = CommandAPDU.decode(apdu)
        except ParseError:
            return b"\x67\x00"
        if self.bac.handles(cmd):
            resp = self.bac.respond(cmd)
            if self.bac.session is not None:
                self.session, self.bac.session = self.bac.session, None
            return resp.encode()
        return self.handle(cmd, secure=False).encode()

    def reconnect(self) -> None:
        self.reset()

    def reset(self) -> None:
        """A power cycle: session and selection are gone."""
        self.session = None
        self.selected = None
        self.app_selected = False

    def _lookup(self, fid: int) -> bytes | None:
        if self.app_selected and fid in self.files:
            return self.files[fid]
        return self.mf_files.get(fid)

    def handle(self, cmd: CommandAPDU, *, secure: bool) -> ResponseAPDU:
        if cmd.ins == 0xA4:
            if cmd.p1 == 0x04:
                if cmd.data == EMRTD_AID:
                    self.app_selected, self.selected = True, None
                    return ResponseAPDU(b"", 0x9000)
                return ResponseAPDU(b"", 0x6A82)
            if cmd.p1 == 0x02 and len(cmd.data) == 2:
                fid = int.from_bytes(cmd.data, "big")
                content = self._lookup(fid)
                if content is None:
                    return ResponseAPDU(b"", 0x6A82)
                if fid in self.denied:
                    return ResponseAPDU(b"", 0x6982)
                if self.require_auth and not secure and content in self.files.values():
                    return ResponseAPDU(b"", 0x6982)
                self.selected = content
                return ResponseAPDU(b"", 0x9000)
            return ResponseAPDU(b"", 0x6A86)
        if cmd.ins in (0xB0, 0xB1):
            return self._read(cmd, secure)
        return ResponseAPDU(b"", 0x6D00)

    def _read(self, cmd: CommandAPDU, secure: bool) -> ResponseAPDU:
        if cmd.extended and not self.extended:
            return ResponseAPDU(b"", 0x6700)
        le = cmd.le or 0
        if cmd.ins == 0xB0 and cmd.p1 & 0x80:
            if not self.sfi:
                return ResponseAPDU(b"", 0x6A86)
            sfi = cmd.p1 & 0x1F
            fid = (0x0100 | sfi) if self.app_selected and (0x0100 | sfi) in self.files else None
            if fid is None:
                fid = next((f for f in self.mf_files if f & 0x1F == sfi), None)
            content = self._lookup(fid) if fid is not None else None
            if content is None:
                return ResponseAPDU(b"", 0x6A82)
            if fid in self.denied:
                return ResponseAPDU(b"", 0x6982)
            if self.require_auth and not secure and content in self.files.values():
                return ResponseAPDU(b"", 0x6982)
            self.selected = content
            offset = cmd.p2
        elif cmd.ins == 0xB0:
            offset = ((cmd.p1 & 0x7F) << 8) | cmd.p2
        else:
            try:
                do54 = decode_one(cmd.data)
            except ParseError:
                return ResponseAPDU(b"", 0x6A80)
            if do54.tag != 0x54:
                return ResponseAPDU(b"", 0x6A80)
            offset = int.from_bytes(do54.value, "big")
        if self.selected is None:
            return ResponseAPDU(b"", 0x6986)
        self.reads.append((cmd.ins, offset, le))
        capacity = max_plain_response(self.session.cipher if secure and self.session else None,
                                      extended=cmd.extended)
        overhead = 4 if cmd.ins == 0xB1 else 0
        limit = min(capacity - overhead, self.read_limit or capacity)
        if le > limit:
            return ResponseAPDU(b"", 0x6700)
        content = self.selected
        if offset > len(content):
            return ResponseAPDU(b"", 0x6B00)
        want = le
        if cmd.ins == 0xB1:  # Le counts the DO53 wrapper too
            want = max(n for n in range(max(0, le - 4), le + 1) if len(encode_tlv(0x53, bytes(n))) <= le)
        left = len(content) - offset
        if self.exact_le and cmd.ins == 0xB0 and want > left and 0 < left < 256:
            return ResponseAPDU(b"", 0x6C00 | left)
        chunk = content[offset : offset + want]
        sw = 0x9000 if len(chunk) == want else self.eof_sw
        if cmd.ins == 0xB1:
            chunk = encode_tlv(0x53, chunk)
        return ResponseAPDU(chunk, sw)
