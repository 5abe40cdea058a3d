"""The pipeline's link to the card: every APDU charged to the current step, and the card's ATR."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cccd_reader.errors import CardRemovedError, NoCardError
from cccd_reader.read.records import ReadStats
from cccd_reader.transport.base import Transport


class Link:
    """The raw transport with accounting. Every APDU is charged to the current step."""

    def __init__(self, inner: Transport, stats: ReadStats) -> None:
        self.inner = inner
        self.stats = stats
        self.current = stats.step("probe")

    def transmit(self, apdu: bytes) -> bytes:
        self.current.apdus += 1
        self.current.bytes_sent += len(apdu)
        response = self.inner.transmit(apdu)
        self.current.bytes_received += len(response)
        return response

    @property
    def reconnectable(self) -> bool:
        return callable(getattr(self.inner, "reconnect", None))

    def reconnect(self, timeout: float) -> None:
        method = getattr(self.inner, "reconnect", None)
        if not callable(method):
            raise CardRemovedError("the link to the card was lost and this transport cannot reconnect")
        try:
            if _accepts_timeout(method):
                method(timeout=timeout)
            else:  # a wrapper (trace, fault injection) whose reconnect takes no timeout
                method()
        except NoCardError as exc:
            # after a tag loss "no card" means the card did not come back: report it as the loss it is
            raise CardRemovedError(f"the card did not come back within {timeout:.0f} s; hold it still on "
                                   "the reader and read it again") from exc

    def __getattr__(self, name: str) -> Any:  # extended_length, atr, ... of the inner transport
        return getattr(self.inner, name)


def _accepts_timeout(method: Callable[..., Any]) -> bool:
    import inspect

    try:
        params = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False
    return "timeout" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def card_atr(transport: Any) -> bytes:
    """The card's ATR from the transport or anything it wraps; a replayed trace gives the recorded one
    (so the replay makes the same read-size decisions as the recording)."""
    t: Any = transport
    for _ in range(8):
        if t is None:
            break
        atr = getattr(t, "atr", None)
        if callable(atr):
            atr = atr()
        if isinstance(atr, bytes | bytearray) and atr:
            return bytes(atr)
        header = getattr(t, "header", None)
        if isinstance(header, dict) and isinstance(header.get("atr"), str):
            try:
                return bytes.fromhex(header["atr"])
            except ValueError:
                return b""
        t = getattr(t, "inner", None)
    return b""


def atr_extended_length(atr: bytes) -> bool | None:
    """Read the "card capabilities" compact-TLV (tag 7, 3 bytes) in the ATR's historical bytes: its third
    byte's bit 0x40 announces extended Lc/Le (ISO 7816-4 §8.1.1.2.7). ``None`` when the ATR does not say."""
    if len(atr) < 2 or atr[0] not in (0x3B, 0x3F):
        return None
    t0 = atr[1]
    k = t0 & 0x0F
    i = 2
    y = t0 >> 4
    while True:
        count = bin(y).count("1")
        last_td = (y & 0x8) != 0
        td_index = i + count - 1 if last_td else None
        i += count
        if td_index is None or td_index >= len(atr):
            break
        y = atr[td_index] >> 4
    hist = atr[i: i + k]
    if not hist or hist[0] != 0x80:
        return None
    j = 1
    while j < len(hist):
        tag, length = hist[j] >> 4, hist[j] & 0x0F
        value = hist[j + 1: j + 1 + length]
        if tag == 7 and length >= 3 and len(value) >= 3:
            return bool(value[2] & 0x40)
        j += 1 + length
    return None
