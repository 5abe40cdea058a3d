"""The secure-messaging transport: a Transport that wraps a Transport (ICAO 9303-11 §9.8).

Use it after your own PACE or BAC (``SecureMessagingTransport(link, pace_result.session)``) to call
:func:`~cccd_reader.protocols.chip_auth.perform_chip_auth`, :func:`~cccd_reader.protocols.active_auth.
perform_active_auth` or a :class:`~cccd_reader.protocols.files.FileReader` under secure messaging. The
session state and the wire format are :class:`cccd_reader.crypto.sm.SMSession`'s.
"""

from __future__ import annotations

from cccd_reader.crypto.sm import SMSession, max_plain_response
from cccd_reader.errors import TransportError
from cccd_reader.iso7816.apdu import CommandAPDU
from cccd_reader.transport.base import Transport, WrappingTransport


class SecureMessagingTransport(WrappingTransport):
    """A Transport that protects every command and unprotects every response through ``session``.

    ``transmit`` takes a plain command and returns the plain response (data + SW), so protocols and the
    file reader work the same with or without secure messaging. ``last_wire_sizes`` holds the
    (sent, received) byte counts of the last exchange as it went over the link.
    """

    def __init__(self, inner: Transport, session: SMSession, *, strict: bool = True) -> None:
        super().__init__(inner)
        self.session = session
        self.strict = strict
        self.last_wire_sizes: tuple[int, int] = (0, 0)

    def __repr__(self) -> str:
        return f"SecureMessagingTransport({self.session!r}, strict={self.strict})"

    @property
    def cipher(self) -> str:
        return self.session.cipher

    def max_read_length(self, *, extended: bool = False) -> int:
        """Largest READ BINARY answer (plaintext) one protected response can carry."""
        return max_plain_response(self.session.cipher, extended=extended)

    def transmit(self, apdu: bytes) -> bytes:
        cmd = CommandAPDU.decode(apdu)
        protected = self.session.protect_command(cmd)
        try:
            raw = self.inner.transmit(protected)
        except TransportError:
            # Whatever the chip saw, a lost link resets it: the session keys are gone.
            self.session.invalidate("the link to the card was lost")
            raise
        self.last_wire_sizes = (len(protected), len(raw))
        return self.session.unprotect_response(raw, strict=self.strict)


__all__ = ["SMSession", "SecureMessagingTransport"]
