"""The web layer: a Starlette application over :class:`~cccd_reader.serve.service.ReadService`.

Every request passes :class:`Guard` first (Host, Origin, token; CORS and Private Network Access
preflights), then reaches the routes of protocol version 1 (docs/serve.md).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from cccd_reader.errors import CCCDError

from .security import OriginPolicy, is_loopback_host, token_matches
from .service import PROTOCOL_VERSION, ReadRequest, ReadService, ServeError

log = logging.getLogger("cccd_reader.serve")

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 64 * 1024
TOKEN_HEADER = "x-cccd-token"  # noqa: S105  (a header name, not a secret)
ALLOWED_METHODS = "GET, POST, DELETE, OPTIONS"
ALLOWED_HEADERS = "content-type, authorization, x-cccd-token"


@dataclass(frozen=True)
class ServeSettings:
    """How the web layer guards the service.

    ``origins``: the allow-list of web origins. ``token``: a shared secret every ``/v1`` request must
    carry (``Authorization: Bearer``, the ``X-CCCD-Token`` header, or ``?token=`` on the WebSocket, where a
    browser cannot set headers). ``hosts``: names accepted in the Host header besides the loopback ones
    (only for a service bound to another address on purpose). ``demo``: serve the demo page at ``/``."""

    origins: OriginPolicy = field(default_factory=OriginPolicy)
    token: str | None = None
    hosts: tuple[str, ...] = ()
    demo: bool = True


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _query_token(scope: Scope) -> str | None:
    from urllib.parse import parse_qs

    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    return values[0] if values else None


def _for_log(value: str | None) -> str:
    """Untrusted header text as it may appear in a log line: short, printable."""
    if value is None:
        return "-"
    return repr("".join(c if c.isprintable() else "?" for c in value[:100]))


class Guard:
    """The service's security rules applied to every HTTP request and WebSocket handshake.

    1. the Host header must be a loopback name (DNS rebinding: a hostile name re-pointed at 127.0.0.1);
    2. an Origin header, when present, must be on the allow-list or be the service's own page;
    3. CORS and Private Network Access preflights are answered for allowed origins only;
    4. with a token configured, ``/v1`` requests must carry it;
    5. cross-origin answers carry ``Access-Control-Allow-Origin`` with that origin, never ``*``.
    Requests without an Origin come from programs on this machine (or a same-origin GET), which could talk
    to the reader directly anyway; a token, when set, still applies to them.
    """

    def __init__(self, app: ASGIApp, settings: ServeSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        websocket = scope["type"] == "websocket"
        host = _header(scope, b"host")
        if not is_loopback_host(host, extra=self.settings.hosts):
            log.warning("refused a request for host %s (not a loopback name)", _for_log(host))
            await self._refuse(scope, receive, send, 403, "forbidden_host",
                               "this service answers only for localhost / 127.0.0.1 / [::1]")
            return
        origin = _header(scope, b"origin")
        own = [f"http://{host}"] if self.settings.demo else []
        if origin is not None and not self.settings.origins.allows(origin, own=own):
            log.warning("refused a request from origin %s (not on the allow-list)", _for_log(origin))
            await self._refuse(scope, receive, send, 403, "forbidden_origin",
                               "this web origin is not allowed to use the card reader service")
            return
        if not websocket and scope["method"] == "OPTIONS":
            await self._preflight(scope, send, origin)
            return
        path = scope.get("path", "")
        if self.settings.token and path.startswith("/v1"):
            given = _query_token(scope) if websocket else \
                _bearer(scope) or _header(scope, TOKEN_HEADER.encode())
            if not token_matches(self.settings.token, given):
                log.warning("refused a request without the right token (origin %s)", _for_log(origin))
                await self._refuse(scope, receive, send, 401, "unauthorized",
                                   "this service needs its token (Authorization: Bearer ...)")
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += _security_headers(path, origin)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _preflight(self, scope: Scope, send: Send, origin: str | None) -> None:
        headers = [(b"vary", b"Origin"), (b"content-length", b"0")]
        if origin is not None:
            headers += [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
                (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
                (b"access-control-max-age", b"600"),
            ]
            if (_header(scope, b"access-control-request-private-network") or "").lower() == "true":
                # Chrome's Private Network Access: a public page may reach this local service only if the
                # service says so, and it says so only to the origins it allows
                headers.append((b"access-control-allow-private-network", b"true"))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int, code: str,
                      message: str) -> None:
        if scope["type"] == "websocket":
            # closing before accepting answers the handshake with HTTP 403
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": code})
            return
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"cache-control", b"no-store"), (b"vary", b"Origin")]})
        await send({"type": "http.response.body", "body": body})


def _bearer(scope: Scope) -> str | None:
    value = _header(scope, b"authorization")
    if value and value[:7].lower() == "bearer ":
        return value[7:].strip()
    return None


def _security_headers(path: str, origin: str | None) -> list[tuple[bytes, bytes]]:
    headers = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
               (b"vary", b"Origin")]
    if path.startswith("/v1"):
        headers.append((b"cache-control", b"no-store"))
    else:
        headers += [(b"x-frame-options", b"DENY"),
                    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; "
                     b"connect-src 'self' ws: http:; frame-ancestors 'none'; base-uri 'none'; "
                     b"form-action 'none'")]
    if origin is not None:
        headers += [(b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"access-control-expose-headers", b"Retry-After")]
    return headers


def _error_response(err: ServeError) -> JSONResponse:
    headers = {}
    if err.retry_after is not None:
        headers["Retry-After"] = str(max(1, int(err.retry_after + 0.999)))
    return JSONResponse(err.to_dict(), status_code=err.status, headers=headers)


def create_app(service: ReadService, settings: ServeSettings | None = None, *,
               poll_interval: float = 0.5) -> ASGIApp:
    """The ASGI application: routes of protocol v1, the demo page, and the guard around them.

    A background task looks at the readers every ``poll_interval`` seconds and publishes the changes."""
    settings = settings or ServeSettings()

    async def status(request: Request) -> Response:
        return JSONResponse(await anyio.to_thread.run_sync(service.status))

    async def read(request: Request) -> Response:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return _error_response(ServeError("bad_input", "send the request as application/json",
                                              status=415))
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return _error_response(ServeError("bad_input", "the request is too large", status=413))
        try:
            req = ReadRequest.from_json(json.loads(body or b"null"))
        except (ValueError, CCCDError) as exc:
            message = str(exc) if isinstance(exc, CCCDError) else "the body is not valid JSON"
            return _error_response(ServeError("bad_input", message, status=400))
        try:
            result = await anyio.to_thread.run_sync(service.read, req)
        except ServeError as err:
            return _error_response(err)
        return JSONResponse(result)

    async def result(request: Request) -> Response:
        if request.method == "DELETE":
            service.last = None
            return Response(status_code=204)
        if service.last is None:
            return _error_response(ServeError("no_result", "no read result is kept (none yet, or the card "
                                              "was taken off the reader)", status=404))
        return JSONResponse(service.last)

    async def events(websocket: WebSocket) -> None:
        queue = service.hub.subscribe()
        try:
            await websocket.accept()
            hello = await anyio.to_thread.run_sync(service.status)
            await websocket.send_json({"type": "hello", "protocol": PROTOCOL_VERSION, "status": hello})
            async with anyio.create_task_group() as tg:
                async def pump() -> None:
                    while True:
                        await websocket.send_json(await queue.get())

                tg.start_soon(pump)
                with contextlib.suppress(WebSocketDisconnect):
                    while True:  # the page may send anything (a keep-alive); only a close matters
                        await websocket.receive_text()
                tg.cancel_scope.cancel()
        except WebSocketDisconnect:
            pass
        finally:
            service.hub.unsubscribe(queue)

    async def index(request: Request) -> Response:
        return RedirectResponse("/demo/")

    routes: list[Any] = [
        Route("/v1/status", status, methods=["GET"]),
        Route("/v1/read", read, methods=["POST"]),
        Route("/v1/result", result, methods=["GET", "DELETE"]),
        WebSocketRoute("/v1/events", events),
    ]
    if settings.demo:
        routes += [Route("/", index, methods=["GET"]),
                   Mount("/demo", StaticFiles(directory=STATIC, html=True))]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            async def watch() -> None:
                while True:
                    try:
                        await anyio.to_thread.run_sync(service.refresh)
                    except Exception as exc:  # a failed look at the readers must not stop the service
                        log.warning("looking at the readers failed: %s", type(exc).__name__)
                    await anyio.sleep(poll_interval)

            tg.start_soon(watch)
            yield
            tg.cancel_scope.cancel()

    app = Starlette(routes=routes, lifespan=lifespan)
    return Guard(app, settings)


def origins_policy(origins: Iterable[str]) -> OriginPolicy:
    return OriginPolicy.from_list(origins)
