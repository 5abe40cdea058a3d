"""A small ISO/IEC 14443-4 Type 4A card on nfcpy's ``udp`` driver, in front of any card object.

nfcpy's ``udp`` driver (device path ``udp:<host>:<port>``) speaks ISO 14443 frames as UDP datagrams of
ASCII text, ``b"<bitrate> <hex frame>"`` (e.g. ``b"106A 26"``), without CRC; a datagram starting with
``RFOFF`` means the field went off. nfcpy itself can only emulate Type 3 tags, so this responder plays
the card side of ISO 14443-3A (SENS_REQ / SDD / SEL with a 4-byte UID, SAK 0x20) and 14443-4 (RATS ->
ATS, I-blocks with chaining in both directions, R(ACK)/R(NAK), S(DESELECT)). Command APDUs go to
``card.transmit`` (the same card object the vpcd bridge serves), so nfcpy's real reader-side ISO-DEP code
is exercised in tests without hardware.

Higher bit rates: with ``bit_rates`` the ATS's TA(1) announces them and the card answers a PPS request
(ISO/IEC 14443-4 §5.3) by switching to the chosen rate, as a real card does: frames then travel tagged
``212A`` / ``424A`` / ``848A``. ``pps="silent"`` ignores PPS requests, ``pps="stuck"`` answers them but
keeps talking at 106 kbit/s (a link that cannot carry the rate), for the reader's fallback tests.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from functools import reduce
from operator import xor

from cccd_reader.emulator.vpcd import BridgeCard

log = logging.getLogger(__name__)

_SW_INTERNAL_ERROR = b"\x6f\x00"
_FSD = (16, 24, 32, 40, 48, 64, 96, 128, 256)


class NfcUdpCard:
    """Serve ``card`` as a Type 4A tag on ``host:port`` (``port=0`` picks a free port, see ``.port``).

    ``fwi`` is the frame waiting integer announced in the ATS: the reader gives up on a silent card after
    ``4096/13.56 MHz * 2**fwi`` (FWI 10 = 0.3 s), so it sets how fast a tag loss is noticed. A command
    that takes the card longer than half of that (PACE's elliptic-curve steps on a loaded machine) is
    covered with waiting-time extensions, S(WTX), as a real card does.
    ``remove()`` / ``insert()`` take the card away and back; ``drop_after(n)`` makes the card fall silent
    instead of answering the n-th next command APDU and come back ``away`` seconds later.
    """

    def __init__(self, card: BridgeCard, *, host: str = "127.0.0.1", port: int = 0, fwi: int = 10,
                 uid: bytes = bytes.fromhex("08A1B2C3"),
                 on_apdu: Callable[[bytes], None] | None = None,
                 bit_rates: tuple[int, ...] = (106,), pps: str = "answer") -> None:
        if len(uid) != 4:
            raise ValueError("this responder uses a single-size (4-byte) UID")
        if not set(bit_rates) <= {106, 212, 424, 848} or pps not in ("answer", "silent", "stuck"):
            raise ValueError("bit rates are 106/212/424/848; pps is answer, silent or stuck")
        self.bit_rates = tuple(bit_rates)
        self.pps = pps
        self.apdu_rates: list[str] = []  # the bit rate each command APDU's last frame arrived at
        if not 0 <= fwi <= 14:
            raise ValueError("FWI is 0..14")
        self.card = card
        self.uid = uid
        self.fwi = fwi
        self.on_apdu = on_apdu
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((host, port))
        self._sock.settimeout(0.2)
        self.host, self.port = self._sock.getsockname()[:2]
        self._stop = threading.Event()
        self._present = threading.Event()
        self._present.set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._drop_countdown: int | None = None
        self._drop_away = 0.0
        self.apdu_count = 0
        self._reset_link()

    @property
    def path(self) -> str:
        """The nfcpy device path that reaches this card."""
        return f"udp:{self.host}:{self.port}"

    # -- control ----------------------------------------------------------------------------------------

    def start(self) -> NfcUdpCard:
        self._thread = threading.Thread(target=self._run, name=f"nfc-udp-card-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        with contextlib.suppress(OSError):
            self._sock.close()

    def __enter__(self) -> NfcUdpCard:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def remove(self) -> None:
        self._present.clear()
        self._power_off()

    def insert(self) -> None:
        self._present.set()

    def drop_after(self, n: int, *, away: float = 0.3) -> None:
        with self._lock:
            self._drop_countdown = n
            self._drop_away = away

    # -- protocol ---------------------------------------------------------------------------------------

    def _reset_link(self) -> None:
        self._state = "idle"  # idle -> ready (after SENS) -> active (after SEL) -> protocol (after RATS)
        self._fsd = 256
        self._chain = bytearray()
        self._pending = b""  # response bytes not yet sent (card -> reader chaining)
        self._last_block: bytes | None = None
        self._work: tuple[_Work, int] | None = None  # a command the card is still working on
        self._allowance = self.fwt  # how long the reader waits for the current answer
        self._brty = b"106A"  # ISO/IEC 14443: every activation starts at 106 kbit/s
        self._next_brty: bytes | None = None
        self._blocks_seen = False

    def _power_off(self) -> None:
        self._reset_link()
        method = getattr(self.card, "power_off", None)
        if callable(method):
            with contextlib.suppress(Exception):
                method()

    def _power_on(self) -> None:
        method = getattr(self.card, "power_on", None)
        if callable(method):
            with contextlib.suppress(Exception):
                method()

    def _ats(self) -> bytes:
        # TL, T0 (TA TB TC present, FSCI 8 = 256 B), TA(1) (same divisor both ways; DS and DR bits of
        # the rates above 106 kbit/s: b7/b3 = 8, b6/b2 = 4, b5/b1 = 2), TB (FWI, SFGI 0), TC (no CID/NAD)
        ta = 0x80
        for rate, bit in ((212, 0x11), (424, 0x22), (848, 0x44)):
            if rate in self.bit_rates:
                ta |= bit
        return bytes([0x05, 0x78, ta, (self.fwi << 4), 0x02])

    def _pps(self, frame: bytes) -> bytes | None:
        """PPS request (PPSS D0|CID, PPS0 11, PPS1 DSI<<2|DRI): switch to the rate after answering."""
        if len(frame) != 3 or frame[1] != 0x11 or self.pps == "silent":
            return None
        dsi, dri = (frame[2] >> 2) & 3, frame[2] & 3
        rate = 106 << dsi
        if dsi != dri or rate not in self.bit_rates:
            return None  # an asymmetric or unannounced divisor: not accepted
        if self.pps == "answer":
            self._next_brty = f"{rate}A".encode()
        return bytes([frame[0]])

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                datagram, addr = self._sock.recvfrom(1024)
            except TimeoutError:
                continue
            except OSError:
                break
            if datagram.startswith(b"RFOFF"):
                self._power_off()
                continue
            if not self._present.is_set():
                continue
            try:
                brty, hexframe = datagram.split()
                frame = bytes.fromhex(hexframe.decode("ascii"))
            except ValueError:
                continue
            if not frame or (brty != self._brty and not (brty == b"106A" and frame in (b"\x26", b"\x52"))):
                continue  # a frame at a rate the card is not listening at is noise to it
            self._next_brty = None
            reply = self._handle(frame)
            if reply is not None:
                with contextlib.suppress(OSError):
                    self._sock.sendto(brty + b" " + reply.hex().encode("ascii"), addr)
            if self._next_brty is not None:
                self._brty = self._next_brty

    def _handle(self, frame: bytes) -> bytes | None:
        bcc = reduce(xor, self.uid)
        if frame in (b"\x26", b"\x52"):  # SENS_REQ / ALL_REQ: a new activation
            if self._state == "protocol":
                self._power_off()
            self._brty = b"106A"
            self._state = "ready"
            return b"\x04\x00"  # SENS_RES: single-size UID, bit frame anticollision
        if frame == b"\x93\x20" and self._state == "ready":
            return self.uid + bytes([bcc])
        if frame == b"\x93\x70" + self.uid + bytes([bcc]) and self._state == "ready":
            self._state = "active"
            return b"\x20"  # SAK: UID complete, ISO/IEC 14443-4 compliant
        if self._state == "active" and frame[0] == 0xE0 and len(frame) == 2:
            self._fsd = _FSD[min(frame[1] >> 4, 8)]
            self._state = "protocol"
            self._power_on()
            return self._ats()
        if self._state != "protocol":
            return None
        if frame[0] & 0xF0 == 0xD0:  # PPS request (only right after the ATS, before any block)
            return self._pps(frame) if not self._blocks_seen else None
        self._blocks_seen = True
        return self._block(frame)

    def _send_block(self, pni: int) -> bytes:
        room = self._fsd - 3  # PCB + 2 CRC bytes
        chunk, self._pending = self._pending[:room], self._pending[room:]
        pcb = 0x02 | pni | (0x10 if self._pending else 0)
        self._last_block = bytes([pcb]) + chunk
        return self._last_block

    @property
    def fwt(self) -> float:
        """Frame waiting time in seconds, from the FWI announced in the ATS."""
        return 4096 / 13.56e6 * (1 << self.fwi)

    def _block(self, frame: bytes) -> bytes | None:
        pcb = frame[0]
        if pcb & 0xE2 == 0x02:  # I-block
            pni = pcb & 1
            self._chain += frame[1:]
            if pcb & 0x10:  # reader chaining: acknowledge and wait for more
                self._last_block = bytes([0xA2 | pni])
                return self._last_block
            apdu, self._chain = bytes(self._chain), bytearray()
            work = self._start(apdu)
            if work is None:
                return None
            self._work = (work, pni)
            return self._progress()
        if pcb & 0xF7 == 0xF2 and self._work is not None:  # S(WTX) response: the reader waits on
            return self._progress()
        if pcb & 0xF6 == 0xA2:  # R(ACK): the reader wants the next chained block
            if self._pending:
                return self._send_block(pcb & 1)
            return self._last_block
        if pcb & 0xF6 == 0xB2:  # R(NAK): retransmission request or presence check
            return self._last_block or bytes([0xA2 | (pcb & 1)])
        if pcb & 0xF7 == 0xC2:  # S(DESELECT)
            self._power_off()
            return b"\xc2"
        return None

    def _progress(self) -> bytes:
        """The answer if the card has it within half a frame waiting time, else a waiting-time
        extension (S(WTX)) so that a slow command (PACE on a loaded machine) never times the reader out."""
        assert self._work is not None
        work, pni = self._work
        if work.done.wait(self._allowance / 2):
            self._work = None
            self._allowance = self.fwt
            self._pending = work.result
            return self._send_block(pni)
        wtxm = max(1, min(59, int(1.0 / self.fwt) + 1))  # up to about a second more each time
        self._allowance = wtxm * self.fwt
        self._last_block = bytes([0xF2, wtxm])
        return self._last_block

    def _start(self, apdu: bytes) -> _Work | None:
        """Hand the APDU to the card in a worker thread (None: an injected drop swallowed it)."""
        with self._lock:
            drop = False
            if self._drop_countdown is not None:
                self._drop_countdown -= 1
                if self._drop_countdown <= 0:
                    drop, self._drop_countdown = True, None
        if drop:
            self.remove()
            if self._drop_away > 0:
                timer = threading.Timer(self._drop_away, self.insert)
                timer.daemon = True
                timer.start()
            else:
                self.insert()
            return None
        self.apdu_count += 1
        self.apdu_rates.append(self._brty.decode())
        if self.on_apdu is not None:
            self.on_apdu(apdu)
        work = _Work()

        def run() -> None:
            try:
                response = bytes(self.card.transmit(apdu))
            except Exception:
                log.exception("card transmit failed")
                response = _SW_INTERNAL_ERROR
            work.result = response if len(response) >= 2 else _SW_INTERNAL_ERROR
            work.done.set()

        threading.Thread(target=run, name="nfc-udp-card-apdu", daemon=True).start()
        return work


class _Work:
    """One command being processed by the card."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result = _SW_INTERNAL_ERROR
