"""The pipeline's link to the card: every APDU charged to the current step, and the card's ATR."""

from __future__ import annotations

from cccd_reader.errors import CardRemovedError, CCCDError, NoCardError, TransportError
from cccd_reader.read.records import ReadStats
from cccd_reader.transport.base import Transport, WrappingTransport, as_card_transport


class Link(WrappingTransport):
    """The caller's transport with accounting: every APDU is charged to the current step.

    It is also where the pipeline meets code it does not own, so whatever a foreign transport does wrong
    becomes a :class:`~cccd_reader.errors.TransportError` here: an exception that is not the library's
    (``OSError``, ``RuntimeError``, ...) and an answer that is not bytes.
    """

    def __init__(self, inner: Transport, stats: ReadStats) -> None:
        super().__init__(inner)
        self.stats = stats
        self.current = stats.step("probe")

    def transmit(self, apdu: bytes) -> bytes:
        self.current.apdus += 1
        self.current.bytes_sent += len(apdu)
        try:
            response = self.inner.transmit(apdu)
        except CCCDError:
            raise
        except Exception as exc:  # a foreign transport's own failure: the link failed
            raise TransportError(f"the transport failed ({type(exc).__name__}); check the reader and "
                                 "read the card again") from exc
        if not isinstance(response, bytes | bytearray | memoryview):
            raise TransportError(f"the transport answered with {type(response).__name__}, not bytes")
        response = bytes(response)
        self.current.bytes_received += len(response)
        return response

    @property
    def reconnectable(self) -> bool:
        return self.inner.can_reconnect

    def reconnect(self, timeout: float | None = None) -> None:
        try:
            self.inner.reconnect(timeout)
        except NoCardError as exc:
            # after a tag loss "no card" means the card did not come back: report it as the loss it is
            wait = f" within {timeout:.0f} s" if timeout is not None else ""
            raise CardRemovedError(f"the card did not come back{wait}; hold it still on "
                                   "the reader and read it again") from exc
        except CCCDError:
            raise
        except Exception as exc:
            raise TransportError(f"the transport failed to reconnect ({type(exc).__name__})") from exc


def card_atr(transport: Transport) -> bytes:
    """The card's ATR as the transport declares it (a replayed trace gives the recorded one, so the
    replay makes the same read-size decisions as the recording); b"" when it does not know."""
    try:
        return as_card_transport(transport).atr
    except CCCDError:
        raise
    except Exception:  # a foreign transport whose atr fails: unknown
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
