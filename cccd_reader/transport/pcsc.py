"""PC/SC transport (pyscard): the primary way to reach a contactless reader.

Any CCID / PC/SC reader works (ACR122U, ACR1252U, Identiv/SCM, HID Omnikey, the ``vpcd`` virtual reader).
The low-level ``smartcard.scard`` API is used rather than pyscard's object layer because the status codes
it returns are what tell "no reader", "no card", "card removed" and "reader busy" apart, and each becomes
one of the library's own errors (:mod:`cccd_reader.errors`).

pyscard is an optional dependency (the ``[pcsc]`` extra); it is imported on first use.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
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
"""Seconds :meth:`PCSCTransport.reconnect` waits for the card to come back after a tag loss. A holder who
lifts the card off the reader notices and puts it back within a few seconds; beyond that the read fails."""

_POLL_MS = 250  # granularity of waits, so a KeyboardInterrupt is seen promptly
_MAX_GET_RESPONSE = 64  # bound on 61xx chaining: no LDS answer needs more than 64 x 256 bytes


def _scard() -> Any:
    try:
        from smartcard import scard
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ReaderNotFoundError(
            "PC/SC support needs pyscard: pip install 'cccd-reader[pcsc]' (and the pcscd service on Linux)"
        ) from exc
    return scard


def _code(hresult: int) -> int:
    return hresult & 0xFFFFFFFF


def _name(scard: Any, *names: str) -> set[int]:
    return {_code(getattr(scard, n)) for n in names if hasattr(scard, n)}


def map_error(hresult: int, what: str, *, connected: bool = False) -> TransportError:
    """Turn a PC/SC status code into the library's error. ``connected`` says whether a card handle was
    already open (then "no smart card" means the card went away, not that none was presented)."""
    scard = _scard()
    code = _code(hresult)
    try:
        text = scard.SCardGetErrorMessage(hresult)
    except Exception:  # pragma: no cover - message lookup is best effort
        text = ""
    detail = f"{what}: {text} (0x{code:08X})" if text else f"{what}: PC/SC error 0x{code:08X}"
    if code in _name(scard, "SCARD_E_NO_SERVICE", "SCARD_E_SERVICE_STOPPED", "SCARD_E_NO_READERS_AVAILABLE",
                     "SCARD_E_UNKNOWN_READER", "SCARD_E_READER_UNAVAILABLE", "SCARD_E_NO_SUCH_CERTIFICATE"):
        if code in _name(scard, "SCARD_E_NO_SERVICE", "SCARD_E_SERVICE_STOPPED"):
            detail += "; is the PC/SC service (pcscd) running?"
        return ReaderNotFoundError(detail)
    if code in _name(scard, "SCARD_E_SHARING_VIOLATION"):
        return ReaderBusyError(detail + "; another application is using the reader")
    removed = _name(scard, "SCARD_W_REMOVED_CARD", "SCARD_W_RESET_CARD", "SCARD_W_UNPOWERED_CARD",
                    "SCARD_W_UNRESPONSIVE_CARD", "SCARD_F_COMM_ERROR", "SCARD_E_COMM_DATA_LOST",
                    "SCARD_E_NOT_TRANSACTED", "SCARD_E_INVALID_HANDLE", "SCARD_E_READER_UNAVAILABLE")
    if code in removed:
        return CardRemovedError(detail + "; hold the card still on the reader")
    if code in _name(scard, "SCARD_E_NO_SMARTCARD", "SCARD_E_TIMEOUT", "SCARD_W_UNSUPPORTED_CARD"):
        if connected:
            return CardRemovedError(detail + "; hold the card still on the reader")
        return NoCardError(detail + "; put the card on the reader")
    return TransportError(detail)


@dataclass(frozen=True)
class ReaderInfo:
    """A PC/SC reader as listed to the user; ``atr`` is set when a card is present."""

    name: str
    card_present: bool
    atr: bytes | None = None
    kind: str = "pcsc"

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "name": self.name, "card_present": self.card_present,
                "atr": self.atr.hex().upper() if self.atr else None}


class _Context:
    """One PC/SC context, released on close (a context per transport keeps threads independent)."""

    def __init__(self) -> None:
        scard = _scard()
        hresult, self.handle = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != scard.SCARD_S_SUCCESS:
            raise map_error(hresult, "cannot reach the PC/SC service")

    def readers(self) -> list[str]:
        scard = _scard()
        hresult, readers = scard.SCardListReaders(self.handle, [])
        if _code(hresult) in _name(scard, "SCARD_E_NO_READERS_AVAILABLE"):
            return []
        if hresult != scard.SCARD_S_SUCCESS:
            raise map_error(hresult, "cannot list readers")
        return list(readers or [])

    def states(self, readers: list[str], timeout_ms: int = 0,
               previous: dict[str, int] | None = None) -> dict[str, tuple[int, bytes]]:
        scard = _scard()
        if not readers:
            return {}
        query = [(r, (previous or {}).get(r, scard.SCARD_STATE_UNAWARE)) for r in readers]
        hresult, result = scard.SCardGetStatusChange(self.handle, timeout_ms, query)
        if _code(hresult) in _name(scard, "SCARD_E_TIMEOUT"):
            return {r: ((previous or {}).get(r, 0), b"") for r in readers}
        if hresult != scard.SCARD_S_SUCCESS:
            raise map_error(hresult, "cannot query the readers")
        return {name: (state, bytes(atr or b"")) for name, state, atr in result}

    def close(self) -> None:
        scard = _scard()
        with contextlib.suppress(Exception):
            scard.SCardReleaseContext(self.handle)


def list_readers() -> list[ReaderInfo]:
    """The PC/SC readers and whether a card is on each. Raises ReaderNotFoundError when the PC/SC service
    is not running; returns an empty list when it runs without readers."""
    scard = _scard()
    ctx = _Context()
    try:
        names = ctx.readers()
        states = ctx.states(names)
        out = []
        for name in names:
            state, atr = states.get(name, (0, b""))
            present = bool(state & scard.SCARD_STATE_PRESENT) and not state & scard.SCARD_STATE_MUTE
            out.append(ReaderInfo(name, present, atr if present and atr else None))
        return out
    finally:
        ctx.close()


def select_reader(names: list[str], wanted: str | None) -> list[str]:
    """Readers matching ``wanted``: an index ("0"), an exact name, or a case-insensitive substring."""
    if wanted is None or wanted == "":
        return list(names)
    if wanted.isdigit() and int(wanted) < len(names):
        return [names[int(wanted)]]
    exact = [n for n in names if n == wanted]
    if exact:
        return exact
    return [n for n in names if wanted.lower() in n.lower()]


def _is_extended(apdu: bytes) -> bool:
    """ISO 7816-4: an extended-length APDU has a zero byte after the header and at least 7 bytes."""
    return len(apdu) >= 7 and apdu[4] == 0


class PCSCTransport(CardTransport):
    """A connection to the card on one PC/SC reader.

    ``transmit`` sends an APDU as it is (short or extended) and returns data + SW1 SW2; a ``61xx``
    answer is completed with GET RESPONSE, and on T=0 a ``6Cxx`` is re-sent with the corrected Le.
    ``extended_length`` is ``None`` until something learns it: a reader that cannot carry an extended
    APDU fails it with a PC/SC error or answers 6700, and the file reader then steps down to short reads.
    """

    def __init__(self, reader: str | None = None, *, timeout: float = 0.0, exclusive: bool = False) -> None:
        self._ctx = _Context()
        self._wanted = reader
        self._exclusive = exclusive
        self._hcard: Any = None
        self.reader_name: str = ""
        self.protocol: str = ""
        self._atr: bytes = b""
        self._extended_length: bool | None = None
        self.closed = False
        try:
            self._connect(timeout)
        except BaseException:
            self._ctx.close()
            raise

    # -- connection -------------------------------------------------------------------------------------

    def _candidates(self) -> list[str]:
        names = self._ctx.readers()
        if not names:
            raise ReaderNotFoundError("no PC/SC reader is connected")
        chosen = select_reader(names, self._wanted)
        if not chosen:
            raise ReaderNotFoundError("no PC/SC reader matches the name given (see `cccd-read readers`)")
        return chosen

    def wait_for_card(self, timeout: float) -> str:
        """Block until a card is present on one of the candidate readers (``timeout`` seconds, 0 = look
        once); return that reader's name."""
        scard = _scard()
        deadline = time.monotonic() + max(0.0, timeout)
        previous: dict[str, int] = {}
        while True:
            readers = self._candidates()
            states = self._ctx.states(readers, 0 if not previous else _POLL_MS, previous)
            for name in readers:
                state, _atr = states.get(name, (0, b""))
                if state & scard.SCARD_STATE_PRESENT and not state & scard.SCARD_STATE_MUTE:
                    return name
            previous = {n: s & ~scard.SCARD_STATE_CHANGED for n, (s, _a) in states.items()}
            if time.monotonic() >= deadline:
                raise NoCardError("no card on the reader; put the card on the reader and hold it still")

    def wait_for_removal(self, timeout: float) -> bool:
        """Block until the card leaves the reader (True) or ``timeout`` passes (False)."""
        scard = _scard()
        deadline = time.monotonic() + max(0.0, timeout)
        previous: dict[str, int] = {}
        while True:
            states = self._ctx.states([self.reader_name], 0 if not previous else _POLL_MS, previous)
            state, _atr = states.get(self.reader_name, (0, b""))
            if previous and not state & scard.SCARD_STATE_PRESENT:
                return True
            if not previous and state and not state & scard.SCARD_STATE_PRESENT:
                return True
            previous = {n: s & ~scard.SCARD_STATE_CHANGED for n, (s, _a) in states.items()}
            if time.monotonic() >= deadline:
                return False

    def _connect(self, timeout: float) -> None:
        scard = _scard()
        name = self.wait_for_card(timeout)
        share = scard.SCARD_SHARE_EXCLUSIVE if self._exclusive else scard.SCARD_SHARE_SHARED
        hresult, hcard, proto = scard.SCardConnect(
            self._ctx.handle, name, share, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
        if hresult != scard.SCARD_S_SUCCESS:
            raise map_error(hresult, "cannot connect to the card")
        self._hcard = hcard
        self._proto = proto
        self.reader_name = name
        self.protocol = "T=1" if proto == scard.SCARD_PROTOCOL_T1 else "T=0"
        hresult, _reader, _state, _proto, atr = scard.SCardStatus(hcard)
        self._atr = bytes(atr or b"") if hresult == scard.SCARD_S_SUCCESS else b""
        self._events = self._event_count()
        self.closed = False

    _LINK_ATTRIBUTES = (
        ("current_d", "SCARD_ATTR_CURRENT_D"), ("current_f", "SCARD_ATTR_CURRENT_F"),
        ("current_clock_khz", "SCARD_ATTR_CURRENT_CLK"), ("max_data_rate_bps", "SCARD_ATTR_MAX_DATA_RATE"),
        ("ifsc", "SCARD_ATTR_CURRENT_IFSC"), ("ifsd", "SCARD_ATTR_CURRENT_IFSD"),
        ("max_input", "SCARD_ATTR_MAXINPUT"),
    )

    def link_parameters(self) -> dict[str, int]:
        """What the reader reports about the link it negotiated (PC/SC part 3 attributes), by name.

        Only the attributes the driver answers are present: the rate divisor ``current_d`` and
        ``current_f``, ``max_data_rate_bps``, the frame sizes ``ifsc`` / ``ifsd``, ``max_input`` (the
        largest APDU it takes). Many contactless drivers answer none of the rate attributes (the
        ISO/IEC 14443 bit rate stays inside the reader); an empty dict then says "not exposed".
        """
        scard = _scard()
        out: dict[str, int] = {}
        if self._hcard is None:
            return out
        for key, name in self._LINK_ATTRIBUTES:
            attribute = getattr(scard, name, None)
            if attribute is None:
                continue
            try:
                hresult, value = scard.SCardGetAttrib(self._hcard, attribute)
            except Exception:  # the binding refuses an attribute it does not know: not exposed
                hresult, value = None, None
            if hresult == scard.SCARD_S_SUCCESS and value and len(value) <= 8:
                out[key] = int.from_bytes(bytes(value), "little")
        return out

    def _event_count(self) -> int | None:
        """pcsc-lite counts card insertions in the high 16 bits of a reader's event state; a change
        means the card was taken away and put back (or replaced)."""
        try:
            state, _atr = self._ctx.states([self.reader_name]).get(self.reader_name, (0, b""))
        except TransportError:
            return None
        return state >> 16

    @property
    def atr(self) -> bytes:
        return self._atr

    @property
    def extended_length(self) -> bool | None:
        return self._extended_length

    @property
    def can_reconnect(self) -> bool:
        return True

    def reconnect(self, timeout: float | None = None) -> None:
        """Wait (up to ``timeout`` s, default :data:`RECONNECT_TIMEOUT`) for the card to be back on the same
        reader and connect again. The card was powered off in between, so every session key is gone:
        re-authenticate."""
        if timeout is None:
            timeout = RECONNECT_TIMEOUT
        self._drop_handle()
        # the daemon sees a removal only when it next polls the reader: until then a new connection
        # would reach the stale card slot. Wait briefly for the insertion counter to move.
        settle = time.monotonic() + min(timeout, 1.0)
        while self._events is not None and time.monotonic() < settle:
            count = self._event_count()
            if count is None or count != self._events:
                break
            time.sleep(0.05)
        wanted, self._wanted = self._wanted, self.reader_name or self._wanted
        try:
            self._connect(timeout)
        finally:
            self._wanted = wanted

    def _drop_handle(self) -> None:
        scard = _scard()
        if self._hcard is not None:
            with contextlib.suppress(Exception):
                scard.SCardDisconnect(self._hcard, scard.SCARD_LEAVE_CARD)
            self._hcard = None

    def close(self) -> None:
        if not self.closed:
            self._drop_handle()
            self._ctx.close()
            self.closed = True

    # -- exchange ---------------------------------------------------------------------------------------

    def _raw(self, apdu: bytes) -> bytes:
        scard = _scard()
        if self._hcard is None:
            raise CardRemovedError("the card is not connected; call reconnect()")
        hresult, response = scard.SCardTransmit(self._hcard, self._proto, list(apdu))
        if hresult != scard.SCARD_S_SUCCESS:
            err = map_error(hresult, "exchange with the card failed", connected=True)
            if _is_extended(apdu) and not isinstance(err, CardRemovedError | ReaderNotFoundError):
                # the reader (or its driver) cannot carry an extended APDU: remember it, and answer as a
                # card would to a length it cannot handle (6700), so the file reader steps down
                self._extended_length = False
                return b"\x67\x00"
            raise err
        out = bytes(response)
        if len(out) < 2:
            raise CardRemovedError("the reader returned no status word; hold the card still on the reader")
        return out

    def transmit(self, apdu: bytes) -> bytes:
        apdu = bytes(apdu)
        response = self._raw(apdu)
        sw1, sw2 = response[-2], response[-1]
        if sw1 == 0x6C and self.protocol == "T=0" and len(apdu) >= 5:
            response = self._raw(apdu[:4] + apdu[4:-1] + bytes([sw2]))
            sw1, sw2 = response[-2], response[-1]
        data = response[:-2]
        rounds = 0
        while sw1 == 0x61 and rounds < _MAX_GET_RESPONSE:
            rounds += 1
            more = self._raw(bytes([apdu[0] & 0x03, 0xC0, 0x00, 0x00, sw2]))
            data += more[:-2]
            sw1, sw2 = more[-2], more[-1]
        if _is_extended(apdu):
            if sw1 == 0x67 and sw2 == 0x00:
                self._extended_length = False
            elif len(data) > 256 or len(apdu) > 261:
                self._extended_length = True
        return data + bytes([sw1, sw2])

    def __repr__(self) -> str:
        return f"PCSCTransport(reader={self.reader_name!r}, protocol={self.protocol!r})"
