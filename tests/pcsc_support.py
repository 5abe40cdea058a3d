"""PC/SC test support: one pcscd for the session, a vpcd slot held under a file lock, a swappable card.

* ``pcscd_service`` (session): uses a running pcscd that lists the "Virtual PCD" readers, else starts
  ``pcscd --foreground --error`` (root) and polls ``readers()`` up to 10 s; it stops it at the end only if
  it started it. Without pcscd or the vpcd driver the tests skip, except under CI=true, where they fail.
* ``vpcd_slot`` (session): one of vpcd's two slots (TCP 35963 / 35964), claimed with an exclusive
  ``flock`` so that PC/SC tests of concurrent pytest processes on this machine are serialised (there is
  one pcscd per machine and two slots). One slot per process, however many modules use the fixtures.
* ``pcsc_reader`` (session): a :class:`VpcdBridge` connected to the slot, serving a
  :class:`SwitchableCard`; ``pcsc_reader.use(card)`` puts another card object behind it (a power-on, no
  physical re-insertion, which would cost ~0.8 s of pcscd polling per test).

The fixtures are registered for every test module in tests/conftest.py; a module needs only the helpers
(``from pcsc_support import card_on``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
VPCD_DRIVER_PATHS = ("/usr/lib/pcsc/drivers/serial/libifdvpcd.so",
                     "/usr/lib64/pcsc/drivers/serial/libifdvpcd.so")
SLOT_PORTS = (35963, 35964)


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"PC/SC end-to-end tests cannot run in CI: {reason}")
    pytest.skip(reason)


def _virtual_readers() -> list[str]:
    try:
        from smartcard.System import readers
    except ImportError:
        return []
    try:
        return [str(r) for r in readers() if str(r).startswith("Virtual PCD")]
    except Exception:
        return []


class _Shared:
    """One pcscd, one vpcd slot and one bridge per test process, however many modules import the
    fixtures (pytest makes a separate session fixture for each module that imports one): every fixture
    instance takes a reference, and the last one to be torn down cleans up."""

    def __init__(self) -> None:
        self.stack = contextlib.ExitStack()
        self.refs = 0
        self.readers: list[str] | None = None
        self.slot: tuple[int, str] | None = None
        self.reader: PCSCReader | None = None

    @contextlib.contextmanager
    def ref(self) -> Iterator[None]:
        self.refs += 1
        try:
            yield
        finally:
            self.refs -= 1
            if self.refs == 0:
                stack, self.stack = self.stack, contextlib.ExitStack()
                self.readers = self.slot = self.reader = None
                stack.close()


_SHARED = _Shared()


@contextlib.contextmanager
def _pcscd() -> Iterator[list[str]]:
    try:
        import smartcard  # noqa: F401
    except ImportError:
        _missing("pyscard is not installed")
    found = _virtual_readers()
    if found:
        yield found
        return
    binary = shutil.which("pcscd") or ("/usr/sbin/pcscd" if Path("/usr/sbin/pcscd").exists() else None)
    if binary is None:
        _missing("pcscd is not installed (apt-get install pcscd vsmartcard-vpcd)")
    if not any(Path(p).exists() for p in VPCD_DRIVER_PATHS):
        _missing("the vpcd driver is not installed (apt-get install --no-install-recommends vsmartcard-vpcd)")
    assert binary is not None
    proc = subprocess.Popen([binary, "--foreground", "--error"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            found = _virtual_readers()
            if found:
                break
            if proc.poll() is not None:
                # another pcscd may have won the race for the socket: use it if it lists vpcd
                found = _virtual_readers()
                break
            time.sleep(0.1)
        if not found:
            _missing("pcscd started but lists no Virtual PCD reader (is /etc/reader.conf.d/vpcd there?)")
        yield found
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextlib.contextmanager
def _slot(readers: list[str]) -> Iterator[tuple[int, str]]:
    deadline = time.monotonic() + 180
    while True:
        for index, port in enumerate(SLOT_PORTS):
            path = f"/tmp/cccd-reader-vpcd-{port}.lock"
            try:
                lock = open(path, "a")  # noqa: SIM115  held for the session
            except PermissionError:  # created by another user (root): a read-only handle locks as well
                lock = open(path)  # noqa: SIM115
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                lock.close()
                continue
            names = [n for n in readers if n.endswith(f" {index:02d}")]
            names = names or [f"Virtual PCD 00 {index:02d}"]
            try:
                yield port, names[0]
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
                lock.close()
            return
        if time.monotonic() > deadline:
            pytest.fail("both vpcd slots stayed busy for 3 minutes (other test sessions on this machine?)")
        time.sleep(0.5)


@pytest.fixture(scope="session")
def pcscd_service() -> Iterator[list[str]]:
    with _SHARED.ref():
        if _SHARED.readers is None:
            _SHARED.readers = _SHARED.stack.enter_context(_pcscd())
        yield _SHARED.readers


@pytest.fixture(scope="session")
def vpcd_slot(pcscd_service: list[str]) -> Iterator[tuple[int, str]]:
    """(port, reader name) of a vpcd slot this process holds exclusively."""
    with _SHARED.ref():
        if _SHARED.slot is None:
            _SHARED.slot = _SHARED.stack.enter_context(_slot(pcscd_service))
        yield _SHARED.slot


class SwitchableCard:
    """Forwards to ``current``; lets one vpcd connection serve many card objects in turn."""

    def __init__(self) -> None:
        self.current: Any = None

    @property
    def atr(self) -> bytes:
        card = self.current
        value = getattr(card, "atr", None) if card is not None else None
        return bytes(value) if value else bytes.fromhex("3B80800101")

    def transmit(self, apdu: bytes) -> bytes:
        if self.current is None:
            return b"\x6f\x00"
        return bytes(self.current.transmit(apdu))

    def _call(self, name: str) -> None:
        method = getattr(self.current, name, None)
        if callable(method):
            method()

    def power_on(self) -> None:
        self._call("power_on")

    def power_off(self) -> None:
        self._call("power_off")

    def reset(self) -> None:
        self._call("reset")


@dataclass
class PCSCReader:
    """The session's virtual reader: ``use(card)`` puts a card on it; ``name`` is its PC/SC name."""

    name: str
    port: int
    bridge: Any
    card: SwitchableCard = field(default_factory=SwitchableCard)

    def use(self, card: Any) -> str:
        """Put ``card`` on the reader. pcscd reads the ATR only when a card is inserted, so a card with
        another ATR than the one pcscd reports is inserted for real (taken away, then put back)."""
        new_atr = bytes(getattr(card, "atr", b"") or bytes.fromhex("3B80800101"))
        if self.current_atr() not in (None, new_atr):
            self.bridge.remove()
            self.wait_present(present=False)
        self.card.current = card
        self.bridge.insert()
        power_on = getattr(card, "power_on", None)
        if callable(power_on):
            power_on()
        self.bridge.on_apdu = None
        return self.name

    def current_atr(self) -> bytes | None:
        from cccd_reader.transport.pcsc import list_readers

        for r in list_readers():
            if r.name == self.name and r.card_present:
                return r.atr
        return None

    def wait_present(self, timeout: float = 10.0, *, present: bool = True) -> None:
        from cccd_reader.transport.pcsc import list_readers

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(r.name == self.name and r.card_present for r in list_readers()) == present:
                return
            time.sleep(0.05)
        what = "appear" if present else "go away"
        pytest.fail(f"{self.name}: the virtual card did not {what} within {timeout} s")


