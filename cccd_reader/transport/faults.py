"""A Transport wrapper that misbehaves on demand, for tests of the reader's recovery paths.

It sits between the reader and a card (real, emulated or scripted) and injects what readers meet in the
field (peer-readers §4): the tag leaves the field after N APDUs, long reads are refused with 6700, the
chip answers a protected command with an unprotected ("naked") status word, a response MAC is damaged,
answers are slow. APDUs are counted from 0 as they pass through this wrapper.

When a naked status word is injected *instead of* forwarding a protected command, the simulated chip never
saw the command, so its send sequence counter does not move (the same as a chip that rejects a command
before its secure-messaging layer, see :mod:`cccd_reader.crypto.sm`). For 6987/6988 pass ``chip_session``
(a callable returning the chip's :class:`~cccd_reader.crypto.sm.SMSession`, or ``None``) and the wrapper
invalidates the chip's session too (the chip drops its keys).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from cccd_reader.errors import CardRemovedError, ParseError
from cccd_reader.iso7816.apdu import CommandAPDU
from cccd_reader.iso7816.tlv import decode
from cccd_reader.transport.base import Transport, WrappingTransport


class _ChipCounter(Protocol):
    def increment(self) -> None: ...

    def invalidate(self, reason: str) -> None: ...


READ_BINARY_INS = (0xB0, 0xB1)


def requested_le(apdu: bytes) -> int | None:
    """The Le a command asks for: its Le field, or DO97 inside a protected command. ``None`` if absent."""
    try:
        cmd = CommandAPDU.decode(apdu)
    except ParseError:
        return None
    if cmd.cla & 0x0C != 0x0C:
        return cmd.le
    try:
        for do in decode(cmd.data):
            if do.tag == 0x97:
                if not do.value:
                    return None
                value = int.from_bytes(do.value, "big")
                return value or (256 if len(do.value) == 1 else 65536)
    except ParseError:
        return None
    return None


class FaultyTransport(WrappingTransport):
    """Wrap ``inner`` and inject faults. All faults are off unless configured.

    * ``drop_after``: APDUs with index >= this raise :class:`CardRemovedError` until :meth:`reconnect`.
    * ``wrong_length_above``: READ BINARY asking for more than this many bytes gets a naked 6700.
    * ``naked_sw``: {APDU index: SW} answered bare instead of forwarding the command.
    * ``naked_sw_when``: ``f(apdu, index) -> SW | None`` for conditions the mapping cannot express.
    * ``corrupt_mac_at``: APDU indexes whose (forwarded) response gets one MAC byte flipped.
    * ``corrupt_byte_at``: {APDU index: byte position} of the (forwarded) response to flip one bit of;
      a negative position counts from the end (-1 is SW2), a position past the end is taken modulo the
      response length.
    * ``lose_answer_at``: APDU indexes whose command reaches the card but whose answer is lost: the chip
      acts on the command, then the link drops (:class:`CardRemovedError` until :meth:`reconnect`).
    * ``delay``: seconds to wait before each exchange (``sleep`` is injectable).
    * ``delay_at``: {APDU index: seconds} to wait before that one exchange.
    """

    def __init__(
        self,
        inner: Transport,
        *,
        drop_after: int | None = None,
        wrong_length_above: int | None = None,
        naked_sw: Mapping[int, int] | None = None,
        naked_sw_when: Callable[[bytes, int], int | None] | None = None,
        corrupt_mac_at: Iterable[int] = (),
        corrupt_byte_at: Mapping[int, int] | None = None,
        lose_answer_at: Iterable[int] = (),
        delay: float = 0.0,
        delay_at: Mapping[int, float] | None = None,
        chip_session: Callable[[], _ChipCounter | None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(inner)
        self.drop_after = drop_after
        self.wrong_length_above = wrong_length_above
        self.naked_sw = dict(naked_sw or {})
        self.naked_sw_when = naked_sw_when
        self.corrupt_mac_at = set(corrupt_mac_at)
        self.corrupt_byte_at = dict(corrupt_byte_at or {})
        self.lose_answer_at = set(lose_answer_at)
        self.delay = delay
        self.delay_at = dict(delay_at or {})
        self.chip_session = chip_session
        self._sleep = sleep
        self.count = 0
        self.dropped = False
        self.injected: list[tuple[int, str]] = []

    def __repr__(self) -> str:
        return f"FaultyTransport(count={self.count}, dropped={self.dropped}, injected={len(self.injected)})"

    def transmit(self, apdu: bytes) -> bytes:
        index = self.count
        self.count += 1
        if self.delay:
            self._sleep(self.delay)
        if self.delay_at.get(index):
            self._sleep(self.delay_at[index])
            self.injected.append((index, "delay"))
        if self.dropped or (self.drop_after is not None and index >= self.drop_after):
            self.dropped = True
            self.injected.append((index, "drop"))
            raise CardRemovedError(f"the card left the field (injected at APDU {index})")
        sw = self.naked_sw.get(index)
        if sw is None and self.naked_sw_when is not None:
            sw = self.naked_sw_when(apdu, index)
        limit = self.wrong_length_above
        if sw is None and limit is not None and len(apdu) >= 2 and apdu[1] in READ_BINARY_INS:
            le = requested_le(apdu)
            if le is not None and le > limit:
                sw = 0x6700
        if sw is not None:
            self._chip_counts(apdu, sw)
            self.injected.append((index, f"naked {sw:04X}"))
            return sw.to_bytes(2, "big")
        raw = self.inner.transmit(apdu)
        if index in self.corrupt_mac_at and len(raw) >= 4:
            damaged = bytearray(raw)
            damaged[-3] ^= 0x01  # last MAC byte of DO8E, just before SW1 SW2
            self.injected.append((index, "corrupt MAC"))
            return bytes(damaged)
        if index in self.lose_answer_at:
            self.dropped = True
            self.injected.append((index, "answer lost"))
            raise CardRemovedError(f"the answer was lost (injected at APDU {index})")
        position = self.corrupt_byte_at.get(index)
        if position is not None and raw:
            damaged = bytearray(raw)
            damaged[position % len(damaged)] ^= 0x01
            self.injected.append((index, "corrupt byte"))
            return bytes(damaged)
        return raw

    def _chip_counts(self, apdu: bytes, sw: int) -> None:
        if self.chip_session is None or not apdu or apdu[0] & 0x0C != 0x0C:
            return
        session = self.chip_session()
        if session is None:
            return
        if sw in (0x6987, 0x6988):
            session.invalidate(f"injected naked {sw:04X}")

    @property
    def can_reconnect(self) -> bool:
        return True  # a simulated tag loss always ends

    def reconnect(self, timeout: float | None = None) -> None:
        """End a simulated tag loss (the drop fault is spent) and reconnect the inner transport if it can."""
        self.dropped = False
        self.drop_after = None
        if self.inner.can_reconnect:
            self.inner.reconnect(timeout)
