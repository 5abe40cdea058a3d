"""One bounded recovery policy for every step of the read.

Contactless links fail in many small ways: the card moves out of the field (tag loss), an answer comes
back damaged (its secure-messaging MAC does not verify), a command is answered with a bare status word
that does not fit (6A82 for a file the SOD lists, 6982 half-way through a file), an answer has no status
word. None of these proves anything about the card; a genuine card answers correctly the next time. So
every step that talks to the card (access, EF.SOD, each data group at any offset, Chip Authentication,
Active Authentication) runs through :meth:`Recovery.guarded`:

1. on a transient failure (:class:`~cccd_reader.errors.TransientError`, which includes tag loss, or
   :class:`~cccd_reader.errors.SecureMessagingError`, or a status word the step says it did not expect),
2. wait for the card if the link dropped (reconnect), then open it again the way that worked (PACE or
   BAC with the same key and parameters; Chip Authentication again if it had run, so what follows stays
   bound to the chip that proved its key). A bare status word leaves the session usable, so a file read
   is first simply asked again; CA and AA always start over on a freshly opened card;
3. and run the step again: a file resumes at its offset, Active Authentication draws a fresh challenge.

Bounds (so a dead or hostile card still ends quickly):

* :data:`MAX_ATTEMPTS`: tries of one unit of work (one file, one CA or AA run, one access attempt); after
  that the unit *could not complete*: the step records it and the verdict is ``incomplete``.
* :data:`MAX_RECOVERIES`: re-openings of the card per read; beyond that the read stops (``ReadError``).
* :data:`RECOVERY_TIMEOUT`: seconds spent waiting for the card to come back, over the whole read.

A card that comes back but cannot be opened the same way is a different card: ``ReadError``. Bytes read
across a recovery must match EF.SOD (see ``steps/files``), so nothing from two chips is ever spliced.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from cccd_reader.errors import (
    CardRemovedError,
    CCCDError,
    ReadError,
    SecureMessagingError,
    TransientError,
)
from cccd_reader.read.state import Access, PipelineState

MAX_ATTEMPTS = 3
"""Tries of one unit of work (a file, a CA or AA run, an access attempt) before it could not complete."""

MAX_RECOVERIES = 5
"""Re-openings of the card (after a tag loss or any other transient failure) per read at most."""

RECOVERY_TIMEOUT = 30.0
"""Seconds, over the whole read, spent waiting for the card to come back after tag losses."""

T = TypeVar("T")


class StepIncomplete(TransientError):
    """A unit of work failed transiently :data:`MAX_ATTEMPTS` times: it could not complete.

    ``what`` names the file or protocol; ``__cause__`` is the last failure. Steps catch it and record it
    with :meth:`~cccd_reader.read.records.ReadSecurity.could_not_complete`.
    """

    def __init__(self, message: str, *, step: str, what: str) -> None:
        super().__init__(message, step=step)
        self.what = what


def transient(exc: BaseException) -> bool:
    """A failure that proves nothing and may pass on a retry (tag loss, damaged answer, bare SW...)."""
    return isinstance(exc, TransientError | SecureMessagingError) and not isinstance(exc, StepIncomplete)


def session_dead(exc: BaseException) -> bool:
    """A secure-messaging failure after which the chip has dropped its keys: re-authenticate."""
    return isinstance(exc, SecureMessagingError)


class Recovery:
    """The pipeline's one way back, drawing on one budget kept in the state."""

    def __init__(self, state: PipelineState, reauthenticate: Callable[[Access], None]) -> None:
        self.state = state
        self.reauthenticate = reauthenticate

    def recover(self, step: str, exc: BaseException) -> None:
        """Wait for the card if it was lost, then open it again with the key and protocol that worked."""
        st = self.state
        link = st.link
        stats = st.record.stats
        clock = st.options.clock
        lost = isinstance(exc, CardRemovedError)
        if st.access is None or (lost and not link.reconnectable):
            raise exc
        if stats.recoveries >= MAX_RECOVERIES or st.recovery_budget <= 0:
            raise CardRemovedError("the card was lost too many times or did not come back in time; "
                                   "hold it still on the reader and try again") from exc
        stats.recoveries += 1
        link.current.retries += 1
        st.emit(step, "retry", message="card lost: waiting for it to come back" if lost
                else "the card's answer could not be used: opening it again")
        failures = 0  # re-openings that failed other than by losing the card
        while True:
            t0 = clock()
            try:
                if lost:
                    link.reconnect(timeout=max(0.1, st.recovery_budget))
                st.sm = None
                self.reauthenticate(st.access)
                st.recovery_budget -= clock() - t0
                return
            except CardRemovedError as again:
                st.recovery_budget -= max(clock() - t0, 0.05)
                if st.recovery_budget <= 0 or not link.reconnectable:
                    raise CardRemovedError("the card did not come back in time; hold it still on the "
                                           "reader and try again") from again
                lost = True
                time.sleep(0.05)
            except CCCDError as refused:
                # a glitch while opening it again (a damaged PACE answer looks exactly like a refused
                # key) is retried; a card that refuses the way that worked every time is another card
                st.recovery_budget -= clock() - t0
                failures += 1
                if failures < MAX_ATTEMPTS:
                    continue
                err = ReadError(f"the card could not be opened again the way it was first opened ({failures} "
                                "attempts): a different card, or a link too unstable to finish. Read it "
                                "again", step=step, partial=st.record)
                err.cause = refused  # type: ignore[attr-defined]
                raise err from refused

    def guarded(self, step: str, fn: Callable[[], T], *, what: str = "",
                retry_on: tuple[type[BaseException], ...] = (), reopen: bool = False) -> T:
        """Run ``fn``; on a transient failure (or one of ``retry_on``) run it again, :data:`MAX_ATTEMPTS`
        times at most, then raise :class:`StepIncomplete` (its cause: the last failure).

        Before running it again the card is opened again (:meth:`recover`) when the link dropped, when the
        secure-messaging session is dead, or always with ``reopen`` (protocols whose chip-side state a
        half-done run leaves unknown). A bare status word leaves the session usable (see crypto/sm), so
        otherwise the step is simply repeated. A card that does not come back ends the read
        (``CardRemovedError``)."""
        attempts = 0
        st = self.state
        while True:
            try:
                return fn()
            except Exception as exc:
                if not (transient(exc) or isinstance(exc, retry_on)):
                    raise
                attempts += 1
                if attempts >= MAX_ATTEMPTS:
                    raise StepIncomplete(f"{what or step} could not complete after {attempts} attempts "
                                         f"({exc})", step=step, what=what or step) from exc
                if reopen or isinstance(exc, CardRemovedError | SecureMessagingError):
                    self.recover(step, exc)
                else:
                    st.link.current.retries += 1
                    st.emit(step, "retry", message="the card's answer could not be used: asking again")

    def guarded_auth(self, access: Access) -> None:
        """Authenticate; a tag loss during the protocol is retried on the returned card (twice at most)."""
        st = self.state
        attempts = 0
        while True:
            try:
                self.reauthenticate(access)
                return
            except CardRemovedError:
                attempts += 1
                if attempts > 2 or not st.link.reconnectable:
                    raise
                st.record.stats.recoveries += 1
                st.link.current.retries += 1
                st.link.reconnect(timeout=max(0.1, st.recovery_budget))

    def before_access(self, step: str, attempts: int) -> bool:
        """A tag loss before anything is authenticated: wait for the card and say ``True`` (twice at most
        per step); ``False`` when the caller should give up and re-raise the loss."""
        st = self.state
        if attempts > 2 or not st.link.reconnectable:
            return False
        st.record.stats.recoveries += 1
        st.link.current.retries += 1
        st.emit(step, "retry", message="card lost: waiting for it to come back")
        st.link.reconnect(timeout=max(0.1, st.recovery_budget))
        return True
