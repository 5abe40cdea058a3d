"""``cccd-read serve``: the card reader as a local service that web applications call safely.

A page on the desk's web application asks this service, on 127.0.0.1, to read the card on the reader; the
service answers only pages whose origin is on its allow-list, only under a loopback Host name, one read per
reader at a time, and slows down guessing of access keys. docs/serve.md describes the protocol and the
security model.

The web stack (Starlette + uvicorn) is the optional ``serve`` extra: ``pip install 'cccd-reader[serve]'``.
"""

from __future__ import annotations

from .readers import (
    NFCReaders,
    PCSCReaders,
    ReaderBackend,
    ReaderState,
    VirtualReader,
    VirtualReaders,
    emulator_backend,
)
from .security import OriginPolicy, RefusalLimiter, is_loopback_bind, is_loopback_host
from .service import PROTOCOL_VERSION, STEPS, EventHub, ReadRequest, ReadService, ServeError

__all__ = [
    "PROTOCOL_VERSION",
    "STEPS",
    "EventHub",
    "NFCReaders",
    "OriginPolicy",
    "PCSCReaders",
    "ReadRequest",
    "ReadService",
    "ReaderBackend",
    "ReaderState",
    "RefusalLimiter",
    "ServeError",
    "VirtualReader",
    "VirtualReaders",
    "emulator_backend",
    "is_loopback_bind",
    "is_loopback_host",
]
