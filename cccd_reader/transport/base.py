"""The one Transport shape every layer talks to, and the injectable randomness source.

A transport sends a command APDU and returns the response data followed by SW1 SW2. Secure messaging,
recording, replay and fault injection are transports that wrap a transport, so nothing in protocols/
or lds/ knows where the bytes come from.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Protocol, Self, runtime_checkable

from cccd_reader.errors import InputError

RandomBytes = Callable[[int], bytes]
"""``random_bytes(n) -> n bytes``. Every random value the terminal side uses is drawn from one of these, so
that a recorded session replays byte for byte when the same bytes are fed back."""


def default_random_bytes(n: int) -> bytes:
    return os.urandom(n)


@runtime_checkable
class Transport(Protocol):
    """The least a transport needs: ``transmit``. Protocol functions (PACE, BAC, CA, AA, the file reader)
    only send APDUs, so they take any object with this method; :func:`cccd_reader.read_card` takes one too
    and asks it nothing else unless it is a :class:`CardTransport`."""

    def transmit(self, apdu: bytes) -> bytes:
        """Send one command APDU; return response data + SW1 SW2. Raise TransportError on link failure."""
        ...


@runtime_checkable
class Reconnectable(Protocol):
    """Superseded by :attr:`CardTransport.can_reconnect` / :meth:`CardTransport.reconnect`; kept for
    code that checks ``isinstance(t, Reconnectable)``."""

    def reconnect(self) -> None:
        """Re-power / re-select the card after a link loss (the card must be re-authenticated)."""
        ...


class CardTransport(ABC):
    """The declared contract of a link to a card (pyscard's ``CardConnection`` is the model).

    ``transmit`` is the only method a transport must write. The rest have safe defaults and are asked
    directly, never discovered: ``atr`` (b"" when unknown), ``extended_length`` (``None`` until known),
    ``max_read_length`` (the largest READ BINARY answer one response carries), ``can_reconnect`` and
    ``reconnect(timeout)`` (come back after a tag loss; the card must then be authenticated again),
    ``close`` and use as a context manager. Wrappers (:class:`WrappingTransport`) forward all of them.
    """

    @abstractmethod
    def transmit(self, apdu: bytes) -> bytes:
        """Send one command APDU; return response data + SW1 SW2. Raise TransportError on link failure."""

    @property
    def atr(self) -> bytes:
        """The card's answer to reset (or what a PC/SC reader synthesises from the ATS); b"" if unknown."""
        return b""

    @property
    def extended_length(self) -> bool | None:
        """Whether the link carries extended-length APDUs: ``None`` until something learns it."""
        return None

    def max_read_length(self, *, extended: bool = False) -> int:
        """The most response data one READ BINARY can return over this link."""
        return 65536 if extended else 256

    @property
    def can_reconnect(self) -> bool:
        """Whether :meth:`reconnect` can bring the card back after a tag loss."""
        return False

    def reconnect(self, timeout: float | None = None) -> None:
        """Wait up to ``timeout`` seconds (``None``: the transport's own default) for the card to come
        back after a link loss and connect again. Every session key is gone afterwards."""
        from cccd_reader.errors import CardRemovedError

        raise CardRemovedError("the link to the card was lost and this transport cannot reconnect")

    def close(self) -> None:
        """Release the link (idempotent). The default has nothing to release."""
        return None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class WrappingTransport(CardTransport):
    """A transport that wraps another (secure messaging, recording, fault injection, accounting) and
    forwards every declared capability to it; subclasses override ``transmit`` and what they change."""

    def __init__(self, inner: Transport) -> None:
        self.inner: CardTransport = as_card_transport(inner)

    def transmit(self, apdu: bytes) -> bytes:
        return self.inner.transmit(apdu)

    @property
    def atr(self) -> bytes:
        return self.inner.atr

    @property
    def extended_length(self) -> bool | None:
        return self.inner.extended_length

    def max_read_length(self, *, extended: bool = False) -> int:
        return self.inner.max_read_length(extended=extended)

    @property
    def can_reconnect(self) -> bool:
        return self.inner.can_reconnect

    def reconnect(self, timeout: float | None = None) -> None:
        self.inner.reconnect(timeout)

    def close(self) -> None:
        self.inner.close()


class PlainTransport(CardTransport):
    """A :class:`CardTransport` around an object that only promises ``transmit`` (a user's own link, a test
    double). What such an object offers is read once, from the object itself (wrappers are not searched):
    an ``atr`` (bytes, or a method returning them), an ``extended_length`` flag, and a ``reconnect()``
    method, which is called without arguments (subclass :class:`CardTransport` to receive the timeout)."""

    def __init__(self, link: Transport) -> None:
        if not callable(getattr(link, "transmit", None)):
            raise InputError("a transport needs a transmit(apdu: bytes) -> bytes method")
        self.link = link

    def __repr__(self) -> str:
        return f"PlainTransport({type(self.link).__name__})"

    def transmit(self, apdu: bytes) -> bytes:
        return self.link.transmit(apdu)

    @property
    def atr(self) -> bytes:
        value = getattr(self.link, "atr", None)
        if callable(value):
            value = value()
        return bytes(value) if isinstance(value, bytes | bytearray) else b""

    @property
    def extended_length(self) -> bool | None:
        value = getattr(self.link, "extended_length", None)
        return value if isinstance(value, bool) else None

    @property
    def can_reconnect(self) -> bool:
        return callable(getattr(self.link, "reconnect", None))

    def reconnect(self, timeout: float | None = None) -> None:
        method = getattr(self.link, "reconnect", None)
        if not callable(method):
            super().reconnect(timeout)
            return
        method()

    def close(self) -> None:
        method = getattr(self.link, "close", None)
        if callable(method):
            method()


def as_card_transport(transport: Transport) -> CardTransport:
    """``transport`` itself when it declares the full contract, else a :class:`PlainTransport` around it."""
    if isinstance(transport, CardTransport):
        return transport
    return PlainTransport(transport)


def random_int_below(random_bytes: RandomBytes, bound: int) -> int:
    """Draw a private key in ``[1, bound)`` by the library's convention.

    ``int.from_bytes(random_bytes(L), "big")`` with L the byte length of ``bound``, drawn again while it is 0
    or >= bound. Implementations that follow the same rule replay each other's traces.
    """
    if bound < 2:  # nothing to draw: without this check the loop below never ends
        raise InputError("a private key needs a bound of at least 2 (the group order is degenerate)")
    length = (bound.bit_length() + 7) // 8
    while True:
        k = int.from_bytes(random_bytes(length), "big")
        if 0 < k < bound:
            return k
