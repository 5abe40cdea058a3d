"""Transports: the declared contract (CardTransport), PC/SC, nfcpy, secure messaging, traces, faults.

``open_transport`` (in :mod:`cccd_reader.transport.open`) is how a command opens a reader.
"""

from cccd_reader.transport.base import (
    CardTransport,
    PlainTransport,
    RandomBytes,
    Reconnectable,
    Transport,
    WrappingTransport,
    as_card_transport,
    default_random_bytes,
    random_int_below,
)

__all__ = [
    "CardTransport",
    "PlainTransport",
    "RandomBytes",
    "Reconnectable",
    "Transport",
    "WrappingTransport",
    "as_card_transport",
    "default_random_bytes",
    "random_int_below",
]
