"""The records a read produces: the :class:`CardRecord`, its security outcome and its cost.

Plain data with ``to_dict()``; nothing here talks to a card.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cccd_reader.model import to_jsonable
from cccd_reader.read.evidence import make_bundle


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
FAILED = "failed"  # proof of forgery: an answer intact under secure messaging yet wrong, a bad hash...
NOT_SUPPORTED = "not_supported"  # the card does not offer it (no DG14 / DG15)
NOT_RUN = "not_run"  # the read stopped before the step, or it was skipped
UNKNOWN = "unknown"  # could not be judged (e.g. passive authentication could not run)
UNTRUSTED = "passed_untrusted"  # hashes and signature fine, but the signer does not chain to a trusted CSCA
INCOMPLETE = "incomplete"  # could not complete after the retries (link errors): nothing was proven


class Verdict(StrEnum):
    """The one answer to "is this card genuine?", decided in :attr:`ReadSecurity.verdict` from evidence.

    A ``StrEnum``: each member equals its string (``Verdict.GENUINE == "genuine"``), as before.
    """

    GENUINE = "genuine"
    """Passive authentication passed (the SOD chains to a trusted CSCA, every data group the SOD lists
    was read and matches its hash), Chip or Active Authentication passed, nothing failed, nothing was
    left incomplete, and the printed QR (when given) agrees with the chip."""
    NOT_GENUINE = "not-genuine"
    """Proof of forgery: a hash mismatch, a bad SOD signature or chain, or a CA/AA/CAM answer intact under
    secure messaging yet wrong."""
    MISMATCH = "mismatch"
    """The chip's data verifies, but the printed QR disagrees with it (another person's card or QR)."""
    INCOMPLETE = "incomplete"
    """A step or a listed file could not be completed after the retries (link errors, MAC failures,
    unexpected status words, tag loss). Nothing was proven wrong; read the card again."""
    UNVERIFIED = "unverified"
    """Nothing failed and nothing is missing, but not everything "genuine" needs could be checked: no
    trust anchor given (or the signer does not chain to one), or the card offers neither CA nor AA."""


@dataclass
class QRMismatch:
    """One field where the printed QR disagrees with the chip (values are not kept: personal data)."""

    field: str
    detail: str = "differs"

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "detail": self.detail}


@dataclass
class QRNote:
    """Information about the QR-vs-chip comparison that is not a disagreement (no values: personal data).

    ``note`` is ``"compared-without-diacritics"`` (the QR text has no diacritics at all, as many scanners
    type it, so the field was compared in its folded form and matched) or ``"differs"`` for a field whose
    difference is expected and reported as information only (the address: a 2024 QR may carry a newer
    residence than DG13).
    """

    field: str
    note: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "note": self.note}


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
    qr_notes: list[QRNote] = field(default_factory=list)  # information, not mismatches
    details: dict[str, str] = field(default_factory=dict)
    incomplete: list[str] = field(default_factory=list)  # "step: what could not be completed, and why"
    unread_expected: list[str] = field(default_factory=list)  # listed but not readable by design (EAC DG3/4)

    @property
    def verdict(self) -> Verdict:
        """The one verdict, decided here and nowhere else, from the evidence the steps recorded.

        Only proof gives ``not-genuine``; a step that could not complete gives ``incomplete``; ``genuine``
        needs passive authentication passed, every listed data group read (except those needing Extended
        Access Control), Chip or Active Authentication passed, and nothing failed or left incomplete.
        """
        checks = (self.chip_auth, self.active_auth, self.passive_auth)
        if FAILED in checks or self.hashes_ok is False:
            return Verdict.NOT_GENUINE
        if self.qr_mismatches:
            return Verdict.MISMATCH
        if self.incomplete or INCOMPLETE in checks:
            return Verdict.INCOMPLETE
        if self.passive_auth == PASSED and PASSED in (self.chip_auth, self.active_auth):
            return Verdict.GENUINE
        return Verdict.UNVERIFIED

    @property
    def genuine(self) -> bool:
        """Exactly ``verdict == Verdict.GENUINE``: one answer to one question."""
        return self.verdict is Verdict.GENUINE

    @property
    def qr_matches(self) -> bool | None:
        return None if not self.qr_checked else not self.qr_mismatches

    def could_not_complete(self, step: str, what: str) -> None:
        """Record that ``step`` could not complete ``what`` after the retries (the verdict cannot be
        ``genuine``; it is not proof of anything)."""
        note = f"{step}: {what}"
        if note not in self.incomplete:
            self.incomplete.append(note)

    def to_dict(self) -> dict[str, Any]:
        passive = self.passive_detail
        return {
            "verdict": self.verdict.value,
            "genuine": self.genuine,
            "incomplete": list(self.incomplete),
            "unread_expected": list(self.unread_expected),
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
            "qr_notes": [n.to_dict() for n in self.qr_notes],
            "details": dict(self.details),
        }


@dataclass
class ReadEvidence:
    """What the authenticity checks saw, kept for a verification bundle (:meth:`CardRecord.to_bundle`).

    No session keys: only values a server can re-check (the AA challenge and signature, PACE-CAM's
    data) or that it can only take as the desk's word (what Chip Authentication v1 observed).
    """

    read_time: _dt.datetime | None = None  # reader-side clock when the read started (UTC)
    aa_challenge: bytes | None = field(default=None, repr=False)
    aa_signature: bytes | None = field(default=None, repr=False)
    pace: dict[str, Any] | None = None  # protocol OID, mapping, parameter id; CAM data when CAM ran
    chip_auth: dict[str, Any] | None = None  # CA v1 as observed: protocol, key id, outcome
    qr_payload: str | None = field(default=None, repr=False)  # the QR text compared with the chip


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
    evidence: ReadEvidence = field(default_factory=ReadEvidence, repr=False)

    def __repr__(self) -> str:
        return (f"CardRecord(files={sorted(self.files)}, verdict={self.security.verdict.value!r}, "
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
            "identity": _identity_dict(self.identity),
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

    def to_bundle(self) -> bytes:
        """The verification bundle of this read (docs/bundle.md): every file's raw bytes and what the
        checks saw, for a server to re-check with :func:`cccd_reader.verify_bundle`. Personal data."""
        return make_bundle(self)


def _file_order(name: str) -> tuple[int, str]:
    if name.startswith("DG") and name[2:].isdigit():
        return (int(name[2:]), name)
    return (0, name)


def _identity_dict(identity: Any) -> Any:
    """The identity without its copy of the portrait: the record's ``portrait`` entry is the one place the
    image appears (and only when ``include_portrait`` asks for it)."""
    if identity is None:
        return None
    data = to_jsonable(identity)
    if isinstance(data, dict):
        data.pop("portrait", None)
    return data


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
