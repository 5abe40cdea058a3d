"""The whole read of a CCCD chip as one explicit pipeline of steps.

``probe -> card_access -> access (PACE or BAC) -> files (from the SOD) -> chip_auth -> active_auth ->
passive_auth -> qr_check``. Every step records its APDUs, bytes, retries and time; a failure part-way
raises :class:`~cccd_reader.errors.ReadError` whose ``partial`` is the :class:`CardRecord` read so far
(with ``failed_step`` set), so a caller always gets what was read and learns which step failed.

Tag loss. Contactless reads fail when the card moves. When the link drops (``CardRemovedError``) or the
secure-messaging session dies (the chip forgets its keys when it loses power), the pipeline waits for the
card to come back (:data:`RECOVERY_TIMEOUT` seconds in all, at most :data:`MAX_RECOVERIES` times per
read), authenticates again with the key and protocol that worked, and resumes the interrupted file at
its offset. A card that comes back but cannot be opened the same way is a different card: ReadError.
To make sure no bytes from two different chips are spliced, every data group read across a recovery
must match its hash in EF.SOD (read first, before any data group), and an EF.SOD read across a recovery
must carry a valid signature; otherwise the read fails with ``ReadError`` and the bytes are dropped
from the partial record rather than returned.

Keys. ``key`` is one access key, a list tried in order, or a ``QRData`` (its :func:`keys_from_qr`
order: CAN first, then MRZ keys). A key the card refuses (AccessDenied) moves on to the next key; at most
:data:`MAX_KEY_ATTEMPTS` refused keys are tried per read, because chips may slow down or suspend access
after repeated wrong keys, and a loop of wrong guesses would only make that worse. PACE parameter sets
the card does not take (when EF.CardAccess is unreadable, the known CCCD profiles are tried) do not
count as refusals.

Verdict. ``security.genuine`` is true only when passive authentication passed (the SOD signature chains
to a trusted CSCA and every file read matches its hash) AND Chip Authentication or Active Authentication
passed (the chip holds the private key whose public key the SOD vouches for, so it is not a copy).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import json
import logging
import os
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cccd_reader.errors import (
    AccessDenied,
    CardError,
    CardRemovedError,
    CCCDError,
    ChipAuthenticationError,
    ConditionsNotSatisfied,
    FileNotFoundOnCard,
    InputError,
    InstructionNotSupported,
    KeyInputError,
    NoCardError,
    ParseError,
    PasswordTypeNotSupported,
    ReadError,
    SecureMessagingError,
    SecurityStatusNotSatisfied,
    TransportError,
    UnsupportedProtocol,
    VerificationError,
    WrongParameters,
)
from cccd_reader.model import to_jsonable
from cccd_reader.transport.base import RandomBytes, Transport

log = logging.getLogger(__name__)

MAX_KEY_ATTEMPTS = 4
"""Authentications tried per read at most (CAN + three MRZ expiry candidates)."""

MAX_RECOVERIES = 5
"""Tag losses recovered from per read at most; beyond that the link is too unstable to finish."""

RECOVERY_TIMEOUT = 30.0
"""Seconds, over the whole read, spent waiting for the card to come back after tag losses."""

STEPS = ("probe", "card_access", "access", "files", "chip_auth", "active_auth", "passive_auth", "qr_check")

# files the pipeline reads when the SOD cannot be read / does not list them
_DEFAULT_DGS = (1, 2, 13, 14, 15)
_EAC_PROTECTED = (3, 4)  # fingerprints / iris: Extended Access Control, not attempted without TA


# --- records ------------------------------------------------------------------------------------------


@dataclass
class StepStats:
    """Cost of one step: APDUs and bytes on the wire (secure-messaging overhead included)."""

    name: str
    apdus: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    retries: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "apdus": self.apdus, "bytes_sent": self.bytes_sent,
                "bytes_received": self.bytes_received, "retries": self.retries,
                "seconds": round(self.seconds, 6)}


@dataclass
class ReadStats:
    """What a read cost, per step and in total. ``recoveries`` counts tag losses recovered from."""

    steps: list[StepStats] = field(default_factory=list)
    recoveries: int = 0
    key_attempts: int = 0

    def step(self, name: str) -> StepStats:
        for s in self.steps:
            if s.name == name:
                return s
        s = StepStats(name)
        self.steps.append(s)
        return s

    @property
    def apdus(self) -> int:
        return sum(s.apdus for s in self.steps)

    @property
    def bytes_sent(self) -> int:
        return sum(s.bytes_sent for s in self.steps)

    @property
    def bytes_received(self) -> int:
        return sum(s.bytes_received for s in self.steps)

    @property
    def retries(self) -> int:
        return sum(s.retries for s in self.steps)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {"apdus": self.apdus, "bytes_sent": self.bytes_sent, "bytes_received": self.bytes_received,
                "retries": self.retries, "recoveries": self.recoveries, "key_attempts": self.key_attempts,
                "seconds": round(self.seconds, 6), "steps": [s.to_dict() for s in self.steps]}


PASSED = "passed"
FAILED = "failed"
NOT_SUPPORTED = "not_supported"  # the card does not offer it (no DG14 / DG15)
NOT_RUN = "not_run"  # the read stopped before the step, or it was skipped
UNKNOWN = "unknown"  # could not be judged (e.g. passive authentication could not run)
UNTRUSTED = "passed_untrusted"  # hashes and signature fine, but the signer does not chain to a trusted CSCA


@dataclass
class QRMismatch:
    """One field where the printed QR disagrees with the chip (values are not kept: personal data)."""

    field: str
    detail: str = "differs"

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "detail": self.detail}


@dataclass
class ReadSecurity:
    """How access was gained and what the authenticity checks said."""

    access_protocol: str | None = None  # "PACE" / "BAC"
    access_key: str | None = None  # "CAN" / "MRZ"
    access_detail: str | None = None  # e.g. the PACE protocol and parameters
    keys_tried: int = 0
    chip_auth: str = NOT_RUN
    active_auth: str = NOT_RUN
    passive_auth: str = NOT_RUN
    hashes_ok: bool | None = None  # every file read matches its SOD hash
    passive_detail: Any = None  # the PassiveAuthResult when available
    qr_checked: bool = False
    qr_mismatches: list[QRMismatch] = field(default_factory=list)
    qr_not_compared: list[str] = field(default_factory=list)  # QR fields the chip did not provide
    details: dict[str, str] = field(default_factory=dict)

    @property
    def genuine(self) -> bool:
        """Passive authentication passed AND Chip or Active Authentication passed."""
        return self.passive_auth == PASSED and PASSED in (self.chip_auth, self.active_auth)

    @property
    def qr_matches(self) -> bool | None:
        return None if not self.qr_checked else not self.qr_mismatches

    @property
    def verdict(self) -> str:
        """One word for people: ``genuine``, ``not-genuine`` (a check failed), ``mismatch`` (QR vs chip)
        or ``unverified`` (nothing failed, but not everything needed for "genuine" could be checked)."""
        if FAILED in (self.chip_auth, self.active_auth, self.passive_auth) or self.hashes_ok is False:
            return "not-genuine"
        if self.qr_mismatches:
            return "mismatch"
        return "genuine" if self.genuine else "unverified"

    def to_dict(self) -> dict[str, Any]:
        passive = self.passive_detail
        return {
            "verdict": self.verdict,
            "genuine": self.genuine,
            "access": {"protocol": self.access_protocol, "key": self.access_key,
                       "detail": self.access_detail, "keys_tried": self.keys_tried},
            "chip_authentication": self.chip_auth,
            "active_authentication": self.active_auth,
            "passive_authentication": self.passive_auth,
            "hashes_ok": self.hashes_ok,
            "passive_authentication_detail": to_jsonable(passive) if passive is not None else None,
            "qr_matches_chip": self.qr_matches,
            "qr_mismatches": [m.to_dict() for m in self.qr_mismatches],
            "qr_not_compared": list(self.qr_not_compared),
            "details": dict(self.details),
        }


@dataclass
class CardRecord:
    """Everything one read produced. ``files`` holds the raw bytes by name (``"DG1"``, ``"EF.SOD"``...).

    ``failed_step`` is set on a partial record (attached to a ReadError). ``repr`` shows no personal data.
    """

    identity: Any = None
    mrz: Any = None
    portrait: Any = None
    files: dict[str, bytes] = field(default_factory=dict)
    decoded: dict[str, Any] = field(default_factory=dict)
    security: ReadSecurity = field(default_factory=ReadSecurity)
    stats: ReadStats = field(default_factory=ReadStats)
    warnings: list[str] = field(default_factory=list)
    atr: bytes = b""
    failed_step: str | None = None
    error: str | None = None

    def __repr__(self) -> str:
        return (f"CardRecord(files={sorted(self.files)}, verdict={self.security.verdict!r}, "
                f"failed_step={self.failed_step!r})")

    @property
    def complete(self) -> bool:
        return self.failed_step is None

    def to_dict(self, *, include_files: bool = False, include_portrait: bool = True) -> dict[str, Any]:
        """JSON-ready values. Raw file bytes only with ``include_files`` (base64)."""
        out: dict[str, Any] = {
            "complete": self.complete,
            "failed_step": self.failed_step,
            "error": self.error,
            "identity": to_jsonable(self.identity) if self.identity is not None else None,
            "mrz": _mrz_dict(self.mrz),
            "portrait": (_portrait_dict(self.portrait, include_portrait)
                         if self.portrait is not None else None),
            "security": self.security.to_dict(),
            "files_read": sorted(self.files, key=_file_order),
            "stats": self.stats.to_dict(),
            "warnings": list(self.warnings),
            "atr": self.atr.hex().upper() if self.atr else None,
        }
        if include_files:
            out["files"] = {k: to_jsonable(v) for k, v in sorted(self.files.items())}
        return out

    def to_json(self, *, indent: int | None = 2, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(**kwargs), ensure_ascii=False, indent=indent)


def _file_order(name: str) -> tuple[int, str]:
    if name.startswith("DG") and name[2:].isdigit():
        return (int(name[2:]), name)
    return (0, name)


def _mrz_dict(mrz: Any) -> Any:
    if mrz is None:
        return None
    return to_jsonable(mrz)


def _portrait_dict(portrait: Any, include_image: bool) -> Any:
    data = to_jsonable(portrait)
    if not include_image and isinstance(data, dict):
        for k in ("image", "image_base64", "data", "image_data"):
            if k in data:
                data[k] = None
    return data


@dataclass(frozen=True)
class ProgressEvent:
    """Passed to the ``progress`` callback: a step starting / ending, or bytes of a file arriving."""

    step: str
    event: str  # "start", "bytes", "done", "skip", "retry"
    file: str | None = None
    done: int = 0
    total: int | None = None
    message: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


# --- the link: counts per step, knows how to come back -------------------------------------------------


class _Link:
    """The raw transport with accounting. Every APDU is charged to the current step."""

    def __init__(self, inner: Transport, stats: ReadStats) -> None:
        self.inner = inner
        self.stats = stats
        self.current = stats.step("probe")

    def transmit(self, apdu: bytes) -> bytes:
        self.current.apdus += 1
        self.current.bytes_sent += len(apdu)
        response = self.inner.transmit(apdu)
        self.current.bytes_received += len(response)
        return response

    @property
    def reconnectable(self) -> bool:
        return callable(getattr(self.inner, "reconnect", None))

    def reconnect(self, timeout: float) -> None:
        method = getattr(self.inner, "reconnect", None)
        if not callable(method):
            raise CardRemovedError("the link to the card was lost and this transport cannot reconnect")
        try:
            if _accepts_timeout(method):
                method(timeout=timeout)
            else:  # a wrapper (trace, fault injection) whose reconnect takes no timeout
                method()
        except NoCardError as exc:
            # after a tag loss "no card" means the card did not come back: report it as the loss it is
            raise CardRemovedError(f"the card did not come back within {timeout:.0f} s; hold it still on "
                                   "the reader and read it again") from exc

    def __getattr__(self, name: str) -> Any:  # extended_length, atr, ... of the inner transport
        return getattr(self.inner, name)


def _accepts_timeout(method: Callable[..., Any]) -> bool:
    import inspect

    try:
        params = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False
    return "timeout" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _session_dead(exc: BaseException) -> bool:
    """A secure-messaging failure after which the chip has dropped its keys: re-authenticate."""
    return isinstance(exc, SecureMessagingError)


# --- key normalisation ---------------------------------------------------------------------------------


def _keys_and_qr(key: Any) -> tuple[list[Any], Any]:
    from cccd_reader.keys import CANKey, MRZKey

    qr = None
    if hasattr(key, "id_number") and hasattr(key, "issue_date"):
        from cccd_reader.keys import keys_from_qr

        qr = key
        keys: list[Any] = list(keys_from_qr(key))
    elif isinstance(key, CANKey | MRZKey):
        keys = [key]
    elif isinstance(key, Iterable) and not isinstance(key, str | bytes):
        keys = list(key)
    else:
        raise KeyInputError("key must be a CANKey, an MRZKey, a list of them, or a QRData")
    if not keys:
        raise KeyInputError("no access key given")
    for k in keys:
        if not isinstance(k, CANKey | MRZKey):
            raise KeyInputError("every key must be a CANKey or an MRZKey")
    return keys, qr


# --- the pipeline ----------------------------------------------------------------------------------------


@dataclass
class _Access:
    protocol: str  # "PACE" / "BAC"
    key: Any
    pace_info: Any = None  # the PACEInfo that worked, reused on re-authentication


class _Pipeline:
    def __init__(self, transport: Transport, keys: list[Any], qr: Any, *, random_bytes: RandomBytes | None,
                 trust: Any, progress: ProgressCallback | None, files: Sequence[str | int] | None,
                 recovery_timeout: float, chunk_size: int | None, extended_length: bool | None,
                 clock: Callable[[], float], access: str = "auto") -> None:
        if access not in ("auto", "pace", "bac"):
            raise InputError("access must be 'auto', 'pace' or 'bac'")
        self.access_mode = access
        self.record = CardRecord()
        self.link = _Link(transport, self.record.stats)
        self.keys = keys
        self.qr = qr
        self.random_bytes = random_bytes
        self.trust = trust
        self.progress_cb = progress
        self.requested = _normalise_files(files) if files is not None else None
        self.recovery_budget = recovery_timeout
        self.chunk_size = chunk_size
        self.extended_length = extended_length
        self.clock = clock
        self.sm: Any = None  # the secure-messaging transport in use
        self.access: _Access | None = None
        self.card_access_raw: bytes | None = None
        self.card_access: Any = None
        self.sod: Any = None
        self.reader: Any = None  # the FileReader of the application session
        self.pace_result: Any = None
        self.resumed: set[str] = set()

    # -- bookkeeping -----------------------------------------------------------------------------------

    def emit(self, step: str, event: str, **kw: Any) -> None:
        if self.progress_cb is not None:
            try:
                self.progress_cb(ProgressEvent(step, event, **kw))
            except Exception:  # a display bug must not break a read
                log.exception("progress callback failed")

    def run_step(self, name: str, fn: Callable[[], None]) -> None:
        stats = self.record.stats.step(name)
        self.link.current = stats
        self.emit(name, "start")
        t0 = self.clock()
        try:
            fn()
        except ReadError as exc:
            # raised by the pipeline itself (e.g. bytes that would be spliced): attach the record
            self.record.failed_step = exc.step or name
            self.record.error = str(exc)
            self._finish_identity()
            exc.partial = self.record
            raise
        except CCCDError as exc:
            raise self.fail(name, exc) from exc
        finally:
            stats.seconds += self.clock() - t0
        self.emit(name, "done")

    def fail(self, step: str, exc: BaseException) -> ReadError:
        self.record.failed_step = step
        self.record.error = str(exc)
        self._finish_identity()
        err = ReadError(str(exc), step=step, partial=self.record)
        err.cause = exc  # type: ignore[attr-defined]
        return err

    # -- recovery ----------------------------------------------------------------------------------------

    def recover(self, step: str, exc: BaseException) -> None:
        """Wait for the card, authenticate again with the key that worked, select the application."""
        stats = self.record.stats
        if self.access is None or not self.link.reconnectable:
            raise exc
        if stats.recoveries >= MAX_RECOVERIES or self.recovery_budget <= 0:
            raise CardRemovedError("the card was lost too many times or did not come back in time; "
                                   "hold it still on the reader and try again") from exc
        stats.recoveries += 1
        self.link.current.retries += 1
        self.emit(step, "retry", message="card lost: waiting for it to come back")
        while True:
            t0 = self.clock()
            try:
                self.link.reconnect(timeout=max(0.1, self.recovery_budget))
                self.sm = None
                self._authenticate_with(self.access)
                self.recovery_budget -= self.clock() - t0
                return
            except (CardRemovedError, SecureMessagingError) as again:
                self.recovery_budget -= max(self.clock() - t0, 0.05)
                if self.recovery_budget <= 0:
                    raise CardRemovedError("the card did not come back in time; hold it still on the "
                                           "reader and try again") from again
                time.sleep(0.05)
            except (AccessDenied, UnsupportedProtocol, CardError):
                err = ReadError("the card that came back cannot be opened the way the first one was: "
                                "a different card? Read it again", step=step, partial=self.record)
                err.cause = err  # type: ignore[attr-defined]
                raise err from None

    def guarded(self, step: str, fn: Callable[[], Any]) -> Any:
        """Run ``fn``; on a tag loss / dead session recover and run it again (bounded)."""
        while True:
            try:
                return fn()
            except (CardRemovedError, SecureMessagingError) as exc:
                if isinstance(exc, SecureMessagingError) and not _session_dead(exc):
                    raise
                self.recover(step, exc)

    # -- steps -------------------------------------------------------------------------------------------

    def probe(self) -> None:
        self.record.atr = card_atr(self.link.inner)
        caps = _atr_extended_length(self.record.atr)
        if self.extended_length is None and caps is not None:
            self.extended_length = caps
        if self.record.atr:
            self.record.security.details["atr_extended_length"] = str(caps).lower() if caps is not None \
                else "unknown"

    def read_card_access(self) -> None:
        from cccd_reader.protocols import files as F

        attempts = 0
        while True:
            reader = self._file_reader(self.link)
            try:
                data = reader.read_file(F.FID_CARD_ACCESS, sfi=F.SFI_CARD_ACCESS, name="EF.CardAccess")
                if reader.extended_ok is False:
                    # the card or the reader refused an extended read: do not ask again in this session
                    # (learned from the answers alone, so a replayed trace makes the same choice)
                    self.extended_length = False
                break
            except CardRemovedError:
                # nothing is authenticated yet: wait for the card and read the (small) file again
                attempts += 1
                if attempts > 2 or not self.link.reconnectable:
                    raise
                self.record.stats.recoveries += 1
                self.link.current.retries += 1
                self.emit("card_access", "retry", message="card lost: waiting for it to come back")
                self.link.reconnect(timeout=max(0.1, self.recovery_budget))
            except (FileNotFoundOnCard, SecurityStatusNotSatisfied, InstructionNotSupported, WrongParameters,
                    ConditionsNotSatisfied, CardError) as exc:
                self.record.warnings.append(f"EF.CardAccess could not be read ({exc.__class__.__name__}); "
                                            "trying the known CCCD profiles, then BAC")
                return
        self.card_access_raw = data
        self.record.files["EF.CardAccess"] = data
        try:
            from cccd_reader.lds import decode_file

            self.card_access = decode_file("EF.CardAccess", data)
            self.record.decoded["EF.CardAccess"] = self.card_access
        except ParseError as exc:
            reason = getattr(exc, "reason", str(exc))
            self.record.warnings.append(f"EF.CardAccess is malformed ({reason}); trying the known profiles")

    def _has_pace(self) -> bool:
        ca = self.card_access
        if ca is None:
            return True  # unreadable CardAccess: the CCCD supports PACE; the PACE module knows its profiles
        infos = getattr(ca, "pace_infos", None)
        return True if infos is None else bool(infos)

    def authenticate(self) -> None:
        """Try the keys in order. A refused key (AccessDenied) moves on to the next key; after
        MAX_KEY_ATTEMPTS refusals the read stops rather than risk the chip suspending access."""
        sec = self.record.security
        last: CCCDError | None = None
        denied = 0
        for key in self.keys:
            if denied >= MAX_KEY_ATTEMPTS:
                self.record.warnings.append(f"stopped after {MAX_KEY_ATTEMPTS} refused keys: cards may block "
                                            "after repeated wrong keys")
                break
            try:
                access = self._try_key(key)
            except AccessDenied as exc:
                denied += 1
                last = exc
                self.emit("access", "retry", message=f"the card refused the {key.kind} key")
                continue
            except (UnsupportedProtocol, PasswordTypeNotSupported) as exc:
                last = exc
                self.record.warnings.append(f"{key.kind} key: {exc}")
                continue
            self.access = access
            sec.access_protocol = access.protocol
            sec.access_key = key.kind
            return
        if isinstance(last, AccessDenied) or last is None:
            raise AccessDenied("the card refused every access key tried: check the CAN (last 6 digits of "
                               "the ID number) or the document number, date of birth and date of expiry")
        raise last

    def _try_key(self, key: Any) -> _Access:
        """PACE with each profile the card may use; BAC with an MRZ key when the PACE policy allows."""
        from cccd_reader.protocols.pace import PACEPolicy, pace_profiles_to_try

        sec = self.record.security
        pace_error: CCCDError | None = None
        if self.access_mode == "bac" and key.kind != "MRZ":
            raise UnsupportedProtocol("BAC needs the MRZ key (document number, date of birth, expiry)")
        if self.access_mode != "bac" and self._has_pace():
            for info in pace_profiles_to_try(self.card_access_raw):
                access = _Access("PACE", key, info)
                sec.keys_tried += 1
                self.record.stats.key_attempts += 1
                try:
                    self.guarded_auth(access)
                    return access
                except AccessDenied:
                    raise
                except (UnsupportedProtocol, WrongParameters, InstructionNotSupported,
                        ConditionsNotSatisfied, FileNotFoundOnCard) as exc:
                    # this parameter set is not the card's: try the next known profile
                    pace_error = exc
                    continue
            if not isinstance(pace_error, UnsupportedProtocol | PasswordTypeNotSupported):
                pace_error = UnsupportedProtocol("the card accepted none of the PACE parameter sets tried")
        if key.kind != "MRZ":
            raise pace_error or UnsupportedProtocol("a CAN is used with PACE, which this card does not offer")
        policy = PACEPolicy(allow_bac=self.access_mode != "pace")
        if self.access_mode == "pace" and pace_error is None:
            raise UnsupportedProtocol("the card does not offer PACE (EF.CardAccess lists no PACE parameters)")
        if pace_error is not None and not policy.may_fall_back_to_bac(
                card_access_available=self.card_access_raw is not None, pace_error=pace_error):
            raise pace_error
        if pace_error is not None and self.access_mode == "auto":
            self.record.warnings.append("PACE was not possible; the chip was read with BAC")
        access = _Access("BAC", key, None)
        sec.keys_tried += 1
        self.record.stats.key_attempts += 1
        self.guarded_auth(access)
        return access

    def guarded_auth(self, access: _Access) -> None:
        """Authenticate; a tag loss during the protocol is retried on the returned card (twice at most)."""
        attempts = 0
        while True:
            try:
                self._authenticate_with(access)
                return
            except CardRemovedError:
                attempts += 1
                if attempts > 2 or not self.link.reconnectable:
                    raise
                self.record.stats.recoveries += 1
                self.link.current.retries += 1
                self.link.reconnect(timeout=max(0.1, self.recovery_budget))

    def _authenticate_with(self, access: _Access) -> None:
        from cccd_reader.crypto.sm import SecureMessagingTransport

        sec = self.record.security
        if access.protocol == "PACE":
            from cccd_reader.protocols.pace import perform_pace

            pace = perform_pace(self.link, access.key, pace_info=access.pace_info,
                                card_access=self.card_access_raw, random_bytes=self.random_bytes)
            self.sm = SecureMessagingTransport(self.link, pace.session)
            self.pace_result = pace
            sec.access_detail = f"{pace.protocol_name}, {pace.domain_name}"
            self._app_reader().select_application()
        else:
            from cccd_reader.protocols.bac import perform_bac

            self._file_reader(self.link).select_application()
            bac = perform_bac(self.link, access.key, random_bytes=self.random_bytes)
            self.sm = SecureMessagingTransport(self.link, bac.session)
            sec.access_detail = "BAC (3DES)"
            self._app_reader()

    def _file_reader(self, transport: Any) -> Any:
        from cccd_reader.protocols.files import FileReader

        return FileReader(transport, chunk=self.chunk_size, extended=self.extended_length)

    def _app_reader(self) -> Any:
        """The file reader of the application session: one per read, so what it learned about read sizes
        and the bytes of an interrupted file survive a re-authentication (``resume``)."""
        if self.reader is None:
            self.reader = self._file_reader(self.sm)
        else:
            self.reader.resume(self.sm)  # keeps what it learned (e.g. extended length refused)
        return self.reader

    # -- files -------------------------------------------------------------------------------------------

    def read_one(self, name: str, fid: int, sfi: int) -> bytes | None:
        """Read one file across tag losses: the file reader keeps what it had read, and after the
        recovery it continues at that offset over the new session."""
        def progress(done: int, total: int | None = None) -> None:
            self.emit("files", "bytes", file=name, done=done, total=total)

        resumed = False
        while True:
            reader = self.reader
            assert reader is not None
            try:
                data = bytes(reader.read_file(fid, sfi=sfi, name=name, progress=progress))
            except (CardRemovedError, SecureMessagingError) as exc:
                if reader.partials.get(name):
                    resumed = True
                if isinstance(exc, SecureMessagingError) and reader.read_limit > 256:
                    # Secure messaging broke while extended reads were in use. Our counter assumes a
                    # chip that refuses an extended APDU bare does not count it (gmrtd #457); a chip
                    # that does count it answers the next command with 6988. Either way: read on with
                    # short APDUs after re-authenticating.
                    reader.extended = False
                    self.extended_length = False
                    self.record.warnings.append("extended-length reads broke secure messaging; "
                                                "reading on with short reads")
                self.recover("files", exc)
                continue
            if resumed:
                self.resumed.add(name)
            return data

    def read_files(self) -> None:
        from cccd_reader.lds import file_info

        rec = self.record
        # EF.SOD first: it lists the data groups, and its hashes guard every resumed file
        sod_info = file_info("EF.SOD")
        assert sod_info is not None
        try:
            sod_raw = self.read_one("EF.SOD", sod_info.fid, sod_info.sfi)
        except (FileNotFoundOnCard, SecurityStatusNotSatisfied) as exc:
            rec.warnings.append(f"EF.SOD could not be read ({exc.__class__.__name__}): "
                                "nothing can be verified")
            sod_raw = None
        if sod_raw is not None:
            rec.files["EF.SOD"] = sod_raw
            try:
                from cccd_reader.lds.sod import SOD

                self.sod = SOD.decode(sod_raw)
                rec.decoded["EF.SOD"] = self.sod
            except ParseError as exc:
                rec.warnings.append(f"EF.SOD is malformed: {getattr(exc, 'reason', exc)}")
        if self.requested is not None:
            wanted = list(self.requested)
        elif self.sod is not None:
            wanted = [f"DG{n}" for n in self.sod.data_groups]
        else:
            com = self._read_optional("EF.COM")
            wanted = _dgs_from_com(com) or [f"DG{n}" for n in _DEFAULT_DGS]
        for name in wanted:
            if name in rec.files:
                continue
            info = file_info(name)
            if info is None:
                rec.warnings.append(f"{name}: not an LDS file name, skipped")
                continue
            if info.dg in _EAC_PROTECTED and self.requested is None:
                rec.warnings.append(f"{info.name} is protected by Extended Access Control "
                                    "(needs terminal authentication): not read")
                self.emit("files", "skip", file=info.name)
                continue
            try:
                data = self.read_one(info.name, info.fid, info.sfi)
            except SecurityStatusNotSatisfied:
                rec.warnings.append(f"{info.name}: access denied by the card (protected): not read")
                self.emit("files", "skip", file=info.name)
                continue
            except FileNotFoundOnCard:
                rec.warnings.append(f"{info.name}: listed but not on the card")
                self.emit("files", "skip", file=info.name)
                continue
            if data is not None:
                rec.files[info.name] = data
        if self.reader is not None:
            # the file reader's own retries (SFI refused, Le stepped down) count as this step's retries
            fr = self.reader.stats
            self.link.current.retries += int(getattr(fr, "retries", 0)) + len(getattr(fr, "fallbacks", []))
        self._check_hashes()

    def _read_optional(self, name: str) -> bytes | None:
        from cccd_reader.lds import file_info

        info = file_info(name)
        if info is None:
            return None
        try:
            data = self.read_one(info.name, info.fid, info.sfi)
        except (FileNotFoundOnCard, SecurityStatusNotSatisfied):
            return None
        if data is not None:
            self.record.files[info.name] = data
        return data

    def _check_hashes(self) -> None:
        """Every data group must match its hash in the SOD; a resumed one that does not is an error."""
        if self.sod is None:
            if self.resumed:
                for name in self.resumed:
                    self.record.files.pop(name, None)
                raise ReadError("a file was resumed after a tag loss but there is no EF.SOD to check it "
                                "against", step="files", partial=self.record)
            return
        algo = _hash_name(getattr(self.sod, "hash_algorithm", ""))
        hashes: dict[int, bytes] = dict(getattr(self.sod, "dg_hashes", {}) or {})
        ok = True
        for name, data in list(self.record.files.items()):
            if not (name.startswith("DG") and name[2:].isdigit()):
                continue
            expected = hashes.get(int(name[2:]))
            if expected is None:
                if name in self.resumed:
                    self.record.files.pop(name, None)
                    raise ReadError(f"{name} was read across a tag loss and EF.SOD has no hash to check it: "
                                    "read the card again", step="files", partial=self.record)
                self.record.warnings.append(f"{name} is not listed in EF.SOD: it cannot be verified")
                continue
            try:
                actual = hashlib.new(algo, data).digest()
            except ValueError:
                return  # unknown hash algorithm: left to passive authentication to report
            if actual != expected:
                ok = False
                if name in self.resumed:
                    self.record.files.pop(name, None)  # never hand out spliced bytes
                    self.record.decoded.pop(name, None)
                    raise ReadError(f"{name} read across a tag loss does not match EF.SOD: the bytes are "
                                    "discarded; read the card again", step="files", partial=self.record)
                self.record.warnings.append(f"{name} does not match its hash in EF.SOD")
        self.record.security.hashes_ok = ok

    # -- authenticity ----------------------------------------------------------------------------------

    def _security_file(self, name: str, verdict: str, detail: str) -> Any:
        """Decode DG14 / DG15 for an authenticity check, or set that check's verdict and return ``None``:
        not supported when the card has no such file, failed when the file is malformed."""
        sec = self.record.security
        raw = self.record.files.get(name)
        if raw is None:
            setattr(sec, verdict, NOT_SUPPORTED)
            return None
        from cccd_reader.lds import decode_file

        try:
            decoded = decode_file(name, raw)
        except ParseError as exc:
            setattr(sec, verdict, FAILED)
            sec.details[detail] = f"{name} is malformed: {getattr(exc, 'reason', exc)}"
            return None
        self.record.decoded[name] = decoded
        return decoded

    def chip_auth(self) -> None:
        """Chip Authentication (or the PACE-CAM check): proves the chip holds the private key of DG14.

        After CA the chip answers under new session keys. The proof is the first read under them: DG14 is
        read again under the CA session and must come back byte for byte; a clone without the private key
        cannot produce valid secure messaging there."""
        sec = self.record.security
        dg14 = self._security_file("DG14", "chip_auth", "chip_authentication")
        if dg14 is None:
            return
        if self.pace_result is not None and getattr(self.pace_result, "mapping", None) == "CAM":
            from cccd_reader.protocols.chip_auth import verify_cam

            cam = verify_cam(self.pace_result, dg14)
            sec.chip_auth = PASSED if cam.passed else FAILED
            sec.details["chip_authentication"] = "PACE-CAM" + (f": {cam.reason}" if cam.reason else "")
            return
        dg14_raw = self.record.files["DG14"]  # present: _security_file decoded it
        try:
            outcome = self.guarded("chip_auth", lambda: self._run_chip_auth(dg14, dg14_raw))
        except UnsupportedProtocol as exc:
            sec.chip_auth = NOT_SUPPORTED
            sec.details["chip_authentication"] = str(exc)
            return
        except (ChipAuthenticationError, CardError) as exc:
            outcome = (False, str(exc))
        passed, detail = outcome
        sec.chip_auth = PASSED if passed else FAILED
        if detail:
            sec.details["chip_authentication"] = detail
        if not passed:
            # the chip dropped the session after the failed attempt: authenticate again for what follows
            self.guarded("chip_auth", self._reauth_quiet)

    def _run_chip_auth(self, dg14: Any, dg14_raw: bytes) -> tuple[bool, str | None]:
        from cccd_reader.crypto.sm import SecureMessagingTransport
        from cccd_reader.lds import file_info
        from cccd_reader.protocols.chip_auth import perform_chip_auth

        result = perform_chip_auth(self.sm, dg14, random_bytes=self.random_bytes)
        self.sm = SecureMessagingTransport(self.link, result.session)
        info = file_info("DG14")
        assert info is not None
        reader = self._file_reader(self.sm)
        try:
            again = bytes(reader.read_file(info.fid, sfi=info.sfi, name="DG14"))
        except SecureMessagingError:
            return False, ("the chip could not use the Chip Authentication session keys: "
                           "it may be a clone")
        if self.reader is not None:
            self.reader.resume(self.sm)
        if again != dg14_raw:
            return False, "DG14 read under the Chip Authentication session differs: it may be a clone"
        key_note = f", key {result.key_id}" if result.key_id is not None else ""
        return True, f"{result.protocol_name}{key_note}"

    def _reauth_quiet(self) -> None:
        assert self.access is not None
        self._authenticate_with(self.access)

    def active_auth(self) -> None:
        sec = self.record.security
        dg15 = self._security_file("DG15", "active_auth", "active_authentication")
        if dg15 is None:
            return
        from cccd_reader.protocols.active_auth import perform_active_auth

        dg14 = self.record.decoded.get("DG14")

        def run() -> Any:
            return perform_active_auth(self.sm, dg15, random_bytes=self.random_bytes, dg14=dg14)

        try:
            result = self.guarded("active_auth", run)
        except UnsupportedProtocol as exc:
            sec.active_auth = NOT_SUPPORTED
            sec.details["active_authentication"] = str(exc)
            return
        except CCCDError as exc:
            if isinstance(exc, TransportError):
                raise
            sec.active_auth = FAILED
            sec.details["active_authentication"] = str(exc)
            return
        sec.active_auth = PASSED if _passed(result) else FAILED
        desc = _describe(result)
        if desc:
            sec.details["active_authentication"] = desc

    def passive_auth(self) -> None:
        sec = self.record.security
        if self.sod is None:
            sec.passive_auth = NOT_RUN
            sec.details["passive_authentication"] = "no EF.SOD"
            return
        from cccd_reader.verify import TrustStore, verify_passive

        trust = self.trust
        if trust is not None and not isinstance(trust, TrustStore):
            if not isinstance(trust, str | os.PathLike | list | tuple):
                raise InputError("trust must be a TrustStore, or a path or list of paths to CSCA "
                                 "certificates, master lists or CRLs")
            trust = TrustStore.from_paths(trust)
        files = {int(k[2:]): v for k, v in self.record.files.items()
                 if k.startswith("DG") and k[2:].isdigit()}
        try:
            result = verify_passive(self.sod, files, trust=trust)
        except VerificationError as exc:
            sec.passive_auth = UNKNOWN
            sec.details["passive_authentication"] = str(exc)
            return
        sec.passive_detail = result
        sec.passive_auth = _pa_status(result)
        if "EF.SOD" in self.resumed and not _sod_intact(result):
            self.record.files.pop("EF.SOD", None)
            raise ReadError("EF.SOD was read across a tag loss and does not verify: the record is "
                            "discarded; read the card again", step="passive_auth", partial=self.record)

    # -- identity ----------------------------------------------------------------------------------------

    def _finish_identity(self) -> None:
        rec = self.record
        from cccd_reader.lds import decode_file

        for name in ("DG1", "DG2", "DG13"):
            raw = rec.files.get(name)
            if raw is None or name in rec.decoded:
                continue
            try:
                rec.decoded[name] = decode_file(name, raw)
            except ParseError as exc:
                rec.warnings.append(f"{name} is malformed: {getattr(exc, 'reason', exc)}")
        dg1 = rec.decoded.get("DG1")
        dg13 = rec.decoded.get("DG13")
        dg2 = rec.decoded.get("DG2")
        if dg1 is not None:
            rec.mrz = getattr(dg1, "mrz", dg1)
        if dg2 is not None:
            rec.portrait = _first_portrait(dg2)
        if dg1 is not None or dg13 is not None:
            try:
                from cccd_reader.model import merge_identity

                rec.identity = merge_identity(dg13, dg1)
            except (ImportError, AttributeError):
                rec.identity = dg13 or dg1
            except CCCDError as exc:
                rec.warnings.append(f"identity could not be assembled: {exc}")
        has_slot = getattr(rec.identity, "portrait", 1) is None
        if rec.identity is not None and rec.portrait is not None and has_slot:
            with contextlib.suppress(TypeError, ValueError):
                rec.identity = dataclasses.replace(rec.identity, portrait=rec.portrait)

    def qr_check(self) -> None:
        if self.qr is None:
            return
        sec = self.record.security
        sec.qr_checked = True
        found = compare_qr_with_chip(self.qr, self.record.identity, self.record.mrz)
        sec.qr_mismatches = [m for m in found if m.detail != NOT_ON_CHIP]
        sec.qr_not_compared = [m.field for m in found if m.detail == NOT_ON_CHIP]

    # -- run ---------------------------------------------------------------------------------------------

    def run(self) -> CardRecord:
        self.run_step("probe", self.probe)
        self.run_step("card_access", self.read_card_access)
        self.run_step("access", self.authenticate)
        self.run_step("files", self.read_files)
        self.run_step("chip_auth", self.chip_auth)
        self.run_step("active_auth", self.active_auth)
        self.run_step("passive_auth", self.passive_auth)
        self._finish_identity()
        self.run_step("qr_check", self.qr_check)
        return self.record


def read_card(transport: Transport, key: Any, *, random_bytes: RandomBytes | None = None, trust: Any = None,
              progress: ProgressCallback | None = None, files: Sequence[str | int] | None = None,
              recovery_timeout: float = RECOVERY_TIMEOUT, chunk_size: int | None = None,
              extended_length: bool | None = None, access: str = "auto") -> CardRecord:
    """Read the card on ``transport`` with ``key`` (a key, a list of keys, or a ``QRData``).

    ``random_bytes`` feeds every terminal-side random value (replayed traces pass the recorded ones).
    ``trust`` is a ``TrustStore`` (or a path / list of paths to CSCA certificates or master lists).
    ``files`` restricts the data groups read (names like ``"DG13"`` or numbers); by default every data
    group listed in EF.SOD is read, except the EAC-protected DG3/DG4. ``chunk_size`` / ``extended_length``
    override the file reader's READ BINARY size (benchmarks). ``access`` is ``"auto"`` (PACE when the card
    offers it, BAC with an MRZ key when PACE is not possible), ``"pace"`` or ``"bac"``. Returns a
    :class:`CardRecord`; raises
    :class:`ReadError` with ``step`` and ``partial`` (the CardRecord so far) when a step fails.
    """
    keys, qr = _keys_and_qr(key)
    pipeline = _Pipeline(transport, keys, qr, random_bytes=random_bytes, trust=trust, progress=progress,
                         files=files, recovery_timeout=recovery_timeout, chunk_size=chunk_size,
                         extended_length=extended_length, clock=time.perf_counter, access=access)
    return pipeline.run()


# --- helpers ---------------------------------------------------------------------------------------------


def _normalise_files(files: Sequence[str | int]) -> list[str]:
    from cccd_reader.lds import file_info

    out = []
    for f in files:
        name = f"DG{f}" if isinstance(f, int) else str(f)
        info = file_info(name)
        if info is None:
            raise InputError(f"unknown file {name!r}: use DG1..DG16, EF.COM or EF.SOD")
        out.append(info.name)
    return out


def _dgs_from_com(com: bytes | None) -> list[str]:
    if not com:
        return []
    try:
        from cccd_reader.lds import decode_file

        decoded = decode_file("EF.COM", com)
    except CCCDError:
        return []
    dgs = getattr(decoded, "data_groups", None)
    if not dgs:
        return []
    return [f"DG{n}" if isinstance(n, int) else str(n) for n in dgs]


def _sod_intact(result: Any) -> bool:
    """The SOD's own signature verifies (with the certificate it carries): its bytes are one piece, even
    when the certificate chain or the validity dates fail for other reasons."""
    signature = getattr(result, "signature", None)
    status = getattr(signature, "status", None)
    if status is not None:
        return str(getattr(status, "value", status)).lower() == "valid"
    return _pa_status(result) in (PASSED, UNTRUSTED)


def card_atr(transport: Any) -> bytes:
    """The card's ATR from the transport or anything it wraps; a replayed trace gives the recorded one
    (so the replay makes the same read-size decisions as the recording)."""
    t: Any = transport
    for _ in range(8):
        if t is None:
            break
        atr = getattr(t, "atr", None)
        if callable(atr):
            atr = atr()
        if isinstance(atr, bytes | bytearray) and atr:
            return bytes(atr)
        header = getattr(t, "header", None)
        if isinstance(header, dict) and isinstance(header.get("atr"), str):
            try:
                return bytes.fromhex(header["atr"])
            except ValueError:
                return b""
        t = getattr(t, "inner", None)
    return b""


def _hash_name(name: str) -> str:
    n = (name or "").lower().replace("-", "").replace("_", "")
    return {"sha1": "sha1", "sha224": "sha224", "sha256": "sha256", "sha384": "sha384",
            "sha512": "sha512"}.get(n, n or "sha256")


def _passed(result: Any) -> bool:
    for attr in ("passed", "verified", "ok", "success", "valid"):
        value = getattr(result, attr, None)
        if isinstance(value, bool):
            return value
    return result is not None and result is not False


def _pa_status(result: Any) -> str:
    for attr in ("status", "verdict"):
        value = getattr(result, attr, None)
        if value is not None:
            text = str(getattr(value, "value", value)).lower()
            if text in ("passed", "valid", "ok", "genuine"):
                return PASSED
            if text in ("failed", "invalid", "not-genuine"):
                return FAILED
            if "untrusted" in text:
                return UNTRUSTED
            if "unknown" in text:
                return UNKNOWN
            return text
    passed = getattr(result, "passed", None)
    if isinstance(passed, bool):
        return PASSED if passed else FAILED
    return UNKNOWN


def _describe(result: Any) -> str | None:
    for attr in ("describe", "summary"):
        fn = getattr(result, attr, None)
        if callable(fn):
            try:
                return str(fn())
            except Exception:  # noqa: S112  best effort
                continue
        if isinstance(fn, str):
            return fn
    for attr in ("protocol_name", "protocol", "oid_name", "algorithm"):
        value = getattr(result, attr, None)
        if isinstance(value, str):
            return value
        name = getattr(value, "name", None)
        if isinstance(name, str):
            return name
    return None


def _first_portrait(dg2: Any) -> Any:
    for attr in ("portrait", "portraits", "images", "faces"):
        value = getattr(dg2, attr, None)
        if value is None:
            continue
        if isinstance(value, list | tuple):
            return value[0] if value else None
        return value
    return dg2


def _atr_extended_length(atr: bytes) -> bool | None:
    """Read the "card capabilities" compact-TLV (tag 7, 3 bytes) in the ATR's historical bytes: its third
    byte's bit 0x40 announces extended Lc/Le (ISO 7816-4 §8.1.1.2.7). ``None`` when the ATR does not say."""
    if len(atr) < 2 or atr[0] not in (0x3B, 0x3F):
        return None
    t0 = atr[1]
    k = t0 & 0x0F
    i = 2
    y = t0 >> 4
    while True:
        count = bin(y).count("1")
        last_td = (y & 0x8) != 0
        td_index = i + count - 1 if last_td else None
        i += count
        if td_index is None or td_index >= len(atr):
            break
        y = atr[td_index] >> 4
    hist = atr[i: i + k]
    if not hist or hist[0] != 0x80:
        return None
    j = 1
    while j < len(hist):
        tag, length = hist[j] >> 4, hist[j] & 0x0F
        value = hist[j + 1: j + 1 + length]
        if tag == 7 and length >= 3 and len(value) >= 3:
            return bool(value[2] & 0x40)
        j += 1 + length
    return None


