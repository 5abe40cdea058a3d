"""Coming back after a tag loss: wait for the card, open it again the way that worked, go on.

Contactless reads fail when the card moves. When the link drops (``CardRemovedError``) or the
secure-messaging session dies (the chip forgets its keys when it loses power), the pipeline waits for the
card to come back (:data:`RECOVERY_TIMEOUT` seconds in all, at most :data:`MAX_RECOVERIES` times per read),
authenticates again with the key and protocol that worked, and resumes the interrupted step. A card that
comes back but cannot be opened the same way is a different card: ``ReadError``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from cccd_reader.errors import (
    AccessDenied,
    CardError,
    CardRemovedError,
    ReadError,
    SecureMessagingError,
    UnsupportedProtocol,
)
from cccd_reader.read.state import Access, PipelineState

MAX_RECOVERIES = 5
"""Tag losses recovered from per read at most; beyond that the link is too unstable to finish."""

RECOVERY_TIMEOUT = 30.0
"""Seconds, over the whole read, spent waiting for the card to come back after tag losses."""

T = TypeVar("T")


def session_dead(exc: BaseException) -> bool:
    """A secure-messaging failure after which the chip has dropped its keys: re-authenticate."""
    return isinstance(exc, SecureMessagingError)


class Recovery:
    """The pipeline's ways back after a tag loss, all drawing on one budget kept in the state."""

    def __init__(self, state: PipelineState, reauthenticate: Callable[[Access], None]) -> None:
        self.state = state
        self.reauthenticate = reauthenticate

    def recover(self, step: str, exc: BaseException) -> None:
        """Wait for the card, authenticate again with the key that worked, select the application."""
        st = self.state
        link = st.link
        stats = st.record.stats
        clock = st.options.clock
        if st.access is None or not link.reconnectable:
            raise exc
        if stats.recoveries >= MAX_RECOVERIES or st.recovery_budget <= 0:
            raise CardRemovedError("the card was lost too many times or did not come back in time; "
                                   "hold it still on the reader and try again") from exc
        stats.recoveries += 1
        link.current.retries += 1
        st.emit(step, "retry", message="card lost: waiting for it to come back")
        while True:
            t0 = clock()
            try:
                link.reconnect(timeout=max(0.1, st.recovery_budget))
                st.sm = None
                self.reauthenticate(st.access)
                st.recovery_budget -= clock() - t0
                return
            except (CardRemovedError, SecureMessagingError) as again:
                st.recovery_budget -= max(clock() - t0, 0.05)
                if st.recovery_budget <= 0:
                    raise CardRemovedError("the card did not come back in time; hold it still on the "
                                           "reader and try again") from again
                time.sleep(0.05)
            except (AccessDenied, UnsupportedProtocol, CardError) as refused:
                err = ReadError("the card that came back cannot be opened the way the first one was: "
                                "a different card? Read it again", step=step, partial=st.record)
                err.cause = refused  # type: ignore[attr-defined]
                raise err from refused

    def guarded(self, step: str, fn: Callable[[], T]) -> T:
        """Run ``fn``; on a tag loss / dead session recover and run it again (bounded)."""
        while True:
            try:
                return fn()
            except (CardRemovedError, SecureMessagingError) as exc:
                if isinstance(exc, SecureMessagingError) and not session_dead(exc):
                    raise
                self.recover(step, exc)

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
