"""The one Transport shape every layer talks to, and the injectable randomness source.

A transport sends a command APDU and returns the response data followed by SW1 SW2. Secure messaging,
recording, replay and fault injection are transports that wrap a transport, so nothing in protocols/
or lds/ knows where the bytes come from.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from cccd_reader.errors import InputError

RandomBytes = Callable[[int], bytes]
"""``random_bytes(n) -> n bytes``. Every random value the terminal side uses is drawn from one of these, so
that a recorded session replays byte for byte when the same bytes are fed back."""


def default_random_bytes(n: int) -> bytes:
    return os.urandom(n)


@runtime_checkable
class Transport(Protocol):
    def transmit(self, apdu: bytes) -> bytes:
        """Send one command APDU; return response data + SW1 SW2. Raise TransportError on link failure."""
        ...


@runtime_checkable
class Reconnectable(Protocol):
    def reconnect(self) -> None:
        """Re-power / re-select the card after a link loss (the card must be re-authenticated)."""
        ...


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


def reconnect_inner(inner: object, timeout: float | None) -> None:
    """Reconnect a wrapped transport if it can, passing ``timeout`` on when its ``reconnect`` takes one.

    Wrapping transports (recording, fault injection) forward ``reconnect`` with this, so a wrapper never
    hides the inner link's ability to come back after a tag loss.
    """
    method = getattr(inner, "reconnect", None)
    if not callable(method):
        return
    if timeout is not None:
        try:
            accepts = "timeout" in inspect.signature(method).parameters
        except (TypeError, ValueError):
            accepts = False
        if accepts:
            method(timeout=timeout)
            return
    method()
