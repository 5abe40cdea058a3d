"""Running the application: loopback sockets, the uvicorn server, and a server in a thread (tests)."""

from __future__ import annotations

import contextlib
import errno
import logging
import re
import socket
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from cccd_reader.errors import InputError

DEFAULT_PORT = 8731
DEFAULT_HOSTS = ("127.0.0.1", "::1")


def bind_sockets(hosts: Sequence[str], port: int) -> list[socket.socket]:
    """Listening sockets on each address (``::1`` is skipped when the machine has no IPv6 loopback).

    With ``port`` 0 the first socket gets a free port and the others the same one."""
    out: list[socket.socket] = []
    try:
        for host in hosts:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                if sys.platform == "win32":
                    # on Windows SO_REUSEADDR would let another program bind the same port and take the
                    # connections meant for the service; exclusive use is the safe choice there
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
                else:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind((host.strip("[]"), port))
            except OSError as exc:
                sock.close()
                if host in DEFAULT_HOSTS and host != hosts[0] and exc.errno in (
                        errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                    continue  # no IPv6 loopback here: 127.0.0.1 is enough
                raise InputError(f"cannot listen on {host} port {port}: {exc.strerror}") from None
            sock.listen(128)
            sock.set_inheritable(True)
            port = port or sock.getsockname()[1]
            out.append(sock)
    except BaseException:
        for s in out:
            s.close()
        raise
    return out


class _RedactToken(logging.Filter):
    """The server logs each WebSocket handshake with its query string, where a page puts the token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(_TOKEN_RE.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        return True


_TOKEN_RE = re.compile(r"((?:^|[?&])token=)[^&\s\"]*")


def uvicorn_config(app: Any, *, log_level: str = "info") -> Any:
    """The server's settings: no access log (request lines may carry a token), no proxy headers trusted,
    no Server header."""
    import uvicorn

    config = uvicorn.Config(app, log_level=log_level, access_log=False, proxy_headers=False,
                            server_header=False, lifespan="on", ws="websockets-sansio",
                            timeout_graceful_shutdown=5)
    error_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _RedactToken) for f in error_log.filters):
        error_log.addFilter(_RedactToken())
    return config


def run(app: Any, sockets: list[socket.socket], *, log_level: str = "info") -> None:
    """Serve until interrupted."""
    import uvicorn

    uvicorn.Server(uvicorn_config(app, log_level=log_level)).run(sockets=sockets)


class ServerThread:
    """The application served on a free loopback port in a daemon thread (tests and benchmarks)."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0,
                 log_level: str = "warning") -> None:
        import uvicorn

        self.sockets = bind_sockets([host], port)
        self.port = int(self.sockets[0].getsockname()[1])
        self.url = f"http://{host}:{self.port}"
        self.server = uvicorn.Server(uvicorn_config(app, log_level=log_level))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": self.sockets}, daemon=True)

    def start(self, timeout: float = 10.0) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the service did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
