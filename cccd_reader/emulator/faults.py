"""Chip-side fault injection: the failures a reader meets in the field, on demand and reproducibly.

Readers in the wild break on exactly these (reference: peer-readers §4-5): the tag leaves the field in
the middle of a file, a chip refuses long reads with 6700, a chip answers an error without secure
messaging (a "naked" status word) after a protected command, a response MAC is wrong, answers are slow.
Each fault here says *when* it fires (:class:`When`) and the :class:`VirtualCard` consults them on every
command, so a test can say "drop the link after the 12th APDU" or "answer the 3rd protected READ BINARY
with a naked 6A82" and get the same behaviour on every run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

INS_READ_BINARY = 0xB0
INS_READ_BINARY_ODD = 0xB1


@dataclass
class When:
    """Which commands a fault fires on, counted from the moment the fault is armed.

    ``nth`` is 1-based among the commands that match ``ins`` (``None``: any instruction) and
    ``secure`` (``True``: only commands under secure messaging, ``False``: only plain ones, ``None``:
    both). With ``repeat`` the fault fires on the nth match and every later one; otherwise once.
    """

    nth: int = 1
    ins: int | None = None
    secure: bool | None = None
    repeat: bool = False
    seen: int = field(default=0, init=False)
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.nth < 1:
            raise ValueError("nth is 1-based")

    def matches(self, ins: int, secure: bool) -> bool:
        """Count this command and say whether the fault fires on it."""
        if self.ins is not None and ins != self.ins:
            return False
        if self.secure is not None and secure != self.secure:
            return False
        self.seen += 1
        if self.seen < self.nth or (self.fired and not self.repeat):
            return False
        self.fired += 1
        return True


class Fault:
    """Base of the injectable faults."""

    when: When


@dataclass
class DropLink(Fault):
    """The card leaves the field: after ``after`` commands have been answered the next one raises
    :class:`~cccd_reader.errors.CardRemovedError`, and so does every command until the card is powered on
    again (``reconnect()``/``power_on()``), which it comes back from with no secure-messaging session.

    Fires once unless ``when.repeat``: then it drops again ``after`` commands after each reconnection.
    """

    after: int = 0
    ins: int | None = None
    repeat: bool = False
    when: When = field(init=False)

    def __post_init__(self) -> None:
        if self.after < 0:
            raise ValueError("after must be >= 0")
        self.when = When(nth=self.after + 1, ins=self.ins, repeat=False)

    def rearm(self) -> None:
        """Count again from zero (after a reconnection, for a repeating drop)."""
        if self.repeat and self.when.fired:
            self.when = When(nth=self.after + 1, ins=self.ins, repeat=False)


@dataclass
class ReadLimit(Fault):
    """READ BINARY asking for more than ``limit`` bytes is answered 6700 (wrong length), like chips and
    readers that cannot carry long frames."""

    limit: int
    when: When = field(default_factory=lambda: When(repeat=True))

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError("limit must be >= 1")


@dataclass
class NakedError(Fault):
    """Answer a command received under secure messaging with a bare status word (no DO'99'/DO'8E').

    Real chips that do this have dropped the session, so unless ``keep_session`` the chip forgets its
    session keys too: the reader must re-authenticate.
    """

    sw: int = 0x6988
    when: When = field(default_factory=lambda: When(secure=True))
    keep_session: bool = False

    def __post_init__(self) -> None:
        if not 0x6000 <= self.sw <= 0x6FFF:
            raise ValueError("a naked error is a 6Xxx status word")
        self.when.secure = True


@dataclass
class CorruptMAC(Fault):
    """Flip one bit of the MAC (DO'8E') of a protected response: the reader must notice and refuse it."""

    when: When = field(default_factory=lambda: When(secure=True))

    def __post_init__(self) -> None:
        self.when.secure = True


@dataclass
class Delay(Fault):
    """Sleep ``seconds`` before answering (every command unless ``when`` says otherwise).

    ``sleep`` is injectable so tests can count the delays instead of waiting.
    """

    seconds: float
    when: When = field(default_factory=lambda: When(repeat=True))
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if self.seconds < 0:
            raise ValueError("a delay cannot be negative")


class FaultInjector:
    """The armed faults of one card, consulted by the card's command loop."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self.faults: list[Fault] = list(faults)

    def add(self, fault: Fault) -> None:
        self.faults.append(fault)

    def clear(self) -> None:
        self.faults.clear()

    def _of(self, kind: type[Fault]) -> list[Fault]:
        return [f for f in self.faults if isinstance(f, kind)]

    def delay(self, ins: int, secure: bool) -> None:
        for f in self._of(Delay):
            assert isinstance(f, Delay)
            if f.when.matches(ins, secure) and f.seconds:
                f.sleep(f.seconds)

    def drops(self, ins: int, secure: bool) -> bool:
        hit = False
        for f in self._of(DropLink):
            if f.when.matches(ins, secure):
                hit = True
        return hit

    def on_reconnect(self) -> None:
        for f in self._of(DropLink):
            assert isinstance(f, DropLink)
            f.rearm()

    def naked_error(self, ins: int, secure: bool) -> NakedError | None:
        for f in self._of(NakedError):
            assert isinstance(f, NakedError)
            if f.when.matches(ins, secure):
                return f
        return None

    def read_limit(self, ins: int, secure: bool, ne: int) -> bool:
        """True when a READ BINARY asking for ``ne`` bytes must be refused with 6700."""
        refuse = False
        for f in self._of(ReadLimit):
            assert isinstance(f, ReadLimit)
            if ne > f.limit and f.when.matches(ins, secure):
                refuse = True
        return refuse

    def corrupt_mac(self, ins: int, secure: bool) -> bool:
        hit = False
        for f in self._of(CorruptMAC):
            if f.when.matches(ins, secure):
                hit = True
        return hit


def corrupt_response_mac(response: bytes) -> bytes:
    """Flip the last bit of the DO'8E' checksum of a protected response (data + SW)."""
    body = bytearray(response)
    # a protected response ends with 8E 08 <8-byte MAC> SW1 SW2 (8E 04/... for shorter MACs is not used)
    for mac_len in (8, 16, 4):
        start = len(body) - 2 - mac_len - 2
        if start >= 0 and body[start] == 0x8E and body[start + 1] == mac_len:
            body[start + 2 + mac_len - 1] ^= 0x01
            return bytes(body)
    if len(body) > 2:
        body[-3] ^= 0x01  # no recognisable DO'8E': damage the last data byte instead
    return bytes(body)
