"""What the pipeline knows while it reads: the typed state every step reads and writes.

One object, so each step says in its signature what it works on, and nothing hides in loosely typed
attributes. Nothing here talks to the card.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cccd_reader.read.link import Link
from cccd_reader.read.records import CardRecord, ProgressCallback, ProgressEvent
from cccd_reader.transport.base import RandomBytes, Transport

if TYPE_CHECKING:
    from cccd_reader.keys import AccessKey
    from cccd_reader.lds.security_infos import PACEInfo, SecurityInfos
    from cccd_reader.lds.sod import SOD
    from cccd_reader.protocols.files import FileReader
    from cccd_reader.protocols.pace import PACEResult
    from cccd_reader.qr.payload import QRData
    from cccd_reader.transport.secure import SecureMessagingTransport

log = logging.getLogger("cccd_reader.read")


@dataclass
class Access:
    """How the card was opened, kept to open it the same way after a tag loss."""

    protocol: str  # "PACE" / "BAC"
    key: AccessKey
    pace_info: PACEInfo | None = None  # the PACEInfo that worked, reused on re-authentication


@dataclass
class Options:
    """What the caller asked for; fixed for the whole read."""

    keys: list[AccessKey]
    qr: QRData | None
    random_bytes: RandomBytes | None
    trust: object
    progress: ProgressCallback | None
    requested: list[str] | None  # canonical file names, or None for "what the SOD lists"
    chunk_size: int | None
    access_mode: str  # "auto" / "pace" / "bac"
    clock: Callable[[], float]
    aa_challenge: bytes | None = None  # the Active Authentication challenge to send (None: random)


@dataclass
class PipelineState:
    """The read in progress. ``record`` is what the caller gets (also as a partial record on failure)."""

    options: Options
    record: CardRecord
    link: Link
    recovery_budget: float  # seconds still available for waiting on the card after tag losses
    extended_length: bool | None  # None: not known yet (the ATR or the answers decide)
    sm: SecureMessagingTransport | None = None  # the secure-messaging transport in use
    access: Access | None = None
    card_access_raw: bytes | None = None
    card_access: SecurityInfos | None = None
    sod: SOD | None = None
    reader: FileReader | None = None  # the file reader of the application session
    pace_result: PACEResult | None = None
    resumed: set[str] = field(default_factory=set)  # files read across a tag loss
    chip_auth_dg14: Any = None  # DG14 (decoded) once Chip Authentication passed: redone after a recovery
    # Chip Authentication runs in the files step right after DG14, before the large files; the next file
    # read under its keys is the proof. ``ca_done``: settled there; ``ca_pending``: keys switched, no read
    # has confirmed them yet (``ca_pending_dg14``, ``ca_detail``: what a confirmation records).
    ca_done: bool = False
    ca_pending: bool = False
    ca_pending_dg14: Any = None
    ca_detail: str | None = None
    ca_sm: SecureMessagingTransport | None = None  # the session Chip Authentication switched to

    @classmethod
    def start(cls, transport: Transport, options: Options, *, recovery_timeout: float,
              extended_length: bool | None) -> PipelineState:
        record = CardRecord()
        return cls(options=options, record=record, link=Link(transport, record.stats),
                   recovery_budget=recovery_timeout, extended_length=extended_length)

    def emit(self, step: str, event: str, **kw: Any) -> None:
        callback = self.options.progress
        if callback is not None:
            try:
                callback(ProgressEvent(step, event, **kw))
            except Exception:  # a display bug must not break a read
                log.exception("progress callback failed")

    def secure(self) -> SecureMessagingTransport:
        """The secure-messaging transport; only called by steps that run after access was gained."""
        if self.sm is None:
            from cccd_reader.errors import SecureMessagingError

            raise SecureMessagingError("no secure-messaging session: the card was not opened")
        return self.sm

    def file_reader(self, transport: Transport) -> FileReader:
        from cccd_reader.protocols.files import FileReader

        return FileReader(transport, chunk=self.options.chunk_size, extended=self.extended_length)

    def app_reader(self) -> FileReader:
        """The file reader of the application session: one per read, so what it learned about read sizes
        and the bytes of an interrupted file survive a re-authentication (``resume``)."""
        if self.reader is None:
            self.reader = self.file_reader(self.secure())
        else:
            self.reader.resume(self.secure())  # keeps what it learned (e.g. extended length refused)
        return self.reader
