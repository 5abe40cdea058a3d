"""nfcpy transport: ISO 14443-4 cards on the USB readers nfcpy drives itself.

nfcpy talks to PN531/PN532/PN533 (e.g. SCM SCL3711), Sony RC-S380/RC-S956, ACR122U (through its own USB
driver: pcscd must not hold the device, see drivers/) and PN532 boards on a serial line
(``tty:USB0:pn532``), plus its ``udp`` driver used in tests. APDUs are sent with ``Type4Tag.transceive``:
``send_apdu`` refuses extended lengths because nfcpy never sets ``_extended_length_support``.

Bit rate: nfcpy activates every card at 106 kbit/s and never negotiates more (it sends no PPS for
Type A, and its ATTRIB for Type B asks for 106 kbit/s); its drivers can nevertheless frame Type A at
higher rates once told to. So after activation this transport reads the rates the card announces in its
ATS (TA(1)), sends the PPS request itself (ISO/IEC 14443-4 §5.3) for the highest rate both the card and
the reader support, switches nfcpy's target to it and checks the link with an ISO-DEP presence check;
if the card does not answer the PPS or the link fails at the new rate, the card is activated again and
the rest of the session stays at 106 kbit/s. Which readers: see :data:`READER_BIT_RATES` and
docs/nfc-bit-rates.md (the evidence from nfcpy's drivers).

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

READER_BIT_RATES: dict[str, tuple[int, ...]] = {
    "pn533": (106, 212, 424, 848),  # nfcpy writes the PN533's 14443-4 212/424/848 analog settings (0x0D)
    "rcs380": (106, 212, 424),  # its in_set_rf knows 212A and 424A
    "udp": (106, 212, 424, 848),  # nfcpy's test driver: the rate is a label on each frame
}
"""Type A bit rates (kbit/s) this transport negotiates, by nfcpy driver module. Others (PN531, PN532,
ACR122U, RC-S956) stay at 106 kbit/s: nfcpy configures them for higher Type A rates nowhere, and the
ACR122U's firmware interposes on the chip's commands."""

_PPS_TIMEOUT = 0.05  # seconds; a PPS response comes within the frame waiting time of the ATS


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


def _ats_bit_rates(ats: bytes) -> tuple[int, ...]:
    """Rates (kbit/s) the card takes in both directions, from the ATS's TA(1) (ISO/IEC 14443-4 §5.2.4)."""
    if len(ats) < 3 or not ats[1] & 0x10:  # no TA(1): 106 kbit/s only
        return (106,)
    ta = ats[2]
    rates = [106]
    for rate, ds, dr in ((212, 0x10, 0x01), (424, 0x20, 0x02), (848, 0x40, 0x04)):
        if ta & ds and ta & dr:
            rates.append(rate)
    return tuple(rates)


def _ats_frame_size(ats: bytes) -> int | None:
    if len(ats) < 2:
        return None
    return (16, 24, 32, 40, 48, 64, 96, 128, 256)[min(ats[1] & 0x0F, 8)]


class NFCTransport(CardTransport):
    """A connection to an ISO 14443-4 card through nfcpy.

    ``path`` is an nfcpy device path: ``usb``, ``usb:054c:06c3``, ``tty:USB0:pn532``, ``udp:host:port``.
    Link failures (timeouts, broken link, ISO-DEP protocol errors) become :class:`CardRemovedError`;
    :meth:`reconnect` waits for the card to be presented again (a new activation: the card lost power).
    """

    def __init__(self, path: str = "usb", *, timeout: float = 10.0,
                 targets: tuple[str, ...] = DEFAULT_TARGETS, clf: Any = None,
                 max_bit_rate: int = 848) -> None:
        self.path = path
        self.targets = targets
        self.max_bit_rate = max_bit_rate
        self.bit_rate = 106
        """kbit/s the card and the reader use now (106 until a PPS succeeded)."""
        self.frame_size: int | None = None
        """The card's maximum frame size (FSC, bytes) from its ATS, when nfcpy saw one."""
        self.bit_rate_note = ""
        """Why the link stayed at a lower rate than the card announced (empty when it did not)."""
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
        self.bit_rate = 106
        self.frame_size = _ats_frame_size(self.ats)
        if isinstance(tag, nfc.tag.tt4.Type4ATag):
            self._raise_bit_rate(timeout=max(0.1, deadline - time.monotonic()))

    def reader_bit_rates(self) -> tuple[int, ...]:
        """The Type A rates this transport negotiates with the reader in use (see READER_BIT_RATES)."""
        device = getattr(self._clf, "device", None)
        driver = type(device).__module__.rsplit(".", 1)[-1] if device is not None else ""
        return READER_BIT_RATES.get(driver, (106,))

    def _raise_bit_rate(self, *, timeout: float) -> None:
        """PPS to the highest rate the card (ATS TA(1)) and the reader both take; 106 kbit/s on failure."""
        card = _ats_bit_rates(self.ats)
        rates = [r for r in self.reader_bit_rates() if r in card and 106 < r <= self.max_bit_rate]
        if not rates:
            if len(card) > 1 and self.max_bit_rate > 106:
                self.bit_rate_note = (f"the card offers up to {max(card)} kbit/s; this reader is driven "
                                      "at 106 kbit/s")
            return
        rate = max(rates)
        index = {212: 1, 424: 2, 848: 3}[rate]  # the divisor D = 2**index, the same both ways
        pps = bytes([0xD0, 0x11, (index << 2) | index])  # PPSS (CID 0), PPS0 (PPS1 follows), DSI|DRI
        target = self._clf.target
        try:
            answer = self._clf.exchange(bytearray(pps), _PPS_TIMEOUT)
        except Exception:  # nfcpy's CommunicationError family, or the driver's own error
            answer = None
        if answer is None or bytes(answer) != pps[:1]:
            # the card may or may not have switched: activate it again and stay at 106 kbit/s
            self._fall_back(f"the card did not accept {rate} kbit/s (PPS)", timeout)
            return
        target.brty = f"{rate}A"
        try:
            alive = bool(self._tag.is_present)  # an ISO-DEP presence check at the new rate
        except Exception:
            alive = False
        if not alive:
            self._fall_back(f"the link failed at {rate} kbit/s", timeout)
            return
        self.bit_rate = rate
        self.bit_rate_note = ""

    def _fall_back(self, why: str, timeout: float) -> None:
        """Activate the card again at 106 kbit/s; later re-activations (after a tag loss) stay there."""
        self.max_bit_rate = 106
        self._tag = None
        self._connect(timeout)
        self.bit_rate_note = f"{why}; reading at 106 kbit/s"

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
        return f"NFCTransport(path={self.path!r}, bit_rate={self.bit_rate})"
