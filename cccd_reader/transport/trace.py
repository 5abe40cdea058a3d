"""APDU traces: record any Transport to versioned JSON Lines, replay them byte for byte.

The format is documented in docs/trace-format.md. In short: a header line, then one line per event in
order: ``apdu`` (command and response hex, time), ``random`` (bytes the terminal drew), ``error`` (the
link failed), ``reconnect``, ``note``; and an ``end`` line with totals. Because every random value the
terminal uses comes from one ``random_bytes`` callable, recording those draws lets
:class:`ReplayTransport` hand them back (:attr:`ReplayTransport.random_bytes`), so a BAC or PACE run
replays with the exact same commands, and the first command that differs raises
:class:`~cccd_reader.errors.TraceMismatchError` with a hex diff.

Redaction (``redact=True``) keeps the shape of a session (command headers, lengths, status words, timing)
and drops response data, command data and random draws: response data is personal data, and command data
plus the random draws of a BAC run would let anyone test guesses of the MRZ key offline.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from cccd_reader import errors
from cccd_reader.errors import InputError, ParseError, TraceMismatchError, TransportError
from cccd_reader.transport.base import (
    CardTransport,
    RandomBytes,
    Transport,
    WrappingTransport,
    default_random_bytes,
)

TRACE_FORMAT = "cccd-trace"
TRACE_VERSION = 1
MAX_TRACE_LINE = 1 << 20  # a line holds at most one extended APDU pair; refuse anything far larger

PathOrStream = str | os.PathLike[str] | IO[str]




def _now_utc() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _hex(data: bytes | bytearray | None) -> str | None:
    return None if data is None else bytes(data).hex().upper()


class RecordingTransport(WrappingTransport):
    """A Transport that forwards to ``inner`` and writes every exchange to a JSON Lines trace.

    ``path`` is a file path (opened, truncated and closed by :meth:`close`) or an open text stream (left
    open). ``header`` adds fields to the header line (e.g. ``{"read": ["DG1", "DG2"]}``); ``atr``/``ats``
    are taken from it or from the inner transport's ``atr``/``ats`` attributes when present. ``layer``
    says what is recorded: ``"wire"`` (below secure messaging, the default) or ``"plain"``.
    """

    def __init__(
        self,
        inner: Transport,
        path: PathOrStream,
        *,
        redact: bool = False,
        header: dict[str, Any] | None = None,
        layer: str = "wire",
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        super().__init__(inner)
        self.redact = redact
        self._clock = clock
        self._owns = isinstance(path, str | os.PathLike)
        if isinstance(path, str | os.PathLike):
            # a trace holds the card's data (and the CAN is in the ID number): owner-only, 0600
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with contextlib.suppress(OSError):
                os.fchmod(fd, 0o600)
            self._out: IO[str] = os.fdopen(fd, "w", encoding="utf-8")  # closed by close()
        else:
            self._out = path
        self._t0 = clock()
        self.exchanges = 0
        self.random_draws = 0
        self.closed = False
        extra = dict(header or {})
        head: dict[str, Any] = {
            "type": "header",
            "format": TRACE_FORMAT,
            "version": TRACE_VERSION,
            "created": _now_utc(),
            "transport": type(inner).__name__,
            "layer": layer,
            "redacted": redact,
            "atr": extra.pop("atr", None) or _hex(self.inner.atr or None),
            "ats": extra.pop("ats", None) or _hex(getattr(inner, "ats", None)),
        }
        if isinstance(head["atr"], bytes | bytearray):
            head["atr"] = _hex(head["atr"])
        if isinstance(head["ats"], bytes | bytearray):
            head["ats"] = _hex(head["ats"])
        head.update(extra)
        self._header_atr = head["atr"] if isinstance(head["atr"], str) else None
        self._write(head)

    def __repr__(self) -> str:
        return f"RecordingTransport(exchanges={self.exchanges}, redacted={self.redact})"

    def _ms(self) -> float:
        return round((self._clock() - self._t0) * 1000.0, 3)

    def _write(self, obj: dict[str, Any]) -> None:
        if self.closed:
            raise TransportError("the trace was closed")
        self._out.write(json.dumps(obj, separators=(",", ":")) + "\n")
        self._out.flush()

    def _command(self, apdu: bytes) -> dict[str, Any]:
        if self.redact:
            return {"c": _hex(apdu[:4]), "c_len": len(apdu)}
        return {"c": _hex(apdu)}

    def transmit(self, apdu: bytes) -> bytes:
        index = self.exchanges
        self.exchanges += 1
        start = self._ms()
        try:
            raw = self.inner.transmit(apdu)
        except TransportError as exc:
            self._write({"type": "error", "i": index, "t": start, **self._command(apdu),
                         "error": type(exc).__name__, "message": str(exc)})
            raise
        line: dict[str, Any] = {"type": "apdu", "i": index, "t": start, "ms": round(self._ms() - start, 3),
                                **self._command(apdu)}
        if self.redact:
            line["r_len"] = max(0, len(raw) - 2)
        else:
            line["r"] = _hex(raw)
        line["sw"] = _hex(raw[-2:]) if len(raw) >= 2 else None
        self._write(line)
        return raw

    def record_random(self, data: bytes) -> None:
        """Log bytes the terminal drew (only their count when redacting)."""
        self.random_draws += 1
        line: dict[str, Any] = {"type": "random", "n": len(data), "t": self._ms()}
        if not self.redact:
            line["hex"] = _hex(data)
        self._write(line)

    def random_source(self, source: RandomBytes | None = None) -> RandomBytes:
        """A ``random_bytes`` that draws from ``source`` (default: the OS) and records every draw."""
        return recording_random(source or default_random_bytes, self)

    def note(self, text: str) -> None:
        """Mark a step ("BAC", "DG2"). Never put personal data or keys in a note."""
        self._write({"type": "note", "t": self._ms(), "text": str(text)})

    @property
    def atr(self) -> bytes:
        if self.inner.atr:
            return self.inner.atr
        try:
            return bytes.fromhex(self._header_atr or "")
        except ValueError:
            return b""

    def reconnect(self, timeout: float | None = None) -> None:
        self._write({"type": "reconnect", "t": self._ms()})
        self.inner.reconnect(timeout)

    def close(self, **summary: Any) -> None:
        """Write the ``end`` line (totals plus ``summary``, e.g. ``files=[...]``) and close an owned file.
        The recorded link stays open: it belongs to whoever opened it."""
        if self.closed:
            return
        self._write({"type": "end", "exchanges": self.exchanges, "random_draws": self.random_draws,
                     "ms": self._ms(), **summary})
        self.closed = True
        if self._owns:
            self._out.close()


def recording_random(source: RandomBytes, recorder: RecordingTransport) -> RandomBytes:
    """Wrap a ``random_bytes`` so every draw is also written to ``recorder``'s trace."""

    def random_bytes(n: int) -> bytes:
        data = source(n)
        recorder.record_random(data)
        return data

    return random_bytes


