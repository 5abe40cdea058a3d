"""The whole read of a CCCD chip: one explicit pipeline of steps, and the records it produces.

``probe -> card_access -> access (PACE or BAC) -> files (from the SOD) -> chip_auth -> active_auth ->
passive_auth -> qr_check``. A failure part-way raises :class:`~cccd_reader.errors.ReadError` whose
``partial`` is the :class:`CardRecord` read so far (with ``failed_step`` set).

The package, one file per concern:

- ``records``: :class:`CardRecord`, :class:`ReadSecurity`, :class:`ReadStats`, :class:`StepStats`,
  :class:`QRMismatch`, :class:`QRNote`, :class:`ProgressEvent` (plain data, ``to_dict()``)
- ``inputs``: the accepted keys and file names, checked before the card is touched
- ``link``: the accounting link (APDUs charged per step) and the card's ATR
- ``state``: the typed state the steps share
- ``recovery``: tag-loss recovery (:data:`MAX_RECOVERIES`, :data:`RECOVERY_TIMEOUT`)
- ``steps/``: ``probe`` (probe, card_access), ``access`` (PACE/BAC, :data:`MAX_KEY_ATTEMPTS`), ``files``,
  ``authenticity`` (chip, active and passive authentication), ``identity`` (identity, qr_check)
- ``compare``: the printed QR against the chip (:func:`compare_qr_with_chip`)
- ``pipeline``: the order of the steps and :func:`read_card`

Tag loss. When the link drops or the secure-messaging session dies, the pipeline waits for the card to
come back, authenticates again with the key and protocol that worked, and resumes the interrupted file at
its offset; every data group read across a recovery must match its hash in EF.SOD (see ``recovery``).

Keys. ``key`` is one access key, a list tried in order, or a ``QRData`` (its ``keys_from_qr`` order: CAN
first, then MRZ keys); at most :data:`MAX_KEY_ATTEMPTS` refused keys are tried per read.

Verdict. ``security.verdict`` (a :class:`Verdict`) is decided in one place from the evidence the steps
record, and ``security.genuine`` is exactly ``verdict == Verdict.GENUINE``. Only proof of forgery gives
``not-genuine``; a step or a listed file that could not complete after the retries gives ``incomplete``.
"""

from __future__ import annotations

from cccd_reader.read.compare import NOT_ON_CHIP, compare_qr_with_chip
from cccd_reader.read.compare import _same_date as _same_date
from cccd_reader.read.link import atr_extended_length as _atr_extended_length  # noqa: F401  (kept name)
from cccd_reader.read.link import card_atr
from cccd_reader.read.pipeline import STEPS, read_card
from cccd_reader.read.records import (
    FAILED,
    INCOMPLETE,
    NOT_RUN,
    NOT_SUPPORTED,
    PASSED,
    UNKNOWN,
    UNTRUSTED,
    CardRecord,
    ProgressCallback,
    ProgressEvent,
    QRMismatch,
    QRNote,
    ReadEvidence,
    ReadSecurity,
    ReadStats,
    StepStats,
    Verdict,
)
from cccd_reader.read.recovery import MAX_RECOVERIES, RECOVERY_TIMEOUT
from cccd_reader.read.steps.access import MAX_KEY_ATTEMPTS

__all__ = [
    "FAILED",
    "INCOMPLETE",
    "MAX_KEY_ATTEMPTS",
    "MAX_RECOVERIES",
    "NOT_ON_CHIP",
    "NOT_RUN",
    "NOT_SUPPORTED",
    "PASSED",
    "RECOVERY_TIMEOUT",
    "STEPS",
    "UNKNOWN",
    "UNTRUSTED",
    "CardRecord",
    "ProgressCallback",
    "ProgressEvent",
    "QRMismatch",
    "QRNote",
    "ReadEvidence",
    "ReadSecurity",
    "ReadStats",
    "StepStats",
    "Verdict",
    "card_atr",
    "compare_qr_with_chip",
    "read_card",
]
