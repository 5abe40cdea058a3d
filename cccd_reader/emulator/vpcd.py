"""Bridge a card object to the ``vpcd`` virtual PC/SC reader, so the whole PC/SC stack can be exercised.

``vpcd`` (the vsmartcard IFD handler loaded by ``pcscd``) listens on TCP port 35963 (slot 0) and 35964
(slot 1) in its default "server mode"; a card connects to it. Messages are a 2-byte big-endian length and a
payload. A 1-byte payload is a control byte (0 power off, 1 power on, 2 reset, 4 get ATR); only "get ATR"
is answered (with the ATR). Anything longer is a command APDU, answered with the response APDU. pcscd
polls presence by sending "get ATR" about every 400 ms, so control bytes are answered at any time.

Debian's vpcd writes the length and the payload in two ``send()`` calls: with the peer's delayed ACK that
costs ~40 ms per APDU unless ``TCP_QUICKACK`` is set again after every ``recv()`` (Linux clears it).

The bridge runs in a daemon thread of the calling process; pyscard releases the GIL while it waits in
``SCardTransmit``, so a pytest process can be both the terminal and the card.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

VPCD_PORT = 35963
"""Slot 0 of the stock ``/etc/reader.conf.d/vpcd`` (``0x8C7B``); slot 1 is ``VPCD_PORT + 1``."""

DEFAULT_ATR = bytes.fromhex("3B80800101")
"""ISO 14443-4 card without historical bytes: the ATR a PC/SC contactless reader synthesises; pcscd then
reports T=1."""

CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0, 1, 2, 4
_SW_INTERNAL_ERROR = b"\x6f\x00"


class BridgeCard(Protocol):
    """What the bridge needs from a card. ``power_on``/``power_off``/``reset`` are optional at run time."""

    def transmit(self, apdu: bytes) -> bytes: ...


class _Disconnect(Exception):
    """Internal: the connection to vpcd must be dropped (peer closed, stop or a simulated removal)."""


class VpcdBridge:
    """Connect ``card`` to vpcd on ``host:port`` and serve it until :meth:`stop`.

    ``remove()`` / ``insert()`` simulate taking the card away and bringing it back (vpcd reports "no
    card" while the socket is closed). ``drop_after(n)`` makes the bridge close the connection instead
    of answering the n-th next command APDU: a tag loss in the middle of an exchange.
    ``on_apdu`` is called with every command APDU (before the card sees it), for tests and benchmarks.
    """

    def __init__(self, card: BridgeCard, *, host: str = "127.0.0.1", port: int = VPCD_PORT,
                 atr: bytes | None = None, on_apdu: Callable[[bytes], None] | None = None) -> None:
        self.card = card
        self.host = host
        self.port = port
        self._atr = atr
        self.on_apdu = on_apdu
        self._stop = threading.Event()
        self._present = threading.Event()
        self._present.set()
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._drop_countdown: int | None = None
        self._drop_away = 0.0
        self.apdu_count = 0
        self.connections = 0

    # -- control ----------------------------------------------------------------------------------------

    @property
    def atr(self) -> bytes:
        if self._atr is not None:
            return self._atr
        value = getattr(self.card, "atr", None)
        if callable(value):
            value = value()
        return bytes(value) if value else DEFAULT_ATR

    def start(self) -> VpcdBridge:
        if self._thread is not None:
            raise RuntimeError("bridge already started")
        self._thread = threading.Thread(target=self._run, name=f"vpcd-bridge-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._close_socket()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> VpcdBridge:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_connected(self, timeout: float = 10.0) -> bool:
        """True once the bridge holds a connection to vpcd (pcscd may still need ~0.4 s to notice)."""
        return self._connected.wait(timeout)

    def remove(self) -> None:
        """Take the card out of the field: close the connection and stay away until :meth:`insert`."""
        self._present.clear()
        self._close_socket()

    def insert(self) -> None:
        self._present.set()

    def drop_after(self, n: int, *, away: float = 0.6) -> None:
        """Close the link instead of answering the ``n``-th next command APDU (1 = the next one). The card
        comes back by itself ``away`` seconds later, as a card put back on the reader would (pcscd polls
        presence every ~0.4 s, so a shorter absence may go unnoticed by it)."""
        with self._lock:
            self._drop_countdown = n
            self._drop_away = away

    # -- the serving thread -----------------------------------------------------------------------------

    def _close_socket(self) -> None:
        with self._lock:
            sock, self._sock = self._sock, None
        self._connected.clear()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._present.wait(0.1):
                continue
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
            except OSError:
                # pcscd (and with it vpcd) is not up yet, or restarting: try again shortly
                self._stop.wait(0.2)
                continue
            sock.settimeout(0.25)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sock = sock
            self.connections += 1
            self._connected.set()
            try:
                self._serve(sock)
            except _Disconnect:
                pass
            except OSError as exc:
                log.debug("vpcd link closed: %s", exc.__class__.__name__)
            finally:
                self._close_socket()

    def _recv_exact(self, sock: socket.socket, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            if self._stop.is_set() or self._sock is not sock:
                raise _Disconnect
            try:
                chunk = sock.recv(n - len(buf))
            except TimeoutError:
                continue
            if not chunk:
                raise _Disconnect
            # Linux clears QUICKACK after it fires: set it again after every recv (see module docstring)
            with contextlib.suppress(OSError, AttributeError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            buf += chunk
        return bytes(buf)

    @staticmethod
    def _send(sock: socket.socket, payload: bytes) -> None:
        sock.sendall(len(payload).to_bytes(2, "big") + payload)

    def _call(self, name: str) -> None:
        method = getattr(self.card, name, None)
        if callable(method):
            try:
                method()
            except Exception:  # a card bug must not kill the reader thread
                log.exception("card %s() failed", name)

    def _serve(self, sock: socket.socket) -> None:
        while True:
            length = int.from_bytes(self._recv_exact(sock, 2), "big")
            payload = self._recv_exact(sock, length) if length else b""
            if len(payload) == 1:
                ctrl = payload[0]
                if ctrl == CTRL_ATR:
                    self._send(sock, self.atr)
                elif ctrl == CTRL_ON:
                    self._call("power_on")
                elif ctrl == CTRL_OFF:
                    self._call("power_off")
                elif ctrl == CTRL_RESET:
                    self._call("reset")
                continue
            if not payload:
                continue
            with self._lock:
                if self._drop_countdown is not None:
                    self._drop_countdown -= 1
                    drop = self._drop_countdown <= 0
                    if drop:
                        self._drop_countdown = None
                else:
                    drop = False
            if drop:
                # a card that leaves the field loses its state (RF off = power off)
                self._call("power_off")
                if self._drop_away > 0:
                    self._present.clear()
                    timer = threading.Timer(self._drop_away, self._present.set)
                    timer.daemon = True
                    timer.start()
                raise _Disconnect
            self.apdu_count += 1
            if self.on_apdu is not None:
                self.on_apdu(payload)
            try:
                response = bytes(self.card.transmit(payload))
            except Exception:
                log.exception("card transmit failed")
                response = _SW_INTERNAL_ERROR
            if len(response) < 2 or len(response) > 0xFFFF:
                # vpcd's frame length is 16 bits: a longer answer cannot be carried, as with a real
                # reader whose buffer is too small
                response = _SW_INTERNAL_ERROR
            self._send(sock, response)


def serve_forever(card: BridgeCard, *, host: str = "127.0.0.1", port: int = VPCD_PORT) -> None:
    """Run a bridge in the foreground until interrupted."""
    bridge = VpcdBridge(card, host=host, port=port).start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        bridge.stop()


def main(argv: list[str] | None = None) -> int:
    """``python3 -m cccd_reader.emulator.vpcd [--sample NAME] [--port 35963]``: put a built-in sample card
    on the vpcd virtual reader (used by drivers/setup-virtual-reader.sh)."""
    import argparse

    from cccd_reader.emulator.samples import DEFAULT_SAMPLE, load_sample, sample_names, sample_qr_payload

    parser = argparse.ArgumentParser(prog="python3 -m cccd_reader.emulator.vpcd",
                                     description="Serve a sample CCCD chip on the vpcd virtual reader.")
    parser.add_argument("--sample", default=DEFAULT_SAMPLE, choices=sample_names())
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=VPCD_PORT, help="35963 = slot 0, 35964 = slot 1")
    parser.add_argument("--show-qr", action="store_true",
                        help="print the sample QR payload (synthetic person), for --qr-text")
    args = parser.parse_args(argv)
    if args.show_qr:
        print(sample_qr_payload(args.sample), flush=True)
    print(f"sample card {args.sample!r} on vpcd {args.host}:{args.port}; Ctrl-C to stop", flush=True)
    serve_forever(load_sample(args.sample), host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