# --- QR vs chip ------------------------------------------------------------------------------------------


def _norm_text(text: Any) -> str:
    s = unicodedata.normalize("NFC", str(text or "")).casefold()
    return " ".join(s.replace("<", " ").split())


def _fold(text: Any) -> str:
    """Without diacritics, for comparing with the MRZ (which has only A-Z)."""
    s = unicodedata.normalize("NFD", _norm_text(text).replace("đ", "d"))
    return "".join(c for c in s if not unicodedata.combining(c))


def _as_date(value: Any) -> _dt.date | None:
    if value is None:
        return None
    if isinstance(value, _dt.date):
        return value
    to_date = getattr(value, "to_date", None)
    if callable(to_date):
        d = to_date()
        return d if isinstance(d, _dt.date) else None
    return None


def _sex_letter(value: Any) -> str | None:
    if value is None:
        return None
    s = _fold(getattr(value, "value", value))
    if s in ("m", "male", "nam"):
        return "M"
    if s in ("f", "female", "nu"):
        return "F"
    return s.upper() or None


NOT_ON_CHIP = "not on chip"


def _same_date(printed: Any, on_chip: Any) -> bool:
    """A full printed date against the chip's, which may be partial (DG13 allows year-only dates)."""
    p = _as_date(printed)
    if p is None:
        return str(printed) == str(on_chip)
    matches = getattr(on_chip, "matches", None)
    if callable(matches) and not isinstance(on_chip, _dt.date):
        return bool(matches(p.year, p.month, p.day))
    return p == _as_date(on_chip)


