"""The service's core, without the web layer: readers and their cards, one read per reader, events.

:class:`ReadService` runs reads in worker threads (the read is blocking I/O on a reader); every change it
sees (a reader attached or removed, a card placed or taken off, a read's progress, its result) is
published on an :class:`EventHub`, which hands it to each WebSocket subscriber's asyncio queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cccd_reader.errors import (
    AccessDenied,
    CardRemovedError,
    CCCDError,
    InputError,
    KeyInputError,
    NoCardError,
    QRBackendUnavailable,
    QRNotFoundError,
    ReaderBusyError,
    ReaderNotFoundError,
    ReadError,
    TransportError,
)

from .readers import Link, ReaderBackend, ReaderState
from .security import RefusalLimiter

log = logging.getLogger("cccd_reader.serve")

PROTOCOL_VERSION = 1
"""Version of the HTTP/WebSocket protocol (docs/serve.md). Paths carry it: ``/v1/...``."""

STEPS = ("probe", "card_access", "access", "files", "chip_auth", "active_auth", "passive_auth", "qr_check")
"""The read's steps in order (a page sizes its progress bar with them)."""

MAX_WAIT = 60.0
"""The longest a request may ask the service to wait for a card."""


class ServeError(CCCDError):
    """A request the service answers with an error: ``code`` (stable, for programs), ``status`` (HTTP),
    the library's one-line message, and what else a client needs (the failed step, the partial record,
    seconds to wait before trying again)."""

    def __init__(self, code: str, message: str, *, status: int, step: str | None = None,
                 record: dict[str, Any] | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.step = step
        self.record = record
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": str(self)}
        if self.step:
            err["step"] = self.step
        if self.retry_after is not None:
            err["retry_after"] = round(self.retry_after, 1)
        out: dict[str, Any] = {"error": err}
        if self.record is not None:
            out["record"] = self.record
        return out


# library error -> (code, HTTP status); the first match wins, so subclasses come first
ERROR_TABLE: list[tuple[type[BaseException], str, int]] = [
    (AccessDenied, "access_denied", 422),
    (ReaderBusyError, "busy", 409),
    (ReaderNotFoundError, "no_reader", 503),
    (NoCardError, "no_card", 504),
    (CardRemovedError, "card_removed", 502),
    (QRNotFoundError, "bad_input", 400),
    (QRBackendUnavailable, "bad_input", 400),
    (InputError, "bad_input", 400),
    (TransportError, "card_error", 502),
    (CCCDError, "card_error", 502),
]


def error_for(exc: BaseException) -> tuple[str, int]:
    for cls, code, status in ERROR_TABLE:
        if isinstance(exc, cls):
            return code, status
    return "card_error", 502


# --- requests -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadRequest:
    """A validated read request (see docs/serve.md for the JSON)."""

    key: Any
    key_count: int
    reader: str | None = None
    files: tuple[str, ...] | None = None
    portrait: bool = False
    wait: float | None = None
    access: str = "auto"

    @classmethod
    def from_json(cls, body: Any) -> ReadRequest:
        if not isinstance(body, dict):
            raise InputError("the request body is a JSON object")
        known = {"can", "qr", "mrz", "reader", "files", "portrait", "wait", "access"}
        unknown = sorted(set(body) - known)
        if unknown:
            raise InputError(f"unknown field(s): {', '.join(unknown)[:200]}")
        sources = [k for k in ("can", "qr", "mrz") if body.get(k) not in (None, "")]
        if len(sources) != 1:
            raise InputError("give exactly one access key: 'can', 'qr' or 'mrz'")
        key, count = _key_from(sources[0], body[sources[0]])
        reader = body.get("reader")
        if reader is not None and (not isinstance(reader, str) or len(reader) > 200):
            raise InputError("'reader' is a reader name")
        files = body.get("files")
        if files is not None:
            if not isinstance(files, list) or not files or len(files) > 20 or \
                    not all(isinstance(f, str) and 0 < len(f) <= 16 for f in files):
                raise InputError("'files' is a list of file names such as [\"DG1\", \"DG2\", \"DG13\"]")
            files = tuple(files)
        portrait = body.get("portrait", False)
        if not isinstance(portrait, bool):
            raise InputError("'portrait' is true or false")
        wait = body.get("wait")
        if wait is not None:
            if isinstance(wait, bool) or not isinstance(wait, int | float) or not 0 <= wait <= MAX_WAIT:
                raise InputError(f"'wait' is a number of seconds from 0 to {MAX_WAIT:g}")
            wait = float(wait)
        access = body.get("access", "auto")
        if access not in ("auto", "pace", "bac"):
            raise InputError("'access' is 'auto', 'pace' or 'bac'")
        return cls(key=key, key_count=count, reader=reader, files=files, portrait=portrait, wait=wait,
                   access=access)


def _key_from(kind: str, value: Any) -> tuple[Any, int]:
    """The access key and how many keys it stands for (a QR payload gives the CAN and MRZ candidates)."""
    from cccd_reader.keys import CANKey, MRZKey, keys_from_qr, mrz_key_from_mrz

    if kind == "can":
        if not isinstance(value, str):
            raise KeyInputError("'can' is a string of 6 digits")
        text = value.strip()
        if len(text) == 12 and text.isdigit():  # the whole ID number: its last 6 digits are the CAN
            text = text[-6:]
        return CANKey(text), 1
    if kind == "qr":
        if not isinstance(value, str) or len(value) > 2000:
            raise InputError("'qr' is the QR code's text")
        from cccd_reader.qr.payload import parse_qr_payload

        qr = parse_qr_payload(value)
        return qr, max(1, len(keys_from_qr(qr)))
    if isinstance(value, str):
        if len(value) > 200:
            raise InputError("'mrz' is the MRZ text (three lines of 30 characters)")
        return mrz_key_from_mrz(value.replace("\\n", "\n")), 1
    if isinstance(value, dict):
        try:
            doc = value["document_number"]
            dob = _dt.date.fromisoformat(value["date_of_birth"])
            doe_text = value.get("date_of_expiry")
            doe = _dt.date.fromisoformat(doe_text) if doe_text else None
        except (KeyError, TypeError, ValueError) as exc:
            raise KeyInputError("'mrz' is the MRZ text or {document_number, date_of_birth, date_of_expiry} "
                                "with ISO dates (date_of_expiry null for a card without expiry)") from exc
        return MRZKey(str(doc), dob, doe), 1
    raise KeyInputError("'mrz' is the MRZ text or an object with its three fields")


# --- events -------------------------------------------------------------------------------------------------


class EventHub:
    """Fans events out from any thread to the asyncio queues of the WebSocket subscribers.

    A subscriber that does not keep up loses its oldest events, never blocks a read."""

    def __init__(self, queue_size: int = 256) -> None:
        self.queue_size = queue_size
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]] = set()
        self._lock = threading.Lock()
        self._seq = itertools.count(1)

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        """A queue of events for the calling coroutine's loop."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self.queue_size)
        with self._lock:
            self._subscribers.add((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with self._lock:
            self._subscribers = {s for s in self._subscribers if s[1] is not queue}

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            event = {**event, "seq": next(self._seq), "time": round(time.time(), 3)}
            targets = list(self._subscribers)
        for loop, queue in targets:
            with contextlib.suppress(RuntimeError):  # the loop is closing
                loop.call_soon_threadsafe(_offer, queue, event)


def _offer(queue: asyncio.Queue[dict[str, Any]], event: dict[str, Any]) -> None:
    if queue.full():
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
    queue.put_nowait(event)


# --- the service --------------------------------------------------------------------------------------------


ReadFunction = Callable[..., Any]


class ReadService:
    """Readers, their cards, and reads: one at a time per reader.

    ``trust`` is the trust store passed to every read; ``files``/``access`` are the defaults of a request
    that names none; ``wait`` is how long a read waits for a card by default. ``recovery_timeout`` bounds
    how long a read waits for a card that left mid-read to come back.
    """

    def __init__(self, backend: ReaderBackend, *, trust: Any = None, files: Sequence[str] | None = None,
                 access: str = "auto", wait: float = 10.0, recovery_timeout: float | None = None,
                 limiter: RefusalLimiter | None = None, hub: EventHub | None = None,
                 read_function: ReadFunction | None = None) -> None:
        self.backend = backend
        self.trust = trust
        self.files = tuple(files) if files else None
        self.access = access
        self.wait = min(max(0.0, wait), MAX_WAIT)
        self.recovery_timeout = recovery_timeout
        self.limiter = limiter or RefusalLimiter()
        self.hub = hub or EventHub()
        self._read_function = read_function
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._state_lock = threading.Lock()
        self._known: dict[str, ReaderState] = {}
        self._placements: dict[str, int] = {}
        self._available = True
        self._problem: str | None = None
        self._ids = itertools.count(1)
        self.last: dict[str, Any] | None = None

    # -- readers ------------------------------------------------------------------------------------------

    def _lock_for(self, name: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(name, threading.Lock())

    def busy(self, name: str) -> bool:
        return self._lock_for(name).locked()

    def card_id(self, name: str) -> str:
        """Identifies one placement of a card on a reader (the unit of rate limiting)."""
        with self._state_lock:
            return f"{name}#{self._placements.get(name, 0)}"

    def refresh(self) -> list[ReaderState]:
        """List the readers, publish what changed since the last look, and return the list."""
        try:
            states = self.backend.list()
            problem = None
        except ReaderNotFoundError as exc:  # the reader service itself went away
            states, problem = [], str(exc)
        except Exception as exc:  # a driver hiccup: keep what was known rather than report removals
            log.warning("listing the readers failed: %s", type(exc).__name__)
            with self._state_lock:
                self._problem = f"the readers could not be listed ({type(exc).__name__})"
                return list(self._known.values())
        events: list[dict[str, Any]] = []
        with self._state_lock:
            self._problem = problem
            now = {s.name: s for s in states}
            for name, old in list(self._known.items()):
                if name not in now:
                    if old.card_present:
                        events.append({"type": "card_removed", "reader": name})
                    events.append({"type": "reader_removed", "reader": name})
                    del self._known[name]
            for name, state in now.items():
                old_state = self._known.get(name)
                if old_state is None:
                    events.append({"type": "reader_added", "reader": name, "kind": state.kind})
                was = old_state.card_present if old_state else False
                if state.card_present and not was:
                    self._placements[name] = self._placements.get(name, 0) + 1
                    events.append({"type": "card_placed", "reader": name})
                elif was and not state.card_present:
                    events.append({"type": "card_removed", "reader": name})
                self._known[name] = state
            removed_from = {e["reader"] for e in events if e["type"] == "card_removed"}
            if self.last is not None and self.last.get("reader") in removed_from:
                # the person took the card: what was read from it is no longer kept here
                self.last = None
        for event in events:
            self.hub.publish(event)
        return states

    def status(self) -> dict[str, Any]:
        from cccd_reader import __version__

        states = self.refresh()
        readers = [{"name": s.name, "kind": s.kind, "card_present": s.card_present, "busy": self.busy(s.name)}
                   for s in states]
        out: dict[str, Any] = {
            "service": "cccd-reader",
            "protocol": PROTOCOL_VERSION,
            "version": __version__,
            "readers": readers,
            "card_present": any(s.card_present for s in states),
            "reader_service": "ok" if self._problem is None else "unavailable",
            "last_read": self.last.get("read_id") if self.last else None,
            "steps": list(STEPS),
        }
        if self._problem is not None:
            out["problem"] = self._problem
        return out

    def _choose(self, states: list[ReaderState], wanted: str | None) -> ReaderState:
        from cccd_reader.transport.pcsc import select_reader

        if not states:
            raise ReaderNotFoundError(self._problem or "no reader is connected")
        if wanted is not None:
            names = select_reader([s.name for s in states], wanted)
            if not names:
                raise ReaderNotFoundError("no reader matches the name given (see /v1/status)")
            return next(s for s in states if s.name == names[0])
        with_card = [s for s in states if s.card_present]
        for s in with_card:
            if not self.busy(s.name):
                return s
        return with_card[0] if with_card else states[0]

    # -- reads -------------------------------------------------------------------------------------------

    def read(self, request: ReadRequest) -> dict[str, Any]:
        """Read one card (blocking: run it in a worker thread). Returns the result object of the protocol;
        raises :class:`ServeError`."""
        read_id = f"r{next(self._ids)}"
        try:
            state = self._choose(self.refresh(), request.reader)
        except CCCDError as exc:
            raise self._error(exc) from None
        lock = self._lock_for(state.name)
        if not lock.acquire(blocking=False):
            log.info("read %s on %r refused: the reader is busy", read_id, state.name)
            raise ServeError("busy", "the reader is busy with another read; try again when it is done",
                             status=409)
        try:
            return self._read_locked(read_id, state.name, request)
        finally:
            lock.release()

    def _read_locked(self, read_id: str, reader: str, request: ReadRequest) -> dict[str, Any]:
        wait = self.wait if request.wait is None else request.wait
        card = self.card_id(reader)
        locked = self.limiter.retry_after(card)
        if locked > 0:
            raise self._limited(read_id, reader, locked)
        try:
            link = self.backend.open(reader, wait)
        except CCCDError as exc:
            raise self._failed(read_id, reader, exc) from None
        try:
            self.refresh()  # the card may have been placed while we waited: count that placement
            card = self.card_id(reader)
            locked = self.limiter.retry_after(card)
            if locked > 0:
                raise self._limited(read_id, reader, locked)
            return self._run(read_id, reader, link, card, request)
        finally:
            with contextlib.suppress(Exception):
                link.close()

    def _run(self, read_id: str, reader: str, link: Link, card: str, request: ReadRequest) -> dict[str, Any]:
        read_card: ReadFunction
        if self._read_function is not None:
            read_card = self._read_function
        else:
            from cccd_reader.read import read_card
        refused = 0

        def on_progress(ev: Any) -> None:
            nonlocal refused
            if ev.step == "access" and ev.event == "retry":
                refused += 1
            self.hub.publish({"type": "progress", "read_id": read_id, "reader": reader, "step": ev.step,
                              "event": ev.event, "file": ev.file, "done": ev.done, "total": ev.total,
                              "message": ev.message})

        self.hub.publish({"type": "read_started", "read_id": read_id, "reader": reader, "steps": list(STEPS)})
        log.info("read %s on %r started", read_id, reader)
        kwargs: dict[str, Any] = {"trust": self.trust, "progress": on_progress, "access": request.access,
                                  "files": list(request.files or self.files or ()) or None}
        if self.recovery_timeout is not None:
            kwargs["recovery_timeout"] = self.recovery_timeout
        started = time.perf_counter()
        try:
            record = read_card(link, request.key, **kwargs)
        except ReadError as exc:
            cause: BaseException = getattr(exc, "cause", None) or exc.__cause__ or exc
            partial = exc.partial.to_dict(include_portrait=request.portrait) \
                if exc.partial is not None and hasattr(exc.partial, "to_dict") else None
            if isinstance(cause, AccessDenied):
                lock = self.limiter.refused(card, max(refused, 1))
                if lock > 0:
                    log.warning("read %s on %r: access keys refused; the card is locked for %.0f s",
                                read_id, reader, lock)
            raise self._failed(read_id, reader, cause, message=str(exc), step=exc.step,
                               record=partial) from None
        except CCCDError as exc:
            raise self._failed(read_id, reader, exc) from None
        self.limiter.accepted(card)
        result = {"read_id": read_id, "reader": reader,
                  "record": record.to_dict(include_portrait=request.portrait)}
        self.last = result
        self.hub.publish({"type": "record", **result})
        log.info("read %s on %r: %s, verdict %s, %d files in %.2f s", read_id, reader,
                 "complete" if record.complete else "incomplete", record.security.verdict, len(record.files),
                 time.perf_counter() - started)
        return result

    def _limited(self, read_id: str, reader: str, seconds: float) -> ServeError:
        log.warning("read %s on %r refused: too many refused keys for this card (%.0f s left)",
                    read_id, reader, seconds)
        err = ServeError("rate_limited", "too many wrong access keys for this card: wait, or take the card "
                         "off the reader and put it back", status=429, retry_after=seconds)
        self.hub.publish({"type": "error", "read_id": read_id, "reader": reader, **err.to_dict()})
        return err

    def _failed(self, read_id: str, reader: str, exc: BaseException, *, message: str | None = None,
                step: str | None = None, record: dict[str, Any] | None = None) -> ServeError:
        code, status = error_for(exc)
        err = ServeError(code, message or str(exc), status=status, step=step, record=record)
        # the library's messages carry no personal data, so they may be logged as they are
        log.warning("read %s on %r failed (%s): %s", read_id, reader, code, err)
        self.hub.publish({"type": "error", "read_id": read_id, "reader": reader, **err.to_dict()})
        return err

    @staticmethod
    def _error(exc: BaseException) -> ServeError:
        code, status = error_for(exc)
        return ServeError(code, str(exc), status=status)
