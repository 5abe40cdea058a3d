"""The service's security rules as plain functions and small classes, free of any web framework.

Each rule answers one question a request raises (is this Host a loopback name? is this Origin allowed?
may this card be tried again?), so the rules are tested one by one and the web layer only applies them.
"""

from __future__ import annotations

import hmac
import ipaddress
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from cccd_reader.errors import InputError

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
"""Host names a browser uses for this machine. ``*.localhost`` is left out on purpose: some resolvers
send it to the network."""


def split_host(host_header: str) -> tuple[str, int | None]:
    """``"127.0.0.1:8765"`` -> ``("127.0.0.1", 8765)``; ``"[::1]:8765"`` -> ``("::1", 8765)``.

    Raises InputError for a malformed header (the request is then refused)."""
    text = host_header.strip().lower()
    if not text:
        raise InputError("empty Host header")
    port: int | None = None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise InputError("malformed Host header")
        name, rest = text[1:end], text[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise InputError("malformed Host header")
            port = _port(rest[1:])
    elif text.count(":") == 1:
        name, _, tail = text.partition(":")
        port = _port(tail)
    elif ":" in text:
        raise InputError("malformed Host header (an IPv6 address must be in brackets)")
    else:
        name = text
    return name.rstrip("."), port


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise InputError("malformed port in Host header")
    return int(text)


def is_loopback_host(host_header: str | None, *, extra: Iterable[str] = ()) -> bool:
    """Whether a Host header names this machine (DNS-rebinding protection).

    A page on ``evil.example`` whose name is re-pointed at 127.0.0.1 reaches the service with
    ``Host: evil.example``; only loopback names (and the names in ``extra``, for a service bound to
    another address on purpose) are accepted."""
    if not host_header:
        return False
    try:
        name = split_host(host_header)[0]
    except InputError:
        return False
    allowed = LOOPBACK_NAMES | {e.strip().lower().strip("[]") for e in extra}
    if name in allowed:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_loopback_bind(address: str) -> bool:
    """Whether binding ``address`` keeps the service on this machine."""
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def normalise_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, default ports dropped; InputError if it is not an origin."""
    text = origin.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError("an origin is http(s)://host[:port]")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise InputError("an origin has no path, query, fragment or credentials")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError as exc:
        raise InputError("an origin's port must be a number") from exc
    default = 80 if parts.scheme == "http" else 443
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


@dataclass(frozen=True)
class OriginPolicy:
    """The allow-list of web origins. ``Origin: null`` (sandboxed frames, files) is never allowed, and
    there is no wildcard: a desk allows the web application it uses, by name."""

    allowed: frozenset[str] = frozenset()

    @classmethod
    def from_list(cls, origins: Iterable[str]) -> OriginPolicy:
        out = set()
        for origin in origins:
            if origin.strip() in ("*", "null"):
                raise InputError("origins are listed one by one: '*' and 'null' are not accepted")
            out.add(normalise_origin(origin))
        return cls(frozenset(out))

    def allows(self, origin: str | None, *, own: Iterable[str] = ()) -> bool:
        """``origin`` is allowed when it is on the list or is the service's own origin (``own``: the
        page the service serves itself)."""
        if origin is None:
            return False
        try:
            norm = normalise_origin(origin)
        except InputError:
            return False
        if norm in self.allowed:
            return True
        for o in own:
            try:
                if norm == normalise_origin(o):
                    return True
            except InputError:
                continue
        return False


def token_matches(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of the shared token (no token configured: always true)."""
    if not expected:
        return True
    if not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


@dataclass
class _CardAttempts:
    refused: int = 0
    locked_until: float = 0.0
    lockouts: int = 0


@dataclass
class RefusalLimiter:
    """Refused access keys, counted per card (a reader and one placement of a card on it).

    After ``allowed`` refused keys the card is locked for ``base_lock`` seconds; each further refusal
    doubles the lock, up to ``max_lock``. A chip slows down or suspends PACE after wrong keys, so a page
    that guesses CANs would harm the card as well as learn it. A new placement of a card (a person took
    it off and put it back) starts a new count: that needs a human at the desk, not a script.
    """

    allowed: int = 3
    base_lock: float = 30.0
    max_lock: float = 600.0
    clock: Callable[[], float] = time.monotonic
    _cards: dict[str, _CardAttempts] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def retry_after(self, card: str) -> float:
        """Seconds until ``card`` may be tried again (0: now)."""
        with self._lock:
            state = self._cards.get(card)
            if state is None:
                return 0.0
            now: float = self.clock()
            return max(0.0, state.locked_until - now)

    def refused(self, card: str, keys: int = 1) -> float:
        """Count ``keys`` refused keys for ``card``; return the lock now in force (seconds, 0 = none)."""
        with self._lock:
            state = self._cards.setdefault(card, _CardAttempts())
            state.refused += max(1, keys)
            if state.refused < self.allowed:
                return 0.0
            lock: float = min(self.max_lock, self.base_lock * 2.0 ** state.lockouts)
            state.lockouts += 1
            state.locked_until = self.clock() + lock
            return lock

    def accepted(self, card: str) -> None:
        """The card opened with a key: its count starts again."""
        with self._lock:
            self._cards.pop(card, None)

    def forget(self, card: str) -> None:
        with self._lock:
            self._cards.pop(card, None)
