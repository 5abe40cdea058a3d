"""The one place a command opens a link to a card: PC/SC by default, nfcpy when a device path is given."""

from __future__ import annotations

from cccd_reader.errors import InputError
from cccd_reader.transport.base import CardTransport


def open_transport(*, reader: str | None = None, nfc: str | None = None, wait: float = 0.0) -> CardTransport:
    """Connect to the card on a PC/SC ``reader`` (a name or part of one; ``None``: the first reader with a
    card) or, with ``nfc``, on an nfcpy device (``usb``, ``tty:USB0:pn532``, ``udp:host:port``), waiting up
    to ``wait`` seconds for a card. The caller closes it (it is a context manager)."""
    if reader is not None and nfc is not None:
        raise InputError("choose one of a PC/SC reader and an nfcpy device")
    if nfc is not None:
        from cccd_reader.transport.nfc import NFCTransport

        return NFCTransport(nfc, timeout=wait)
    from cccd_reader.transport.pcsc import PCSCTransport

    return PCSCTransport(reader, timeout=wait)
