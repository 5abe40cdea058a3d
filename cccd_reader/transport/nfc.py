"""nfcpy transport: ISO 14443-4 cards on the USB readers nfcpy drives itself.

nfcpy talks to PN531/PN532/PN533 (e.g. SCM SCL3711), Sony RC-S380/RC-S956, ACR122U (through its own USB
driver: pcscd must not hold the device, see drivers/) and PN532 boards on a serial line
(``tty:USB0:pn532``), plus its ``udp`` driver used in tests. APDUs are sent with ``Type4Tag.transceive``:
``send_apdu`` refuses extended lengths because nfcpy never sets ``_extended_length_support``.

nfcpy is an optional dependency (the ``[nfc]`` extra); it is imported on first use.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from cccd_reader.errors import (
    CardRemovedError,
    NoCardError,
    ReaderBusyError,
    ReaderNotFoundError,
    TransportError,
)
from cccd_reader.transport.base import CardTransport

RECONNECT_TIMEOUT = 15.0
"""Seconds :meth:`NFCTransport.reconnect` waits for the card to be presented again after a tag loss."""

DEFAULT_TARGETS = ("106A", "106B")
"""ISO 14443-4 type A and type B at 106 kbit/s: eMRTDs use one or the other."""


def _nfc() -> Any:
    try:
        import nfc
        import nfc.clf
        import nfc.tag.tt4
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ReaderNotFoundError("nfcpy readers need nfcpy: pip install 'cccd-reader[nfc]'") from exc
    return nfc


def open_frontend(path: str) -> Any:
    """Open an nfcpy ContactlessFrontend; its OS errors become the library's reader errors."""
    nfc = _nfc()
    try:
        clf = nfc.ContactlessFrontend()
        if not clf.open(path):
            raise ReaderNotFoundError(f"no nfcpy reader at {path!r} (see docs/drivers.md)")
        return clf
    except OSError as exc:
        import errno

        if exc.errno in (errno.EBUSY, errno.EACCES):
            raise ReaderBusyError(
                f"the nfcpy reader at {path!r} is busy or not accessible (pcscd or the pn533 kernel "
                "module may hold it: see docs/drivers.md)") from exc
        raise ReaderNotFoundError(f"no nfcpy reader at {path!r} ({exc.strerror or exc})") from exc
    except (ValueError, LookupError) as exc:
        raise ReaderNotFoundError(f"nfcpy cannot open {path!r}: {exc}") from exc
    except ReaderNotFoundError:
        raise
    except Exception as exc:  # libusb missing, a driver module failing to load, ...
        raise ReaderNotFoundError(f"nfcpy cannot open {path!r} ({exc.__class__.__name__}); "
                                  "see docs/drivers.md") from exc


def list_readers(paths: tuple[str, ...] = ("usb",)) -> list[dict[str, object]]:
    """nfcpy readers that can be opened now (only the given paths are tried; USB by default)."""
    out: list[dict[str, object]] = []
    for path in paths:
        try:
            clf = open_frontend(path)
        except TransportError:
            continue
        try:
            out.append({"kind": "nfc", "name": str(clf.device), "path": path})
        finally:
            with contextlib.suppress(Exception):
                clf.close()
    return out


