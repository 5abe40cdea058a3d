"""Where the service finds readers and cards: PC/SC, or built-in virtual chips in this process.

A backend lists readers (name, whether a card is on it, the card's ATR) and opens a transport to the card
on one of them. The service does everything else (busy locks, events, rate limits) the same way for both,
so the unit tests, the demo (``--emulator``) and a real desk run the same code.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from cccd_reader.errors import CardRemovedError, InputError, NoCardError, ReaderNotFoundError


@dataclass(frozen=True)
class ReaderState:
    """One reader as the service sees it at one moment."""

    name: str
    kind: str
    card_present: bool
    atr: bytes | None = None


class Link(Protocol):
    """A transport to one card that the service closes after the read."""

    def transmit(self, apdu: bytes) -> bytes: ...

    def close(self) -> None: ...


class ReaderBackend(Protocol):
    kind: str

    def list(self) -> list[ReaderState]:
        """The readers now; raises ReaderNotFoundError when the reader service itself is unreachable."""
        ...

    def open(self, name: str, wait: float) -> Link:
        """A transport to the card on reader ``name``, waiting up to ``wait`` seconds for a card."""
        ...


# --- PC/SC --------------------------------------------------------------------------------------------------


class PCSCReaders:
    """The PC/SC readers of this machine (pcscd on Linux, the smart-card service on Windows).

    Cards are opened in exclusive mode: while the service reads a card, no other program on the desk can
    open a second session on it (they get "busy", as the service's own second request does)."""

    kind = "pcsc"

    def __init__(self, reader: str | None = None, *, exclusive: bool = True,
                 lister: Callable[[], list[Any]] | None = None) -> None:
        self.wanted = reader
        self.exclusive = exclusive
        self._lister = lister

    def list(self) -> list[ReaderState]:
        from cccd_reader.transport.pcsc import list_readers, select_reader

        infos = (self._lister or list_readers)()
        names = select_reader([i.name for i in infos], self.wanted)
        return [ReaderState(i.name, "pcsc", bool(i.card_present), i.atr) for i in infos if i.name in names]

    def open(self, name: str, wait: float) -> Link:
        from cccd_reader.transport.pcsc import PCSCTransport

        return PCSCTransport(name, timeout=wait, exclusive=self.exclusive)


# --- nfcpy ------------------------------------------------------------------------------------------------


class NFCReaders:
    """One nfcpy device (``usb``, ``tty:USB0:pn532``, ``udp:host:port``).

    nfcpy needs the device for itself, so nobody looks for a card between reads: the reader is always
    listed, ``card_present`` stays false, no card events are published, and a read waits for the card
    (``wait``). The per-card count of refused keys therefore runs per reader here: it is not reset by
    lifting the card, only by time."""

    kind = "nfc"

    def __init__(self, path: str) -> None:
        self.path = path
        self.name = f"nfc:{path}"

    def list(self) -> list[ReaderState]:
        return [ReaderState(self.name, "nfc", False)]

    def open(self, name: str, wait: float) -> Link:
        from cccd_reader.transport.open import open_transport

        if name != self.name:
            raise ReaderNotFoundError("no reader by that name")
        return open_transport(nfc=self.path, wait=wait)


# --- in-process virtual chips -------------------------------------------------------------------------------


class VirtualReader:
    """A reader slot that holds a virtual chip (or nothing). ``place``/``remove`` are what a person at the
    desk does; ``unplug`` is the reader's cable coming out."""

    def __init__(self, name: str, card: Any = None) -> None:
        self.name = name
        self._card = card
        self.plugged = True
        self._changed = threading.Condition()

    @property
    def card(self) -> Any:
        return self._card

    @property
    def card_present(self) -> bool:
        card = self._card
        return self.plugged and card is not None and bool(getattr(card, "present", True))

    def place(self, card: Any) -> None:
        with self._changed:
            self._card = card
            power_on = getattr(card, "power_on", None)
            if callable(power_on):
                power_on()
            self._changed.notify_all()

    def remove(self) -> None:
        with self._changed:
            self._card = None
            self._changed.notify_all()

    def unplug(self) -> None:
        with self._changed:
            self.plugged = False
            self._changed.notify_all()

    def plug(self) -> None:
        with self._changed:
            self.plugged = True
            self._changed.notify_all()

    def wait_card(self, timeout: float) -> Any:
        """The card once one is present (within ``timeout`` s), else None."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._changed:
            while not self.card_present:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(min(remaining, 0.1))
            return self._card


class _VirtualLink:
    """A transport to the chip on a :class:`VirtualReader`: fails like a real reader when the card or the
    reader goes away, and comes back through ``reconnect`` when the same card is put back."""

    def __init__(self, reader: VirtualReader, card: Any) -> None:
        self.reader = reader
        self.card = card
        self.closed = False

    @property
    def atr(self) -> bytes:
        return bytes(getattr(self.card, "atr", b"") or b"")

    def transmit(self, apdu: bytes) -> bytes:
        if not self.reader.plugged:
            raise ReaderNotFoundError("the reader was disconnected")
        if self.reader.card is not self.card or not self.reader.card_present:
            raise CardRemovedError("the card left the reader; hold the card still on the reader")
        return bytes(self.card.transmit(apdu))

    def reconnect(self, timeout: float = 15.0) -> None:
        card = self.reader.wait_card(timeout)
        if card is None:
            raise CardRemovedError("the card did not come back to the reader")
        self.card = card
        reconnect = getattr(card, "reconnect", None)
        if callable(reconnect) and not getattr(card, "present", True):
            reconnect()

    def close(self) -> None:
        self.closed = True


class VirtualReaders:
    """Readers holding built-in virtual chips (``cccd-read serve --emulator CARD``, and the tests)."""

    kind = "emulator"

    def __init__(self, readers: list[VirtualReader] | None = None) -> None:
        self.readers: list[VirtualReader] = list(readers or [])
        self._lock = threading.Lock()

    @classmethod
    def with_sample(cls, sample: str = "an") -> VirtualReaders:
        from cccd_reader.emulator import load_sample

        return cls([VirtualReader("Virtual chip 0", load_sample(sample))])

    def add(self, reader: VirtualReader) -> VirtualReader:
        with self._lock:
            self.readers.append(reader)
        return reader

    def get(self, name: str) -> VirtualReader:
        for r in list(self.readers):
            if r.name == name and r.plugged:
                return r
        raise ReaderNotFoundError("no reader by that name (it may have been disconnected)")

    def list(self) -> list[ReaderState]:
        out = []
        for r in list(self.readers):
            if not r.plugged:
                continue
            atr = bytes(getattr(r.card, "atr", b"") or b"") if r.card_present else None
            out.append(ReaderState(r.name, "emulator", r.card_present, atr or None))
        return out

    def open(self, name: str, wait: float) -> Link:
        reader = self.get(name)
        card = reader.wait_card(wait)
        if card is None:
            if not reader.plugged:
                raise ReaderNotFoundError("the reader was disconnected")
            raise NoCardError("no card on the reader; put the card on the reader")
        return _VirtualLink(reader, card)


def emulator_backend(card: str) -> VirtualReaders:
    """A backend with one virtual reader holding the built-in sample card ``card`` ("" = the default)."""
    from cccd_reader.emulator import sample_names
    from cccd_reader.emulator.samples import DEFAULT_SAMPLE

    names = list(sample_names())
    name = card if card not in ("", "default") else DEFAULT_SAMPLE
    if name not in names:
        raise InputError(f"no sample card {name!r}; samples: {', '.join(names) or '(none)'}")
    return VirtualReaders.with_sample(name)
