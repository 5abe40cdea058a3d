"""The whole read as one explicit pipeline of steps, and :func:`read_card`, its public entry.

``probe -> card_access -> access (PACE or BAC) -> files (from the SOD) -> chip_auth -> active_auth ->
passive_auth -> qr_check``. Every step records its APDUs, bytes, retries and time; a failure part-way
raises :class:`~cccd_reader.errors.ReadError` whose ``partial`` is the :class:`CardRecord` read so far
(with ``failed_step`` set), so a caller always gets what was read and learns which step failed.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import time
from collections.abc import Callable, Sequence
from typing import Any

from cccd_reader.errors import CCCDError, InputError, ReadError, ReadLinkError, TransportError
from cccd_reader.read.inputs import keys_and_qr, normalise_files
from cccd_reader.read.records import CardRecord, ProgressCallback
from cccd_reader.read.recovery import RECOVERY_TIMEOUT, Recovery
from cccd_reader.read.state import Access, Options, PipelineState
from cccd_reader.read.steps import access as access_step
from cccd_reader.read.steps import authenticity, files, identity, probe
from cccd_reader.transport.base import RandomBytes, Transport

STEPS = ("probe", "card_access", "access", "files", "chip_auth", "active_auth", "passive_auth", "qr_check")

Step = Callable[[PipelineState, Recovery], None]

_STEP_FUNCTIONS: tuple[tuple[str, Step], ...] = (
    ("probe", probe.probe),
    ("card_access", probe.read_card_access),
    ("access", access_step.authenticate),
    ("files", files.read_files),
    ("chip_auth", authenticity.chip_auth),
    ("active_auth", authenticity.active_auth),
    ("passive_auth", authenticity.passive_auth),
)


class Pipeline:
    """Runs the steps in order on one :class:`PipelineState`, charging each its APDUs and time."""

    def __init__(self, state: PipelineState) -> None:
        self.state = state
        self.recovery = Recovery(state, self.reopen)

    def reopen(self, access: Access) -> None:
        """Open the card again the way that worked: PACE/BAC, then CA again if it had passed."""
        access_step.authenticate_with(self.state, access)
        authenticity.redo_chip_auth(self.state)

    def run_step(self, name: str, fn: Step) -> None:
        st = self.state
        stats = st.record.stats.step(name)
        st.link.current = stats
        st.emit(name, "start")
        t0 = st.options.clock()
        try:
            fn(st, self.recovery)
        except ReadError as exc:
            # raised by the pipeline itself (e.g. bytes that would be spliced): attach the record
            st.record.failed_step = exc.step or name
            st.record.error = str(exc)
            identity.finish_identity(st)
            exc.partial = st.record
            raise
        except CCCDError as exc:
            raise self.fail(name, exc) from exc
        except KeyboardInterrupt as exc:
            # Ctrl-C stays a KeyboardInterrupt (it must stop any caller's loop), carrying what was read
            # so far as ``partial``, like a ReadError, so a command can still print it
            st.record.failed_step = name
            st.record.error = "interrupted"
            with contextlib.suppress(Exception):
                identity.finish_identity(st)
            exc.partial = st.record  # type: ignore[attr-defined]
            raise
        finally:
            stats.seconds += st.options.clock() - t0
        st.emit(name, "done")

    def fail(self, step: str, exc: BaseException) -> ReadError:
        st = self.state
        st.record.failed_step = step
        st.record.error = str(exc)
        identity.finish_identity(st)
        kind = ReadLinkError if isinstance(exc, TransportError) else ReadError
        err = kind(str(exc), step=step, partial=st.record)
        err.cause = exc  # type: ignore[attr-defined]
        return err

    def run(self) -> CardRecord:
        for name, fn in _STEP_FUNCTIONS:
            self.run_step(name, fn)
        identity.finish_identity(self.state)
        self.run_step("qr_check", identity.qr_check)
        return self.state.record


def read_card(transport: Transport, key: Any, *, random_bytes: RandomBytes | None = None, trust: Any = None,
              progress: ProgressCallback | None = None,
              files: str | int | Sequence[str | int] | None = None,
              recovery_timeout: float = RECOVERY_TIMEOUT, chunk_size: int | None = None,
              extended_length: bool | None = None, access: str = "auto",
              aa_challenge: bytes | None = None) -> CardRecord:
    """Read the card on ``transport`` with ``key`` (a key, a list of keys, or a ``QRData``).

    ``random_bytes`` feeds every terminal-side random value (replayed traces pass the recorded ones).
    ``trust`` is a ``TrustStore`` (or a path / list of paths to CSCA certificates or master lists).
    ``files`` restricts the data groups read (a name like ``"DG13"``, a number, or a list of them); by
    default every data group listed in EF.SOD is read, except the EAC-protected DG3/DG4. ``chunk_size`` /
    ``extended_length`` override the file reader's READ BINARY size (benchmarks). ``access`` is
    ``"auto"`` (PACE when the card offers it, BAC with an MRZ key when PACE is not possible), ``"pace"``
    or ``"bac"``. ``aa_challenge``: the 8-byte Active Authentication challenge to send, e.g. a nonce a
    server issued so that the verification bundle proves a fresh read (docs/bundle.md); by default a
    random one. ``transport`` is a :class:`~cccd_reader.transport.base.CardTransport` or any object with
    ``transmit``. Returns a :class:`CardRecord`; raises :class:`ReadError` with ``step`` and ``partial``
    (the CardRecord so far) when a step fails; when the link failed (whatever the transport raised or
    answered) it is a :class:`~cccd_reader.errors.ReadLinkError`, also a ``TransportError``. A
    ``KeyboardInterrupt`` (Ctrl-C) during a step is raised as it is, with the record so far attached as
    its ``partial`` attribute (``failed_step`` set, ``error == "interrupted"``).
    """
    keys, qr = keys_and_qr(key)
    if access not in ("auto", "pace", "bac"):
        raise InputError("access must be 'auto', 'pace' or 'bac'")
    if aa_challenge is not None and (not isinstance(aa_challenge, bytes) or len(aa_challenge) != 8):
        raise InputError("the Active Authentication challenge is 8 bytes")
    options = Options(keys=keys, qr=qr, random_bytes=random_bytes, trust=trust, progress=progress,
                      requested=normalise_files(files) if files is not None else None,
                      chunk_size=chunk_size, access_mode=access, clock=time.perf_counter,
                      aa_challenge=aa_challenge)
    state = PipelineState.start(transport, options, recovery_timeout=recovery_timeout,
                                extended_length=extended_length)
    state.record.evidence.read_time = _dt.datetime.now(_dt.UTC).replace(microsecond=0)
    state.record.evidence.qr_payload = qr.raw if qr is not None and qr.raw else None
    return Pipeline(state).run()
