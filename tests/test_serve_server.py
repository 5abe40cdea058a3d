"""The service on a real socket (uvicorn), and the ``cccd-read serve`` command's options."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import websockets
from click.testing import CliRunner
from serve_support import ALLOWED, OTHER, make_app, make_service, persona

from cccd_reader.cli import main
from cccd_reader.serve.server import ServerThread, bind_sockets


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_served_over_http_and_websocket(capfd: pytest.CaptureFixture[str]) -> None:
    service, _ = make_service()
    token = "a-desk-token-0123456789"
    with ServerThread(make_app(service, token=token), log_level="info") as server:
        status, headers, body = _get(server.url + "/v1/status", {"Authorization": f"Bearer {token}"})
        assert status == 200
        assert json.loads(body)["readers"][0]["card_present"] is True
        assert "server" not in {k.lower() for k in headers}
        status, _, _ = _get(server.url + "/v1/status", {"Host": "evil.example"})
        assert status == 403

        async def talk() -> list[str]:
            uri = server.url.replace("http", "ws") + "/v1/events?token=" + token
            async with websockets.connect(uri, origin=ALLOWED) as ws:
                hello = json.loads(await ws.recv())
            with pytest.raises(websockets.exceptions.InvalidStatus) as info:
                async with websockets.connect(uri, origin=OTHER):
                    pass
            return [hello["type"], str(info.value.response.status_code)]

        assert asyncio.run(talk()) == ["hello", "403"]
    logged = capfd.readouterr().err
    assert token not in logged  # the handshake's query string is logged without the token
    assert "token=***" in logged


def test_bind_sockets_share_one_free_port() -> None:
    socks = bind_sockets(["127.0.0.1", "::1"], 0)
    try:
        ports = {s.getsockname()[1] for s in socks}
        assert len(ports) == 1
        assert {s.getsockname()[0] for s in socks} <= {"127.0.0.1", "::1"}
    finally:
        for s in socks:
            s.close()


def test_cli_refuses_a_network_address_without_allow_remote() -> None:
    result = CliRunner().invoke(main, ["serve", "--emulator", "an", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "--allow-remote" in result.output


def test_cli_refuses_two_reader_sources() -> None:
    result = CliRunner().invoke(main, ["serve", "--emulator", "an", "--nfc", "usb"])
    assert result.exit_code == 2
    assert "choose one of" in result.output


def test_cli_refuses_wildcard_origin_and_short_token(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--emulator", "an", "--origin", "*"])
    assert result.exit_code == 2
    short = tmp_path / "token"
    short.write_text("short\n")
    result = CliRunner().invoke(main, ["serve", "--emulator", "an", "--token-file", str(short)])
    assert result.exit_code == 2
    assert "16 characters" in result.output


def test_cli_help_has_an_example() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    assert "cccd-read serve --emulator an" in result.output
    assert "--origin" in result.output


def test_cli_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command builds the service from its options and hands it to the server."""
    seen = {}

    def fake_run(app: object, sockets: list[object], *, log_level: str) -> None:
        seen["app"], seen["sockets"] = app, sockets
        for s in sockets:
            s.close()  # type: ignore[attr-defined]

    monkeypatch.setattr("cccd_reader.serve.server.run", fake_run)
    result = CliRunner().invoke(main, ["serve", "--emulator", "an", "--port", "0", "--origin", ALLOWED])
    assert result.exit_code == 0, result.output
    assert "allowed origins: " + ALLOWED in result.output
    assert seen["sockets"]
    from starlette.testclient import TestClient

    with TestClient(seen["app"], base_url="http://127.0.0.1:8731") as c:
        r = c.post("/v1/read", json={"can": persona().can}, headers={"origin": ALLOWED})
        assert r.status_code == 200
        assert r.json()["record"]["security"]["verdict"] == "genuine"