class NFCTransport(CardTransport):
    """A connection to an ISO 14443-4 card through nfcpy.

    ``path`` is an nfcpy device path: ``usb``, ``usb:054c:06c3``, ``tty:USB0:pn532``, ``udp:host:port``.
    Link failures (timeouts, broken link, ISO-DEP protocol errors) become :class:`CardRemovedError`;
    :meth:`reconnect` waits for the card to be presented again (a new activation: the card lost power).
    """

    def __init__(self, path: str = "usb", *, timeout: float = 10.0,
                 targets: tuple[str, ...] = DEFAULT_TARGETS, clf: Any = None) -> None:
        self.path = path
        self.targets = targets
        self._clf = clf if clf is not None else open_frontend(path)
        self._own_clf = clf is None
        self._tag: Any = None
        self.ats: bytes = b""
        self.uid: bytes = b""
        try:
            self._connect(timeout)
        except BaseException:
            self.close()
            raise

    @property
    def atr(self) -> bytes:
        """The ATR a PC/SC reader would synthesise for this card (PC/SC part 3), for uniform probing."""
        if not self.ats:
            return b""
        hist = self._historical_bytes()
        body = bytes([0x80 | len(hist), 0x80, 0x01]) + hist
        tck = 0
        for b in body:
            tck ^= b
        return b"\x3b" + body + bytes([tck])

    def _historical_bytes(self) -> bytes:
        ats = self.ats
        if len(ats) < 2:
            return b""
        t0 = ats[1]
        i = 2 + bin(t0 & 0x70).count("1")
        return ats[i: ats[0]] if i <= len(ats) else b""

    def _connect(self, timeout: float) -> None:
        nfc = _nfc()
        deadline = time.monotonic() + max(0.0, timeout)
        tag = None
        captured: dict[str, bytes] = {}
        original = self._clf.exchange

        def spy(data: Any, timeout: float) -> Any:
            # nfcpy keeps the answer to RATS (the ATS) only in its debug log: catch it on the way
            response = original(data, timeout)
            if data is not None and len(data) == 2 and data[0] == 0xE0 and response is not None:
                captured["ats"] = bytes(response)
            return response

        self._clf.exchange = spy
        try:
            tag = self._activate(deadline)
        finally:
            with contextlib.suppress(AttributeError):
                del self._clf.exchange
        if not isinstance(tag, nfc.tag.tt4.Type4Tag):
            raise TransportError("the card in the field is not an ISO 14443-4 card (not an ID card chip)")
        self._tag = tag
        self.uid = bytes(getattr(tag, "identifier", b"") or b"")
        self.ats = captured.get("ats", b"")

    def _activate(self, deadline: float) -> Any:
        nfc = _nfc()
        tag = None
        while tag is None:
            try:
                tag = self._clf.connect(
                    rdwr={"targets": list(self.targets), "on-connect": lambda _tag: False,
                          "iterations": 1, "interval": 0.1},
                    terminate=lambda: time.monotonic() > deadline)
            except nfc.clf.CommunicationError:
                tag = None
            except (OSError, nfc.tag.tt4.Type4TagCommandError) as exc:
                raise CardRemovedError("the card was lost while it was being activated") from exc
            if tag is None or tag is False:
                tag = None
                if time.monotonic() > deadline:
                    raise NoCardError("no card in the field; put the card on the reader and hold it still")
        return tag

    def transmit(self, apdu: bytes) -> bytes:
        nfc = _nfc()
        if self._tag is None:
            raise CardRemovedError("the card is not connected; call reconnect()")
        try:
            response = self._tag.transceive(bytearray(apdu))
        except nfc.tag.tt4.Type4TagCommandError as exc:
            self._tag = None
            raise CardRemovedError("the card stopped answering (tag lost); hold it still") from exc
        except nfc.clf.CommunicationError as exc:
            self._tag = None
            raise CardRemovedError("the link to the card broke (tag lost); hold it still") from exc
        except OSError as exc:
            self._tag = None
            raise TransportError(f"the nfcpy reader failed: {exc.strerror or exc}") from exc
        except (IndexError, TypeError, ValueError, AttributeError) as exc:
            # a garbled frame nfcpy could not parse: the link is not usable any more
            self._tag = None
            raise CardRemovedError("the link to the card returned a malformed frame (tag lost)") from exc
        if response is None or len(response) < 2:
            self._tag = None
            raise CardRemovedError("the card returned no status word (tag lost)")
        return bytes(response)

    def is_present(self) -> bool:
        if self._tag is None:
            return False
        try:
            return bool(self._tag.is_present)
        except Exception:
            return False

    def wait_for_removal(self, timeout: float) -> bool:
        """Block until the card leaves the field (True) or ``timeout`` passes (False)."""
        deadline = time.monotonic() + max(0.0, timeout)
        while time.monotonic() < deadline:
            if not self.is_present():
                return True
            time.sleep(0.1)
        return False

    @property
    def can_reconnect(self) -> bool:
        return True

    def reconnect(self, timeout: float | None = None) -> None:
        """Wait up to ``timeout`` s (default :data:`RECONNECT_TIMEOUT`) for the card to be back in the field
        and activate it again."""
        self._tag = None
        self._connect(RECONNECT_TIMEOUT if timeout is None else timeout)

    def close(self) -> None:
        self._tag = None
        if self._own_clf and self._clf is not None:
            with contextlib.suppress(Exception):
                self._clf.close()
        self._clf = None

    def __repr__(self) -> str:
        return f"NFCTransport(path={self.path!r})"