def compare_qr_with_chip(qr: Any, identity: Any, mrz: Any = None) -> list[QRMismatch]:
    """Compare the printed QR with the chip: ID number, name, date of birth, sex, issue date.

    Each disagreement is a :class:`QRMismatch` naming the field (never the values). A field the chip did
    not provide (e.g. DG13 not read) is listed with ``detail == NOT_ON_CHIP``: not compared, which is
    not a disagreement. A name that only the MRZ gave (no diacritics) is compared without diacritics.
    """
    out: list[QRMismatch] = []
    sources = getattr(identity, "sources", None) or {}

    def chip(*names: str) -> Any:
        for src in (identity, mrz):
            if src is None:
                continue
            for n in names:
                v = getattr(src, n, None)
                if v not in (None, ""):
                    return v
        return None

    def check(field_name: str, qv: Any, cv: Any, same: Callable[[Any, Any], bool]) -> None:
        if qv in (None, ""):
            return
        if cv in (None, ""):
            out.append(QRMismatch(field_name, NOT_ON_CHIP))
        elif not same(qv, cv):
            out.append(QRMismatch(field_name))

    def folded_name(a: Any, b: Any) -> bool:
        return _fold(a).replace(" ", "") == _fold(b).replace(" ", "")

    check("id_number", getattr(qr, "id_number", None), chip("id_number", "personal_id_number"),
          lambda a, b: str(a).strip() == str(b).strip())
    chip_name = getattr(identity, "full_name", None) if identity is not None else None
    if chip_name and sources.get("full_name", "DG13") != "DG1":
        check("full_name", getattr(qr, "full_name", None), chip_name,
              lambda a, b: _norm_text(a) == _norm_text(b))
    else:  # only the MRZ has the name: A-Z without diacritics
        parts = (getattr(mrz, "primary_identifier", None), getattr(mrz, "secondary_identifier", None))
        mrz_name = chip_name or " ".join(str(x) for x in parts if x)
        check("full_name", getattr(qr, "full_name", None), mrz_name, folded_name)
    check("date_of_birth", getattr(qr, "date_of_birth", None), chip("date_of_birth"), _same_date)
    check("sex", getattr(qr, "sex", None), chip("sex", "gender"),
          lambda a, b: _sex_letter(a) == _sex_letter(b))
    check("issue_date", getattr(qr, "issue_date", None), chip("issue_date", "date_of_issue"), _same_date)
    return out


__all__ = [
    "MAX_KEY_ATTEMPTS",
    "MAX_RECOVERIES",
    "NOT_ON_CHIP",
    "RECOVERY_TIMEOUT",
    "STEPS",
    "CardRecord",
    "ProgressEvent",
    "QRMismatch",
    "ReadSecurity",
    "ReadStats",
    "StepStats",
    "card_atr",
    "compare_qr_with_chip",
    "read_card",
]
