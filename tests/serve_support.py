"""Support for the service tests: a service over in-process virtual chips, and chips that pause or leave."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from cccd_reader.emulator import load_sample, sample_persona, sample_trust_anchor
from cccd_reader.serve import ReadService, RefusalLimiter, VirtualReader, VirtualReaders
from cccd_reader.serve.app import ServeSettings, create_app
from cccd_reader.serve.security import OriginPolicy
from cccd_reader.verify import TrustStore

PORT = 8731
BASE = f"http://127.0.0.1:{PORT}"
WS = f"ws://127.0.0.1:{PORT}/v1/events"
ALLOWED = "https://desk.example.vn"
OTHER = "https://evil.example"


class ScriptedCard:
    """A virtual chip with a hook before each APDU (``hook(n)``, n counted from 1): tests pause a read
    there, or take the card off the reader."""

    def __init__(self, card: Any, hook: Callable[[int], None] | None = None) -> None:
        self.card = card
        self.hook = hook
        self.apdus = 0

    @property
    def atr(self) -> bytes:
        return bytes(self.card.atr)

    @property
    def present(self) -> bool:
        return bool(self.card.present)

    def power_on(self) -> bytes:
        return bytes(self.card.power_on())

    def reconnect(self) -> None:
        self.card.reconnect()

    def transmit(self, apdu: bytes) -> bytes:
        self.apdus += 1
        if self.hook is not None:
            self.hook(self.apdus)
        return bytes(self.card.transmit(apdu))


class Gate:
    """Pauses the first APDU of a read until ``open()``; ``entered`` is set once a read is inside."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.go = threading.Event()

    def __call__(self, n: int) -> None:
        if n == 1:
            self.entered.set()
            assert self.go.wait(30), "the gate was never opened"

    def open(self) -> None:
        self.go.set()


def make_service(sample: str = "an", *, card: Any = None, limiter: RefusalLimiter | None = None,
                 recovery_timeout: float | None = 0.5,
                 wait: float = 0.0) -> tuple[ReadService, VirtualReader]:
    reader = VirtualReader("Virtual chip 0", card if card is not None else load_sample(sample))
    service = ReadService(VirtualReaders([reader]), trust=TrustStore.from_paths(sample_trust_anchor()),
                          limiter=limiter, recovery_timeout=recovery_timeout, wait=wait)
    return service, reader


def make_app(service: ReadService, *, token: str | None = None, origins: tuple[str, ...] = (ALLOWED,)) -> Any:
    return create_app(service, ServeSettings(origins=OriginPolicy.from_list(origins), token=token),
                      poll_interval=0.05)


def persona(sample: str = "an") -> Any:
    return sample_persona(sample)