@contextlib.contextmanager
def _bridge(port: int, name: str) -> Iterator[PCSCReader]:
    from cccd_reader.emulator.vpcd import VpcdBridge

    switch = SwitchableCard()
    bridge = VpcdBridge(switch, port=port).start()
    reader = PCSCReader(name=name, port=port, bridge=bridge, card=switch)
    try:
        if not bridge.wait_connected(10):
            pytest.fail(f"the vpcd bridge could not connect to port {port}")
        reader.wait_present()
        yield reader
    finally:
        bridge.stop()


@pytest.fixture(scope="session")
def pcsc_reader(vpcd_slot: tuple[int, str]) -> Iterator[PCSCReader]:
    with _SHARED.ref():
        if _SHARED.reader is None:
            _SHARED.reader = _SHARED.stack.enter_context(_bridge(*vpcd_slot))
        yield _SHARED.reader


@contextlib.contextmanager
def card_on(reader: PCSCReader, card: Any) -> Iterator[str]:
    """Put ``card`` on the session reader for the duration of a ``with`` block."""
    name = reader.use(card)
    reader.wait_present()
    try:
        yield name
    finally:
        reader.card.current = None
        reader.bridge.insert()


__all__ = ["IN_CI", "PCSCReader", "SwitchableCard", "card_on", "pcsc_reader", "pcscd_service", "vpcd_slot"]