def _lines(path: PathOrStream) -> Iterator[str]:
    if isinstance(path, str | os.PathLike):
        try:
            with open(path, encoding="utf-8") as fh:
                yield from fh
        except OSError as exc:
            raise InputError(f"cannot read the trace file: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ParseError("the trace file is not UTF-8 text", file="trace") from None
        return
    yield from path


def read_trace(path: PathOrStream) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Parse a trace: (header, events). Raises :class:`ParseError` for anything that is not a v1 trace."""
    header: dict[str, Any] | None = None
    events: list[dict[str, Any]] = []
    for number, line in enumerate(_lines(path), 1):
        if len(line) > MAX_TRACE_LINE:
            raise ParseError("line too long", file="trace", offset=number)
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            raise ParseError(f"line {number} is not JSON", file="trace") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
            raise ParseError(f"line {number} is not a trace event", file="trace")
        if header is None:
            if obj["type"] != "header" or obj.get("format") != TRACE_FORMAT:
                raise ParseError("the first line is not a cccd-trace header", file="trace")
            version = obj.get("version")
            if not isinstance(version, int) or version > TRACE_VERSION or version < 1:
                raise ParseError(f"unsupported trace version {version!r} (this library reads 1)",
                                 file="trace")
            header = obj
            continue
        events.append(obj)
    if header is None:
        raise ParseError("empty trace", file="trace")
    return header, events


def _unhex(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise ParseError(f"{what} is not a hex string", file="trace")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise ParseError(f"{what} is not valid hex", file="trace") from None


def hex_diff(expected: bytes, got: bytes) -> str:
    """Two hex lines with a caret under the first differing byte."""
    at = next((i for i, (a, b) in enumerate(zip(expected, got, strict=False)) if a != b),
              min(len(expected), len(got)))
    return (f"first difference at byte {at}\n"
            f"  expected {expected.hex().upper()}\n"
            f"  received {got.hex().upper()}\n"
            f"           {'  ' * at}^^")


class ReplayTransport(CardTransport):
    """A Transport that answers from a recorded trace and insists on the same commands.

    Pass :attr:`random_bytes` to the protocol (``perform_bac(t, key, random_bytes=t.random_bytes)``) so
    the terminal draws the recorded values and sends the recorded commands.
    """

    def __init__(self, path: PathOrStream) -> None:
        self.header, events = read_trace(path)
        if self.header.get("redacted"):
            raise ParseError("a redacted trace has no response data and cannot be replayed", file="trace")
        self._events: list[dict[str, Any]] = []
        self._random: list[bytes] = [_unhex(h, "header random") for h in self.header.get("random", [])]
        for ev in events:
            kind = ev["type"]
            if kind == "random":
                self._random.append(_unhex(ev.get("hex"), "random draw"))
            elif kind in ("apdu", "error", "reconnect"):
                if kind != "reconnect":
                    ev = {**ev, "c": _unhex(ev.get("c"), "command")}
                if kind == "apdu":
                    ev["r"] = _unhex(ev.get("r"), "response")
                self._events.append(ev)
        self._pos = 0
        self._rpos = 0

    @classmethod
    def from_pairs(
        cls,
        pairs: Iterable[tuple[bytes | str, bytes | str]],
        *,
        random: Iterable[bytes | str] = (),
        atr: bytes = b"",
    ) -> ReplayTransport:
        """A replay of ``(command, response)`` pairs (bytes or hex text; the response ends with SW1 SW2),
        with the terminal's ``random`` draws in order: a whole PACE run from published values, no file."""
        replay = cls.__new__(cls)
        replay.header = {"type": "header", "format": TRACE_FORMAT, "version": TRACE_VERSION,
                         "atr": bytes(atr).hex().upper() or None}
        replay._events = []
        for index, pair in enumerate(pairs):
            try:
                command, response = pair
            except (TypeError, ValueError):
                raise InputError(f"pair #{index} is not a (command, response) pair") from None
            replay._events.append({"type": "apdu", "i": index, "c": _pair_bytes(command, "command", index),
                                   "r": _pair_bytes(response, "response", index)})
        replay._random = [_pair_bytes(value, "random draw", i) for i, value in enumerate(random)]
        replay._pos = 0
        replay._rpos = 0
        return replay

    def __repr__(self) -> str:
        return f"ReplayTransport(position={self._pos}/{len(self._events)})"

    @property
    def remaining(self) -> int:
        return len(self._events) - self._pos

    def transmit(self, apdu: bytes) -> bytes:
        apdu = bytes(apdu)
        index = self._pos
        if index >= len(self._events):
            raise TraceMismatchError(f"the trace has no exchange #{index}; "
                                     f"the reader sent {apdu.hex().upper()}")
        ev = self._events[index]
        if ev["type"] == "reconnect":
            raise TraceMismatchError(f"the trace reconnects before exchange #{index}; "
                                     "the reader sent a command")
        if ev["c"] != apdu:
            raise TraceMismatchError(f"command #{index} differs from the trace: " + hex_diff(ev["c"], apdu))
        self._pos += 1
        if ev["type"] == "error":
            cls = getattr(errors, str(ev.get("error")), None)
            if not (isinstance(cls, type) and issubclass(cls, TransportError)):
                cls = TransportError
            raise cls(f"replayed: {ev.get('message', 'link failure')}")
        response: bytes = ev["r"]
        return response

    def random_bytes(self, n: int) -> bytes:
        """The recorded random draws, in order; a draw of another size is a mismatch."""
        if self._rpos >= len(self._random):
            raise TraceMismatchError(f"the trace has no more random draws (asked for {n} bytes)")
        value = self._random[self._rpos]
        if len(value) != n:
            raise TraceMismatchError(f"random draw #{self._rpos} was {len(value)} bytes in the trace, "
                                     f"the reader asked for {n}")
        self._rpos += 1
        return value

    @property
    def atr(self) -> bytes:
        """The ATR recorded in the header (so a replay makes the recording's read-size decisions)."""
        value = self.header.get("atr")
        if isinstance(value, str):
            try:
                return bytes.fromhex(value)
            except ValueError:
                return b""
        return b""

    @property
    def can_reconnect(self) -> bool:
        return True

    def reconnect(self, timeout: float | None = None) -> None:
        if self._pos < len(self._events) and self._events[self._pos]["type"] == "reconnect":
            self._pos += 1
            return
        raise TraceMismatchError(f"the reader reconnected, but the trace continues with "
                                 f"exchange #{self._pos}")

    def assert_complete(self) -> None:
        """Raise when the reader stopped before the end of the trace (it skipped recorded steps)."""
        if self.remaining or self._rpos < len(self._random):
            raise TraceMismatchError(f"replay stopped early: {self.remaining} exchanges and "
                                     f"{len(self._random) - self._rpos} random draws left")


def _pair_bytes(value: bytes | str, what: str, index: int) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        try:
            return bytes.fromhex(value)
        except ValueError:
            raise InputError(f"{what} #{index} is not hex") from None
    raise InputError(f"{what} #{index} must be bytes or hex text")
