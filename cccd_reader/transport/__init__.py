"""Transports: the Transport protocol, PC/SC, nfcpy, traces, and the emulator link."""

from cccd_reader.transport.base import (
    RandomBytes,
    Reconnectable,
    Transport,
    default_random_bytes,
    random_int_below,
)

__all__ = ["RandomBytes", "Reconnectable", "Transport", "default_random_bytes", "random_int_below"]
