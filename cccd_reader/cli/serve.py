"""``cccd-read serve``: the reader as a local service for web applications (docs/serve.md).

Thin like the other commands: it turns options into a :class:`~cccd_reader.serve.ReadService`, the
application's settings and listening sockets, and runs the server.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from cccd_reader.cli import handle_errors
from cccd_reader.cli.read import load_trust
from cccd_reader.errors import InputError

EXAMPLE = """\b
Examples:
  # try it without hardware: a built-in sample card, the demo page at http://127.0.0.1:8731/
  cccd-read serve --emulator an
\b
  # a desk: the PC/SC reader, the hospital's web application allowed, a shared token
  cccd-read serve --origin https://his.benhvien.example.vn --token-file ~/.config/cccd-reader/token \\
                  --trust /etc/cccd-reader/csca/
"""


@click.command("serve", epilog=EXAMPLE)
@click.option("--origin", "origins", multiple=True, metavar="ORIGIN",
              help="A web origin allowed to use the service (scheme://host[:port]); repeatable. The demo "
                   "page served by the service itself is always allowed.")
@click.option("--port", type=click.IntRange(0, 65535), default=8731, show_default=True,
              help="TCP port (on 127.0.0.1 and ::1).")
@click.option("--host", "hosts", multiple=True, metavar="ADDRESS",
              help="Listen on this address instead of 127.0.0.1 and ::1; repeatable. An address that is not "
                   "loopback also needs --allow-remote.")
@click.option("--allow-remote", is_flag=True,
              help="Accept a --host that other machines can reach (not recommended: the card's data then "
                   "crosses the network unencrypted).")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Require the token in FILE on every /v1 request (or set CCCD_SERVE_TOKEN).")
@click.option("--no-demo", is_flag=True, help="Do not serve the demo page.")
@click.option("--reader", metavar="NAME", help="Only this PC/SC reader (name, part of it, or index).")
@click.option("--nfc", metavar="PATH", help="Use one nfcpy device instead of PC/SC: usb, usb:BUS:DEV, "
              "tty:USB0:pn532, udp:HOST:PORT.")
@click.option("--emulator", metavar="CARD", is_flag=False, flag_value="default", default=None,
              help="Serve a built-in sample card through the in-process virtual chip instead of PC/SC.")
@click.option("--wait", type=float, default=10.0, show_default=True, metavar="SECONDS",
              help="How long a read waits for a card unless the request says otherwise (at most 60).")
@click.option("--trust", multiple=True, metavar="PATH",
              help="CSCA certificates / master lists (file or directory); repeatable. Default: the "
                   "user's trust store (`cccd-read trust`).")
@click.option("--files", "files_", metavar="LIST", help="Data groups read by default, e.g. DG1,DG2,DG13.")
@click.option("--access", type=click.Choice(["auto", "pace", "bac"]), default="auto", show_default=True,
              help="Access control used by default.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True, help="Service log level (the log never holds personal data).")
@handle_errors
def command(origins: tuple[str, ...], port: int, hosts: tuple[str, ...], allow_remote: bool,
            token_file: Path | None, no_demo: bool, reader: str | None, nfc: str | None,
            emulator: str | None, wait: float, trust: tuple[str, ...], files_: str | None, access: str,
            log_level: str) -> None:
    """Serve the card reader to web pages on this computer (HTTP + WebSocket on 127.0.0.1)."""
    try:
        from cccd_reader.serve import (
            NFCReaders,
            OriginPolicy,
            PCSCReaders,
            ReaderBackend,
            ReadService,
            emulator_backend,
        )
        from cccd_reader.serve.app import ServeSettings, create_app
        from cccd_reader.serve.security import is_loopback_bind
        from cccd_reader.serve.server import DEFAULT_HOSTS, bind_sockets, run
    except ImportError as exc:
        raise InputError("the service needs its web stack: pip install 'cccd-reader[serve]'") from exc

    policy = OriginPolicy.from_list(origins)
    listen = list(hosts) or list(DEFAULT_HOSTS)
    remote = [h for h in listen if not is_loopback_bind(h)]
    if remote and not allow_remote:
        raise InputError(f"{', '.join(remote)} is reachable from other machines: add --allow-remote if "
                         "that is really wanted")
    token = _token(token_file)
    if sum(x is not None for x in (reader, nfc, emulator)) > 1:
        raise InputError("choose one of --reader, --nfc and --emulator")
    trust_store = load_trust(trust)  # --trust, else the user's trust store, as `cccd-read read` does
    if emulator is not None:
        backend: ReaderBackend = emulator_backend(emulator)
        if trust_store is None:
            from cccd_reader.emulator import sample_trust_anchor
            from cccd_reader.verify import TrustStore

            trust_store = TrustStore.from_paths(sample_trust_anchor())
    elif nfc is not None:
        backend = NFCReaders(nfc)
    else:
        backend = PCSCReaders(reader)
    files = [f.strip() for f in files_.split(",") if f.strip()] if files_ else None
    service = ReadService(backend, trust=trust_store, files=files, access=access, wait=wait)
    settings = ServeSettings(origins=policy, token=token, hosts=tuple(h.strip("[]") for h in remote),
                             demo=not no_demo)
    app = create_app(service, settings)
    sockets = bind_sockets(listen, port)
    _setup_logging(log_level)
    bound = sorted({s.getsockname()[1] for s in sockets})
    where = ", ".join(f"http://{'[' + h + ']' if ':' in h else h}:{bound[0]}" for h in
                      [s.getsockname()[0] for s in sockets])
    click.echo(f"cccd-read serve: listening on {where}", err=True)
    if remote:
        click.echo("cccd-read serve: WARNING: listening on an address other machines can reach; every "
                   "device on that network can ask for reads (with the token, if set)", err=True)
    if not no_demo:
        click.echo(f"cccd-read serve: demo page http://127.0.0.1:{bound[0]}/", err=True)
    click.echo("cccd-read serve: allowed origins: " + (", ".join(sorted(policy.allowed)) or
                                                       "(none besides the demo page)"), err=True)
    if token:
        click.echo("cccd-read serve: a token is required", err=True)
    run(app, sockets, log_level=log_level)


def _token(path: Path | None) -> str | None:
    if path is not None:
        try:
            text = path.expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise InputError(f"cannot read the token file: {exc.strerror}") from None
        if len(text) < 16:
            raise InputError("the token must be at least 16 characters")
        return text
    env = os.environ.get("CCCD_SERVE_TOKEN", "").strip()
    if env and len(env) < 16:
        raise InputError("CCCD_SERVE_TOKEN must be at least 16 characters")
    return env or None


def _setup_logging(level: str) -> None:
    logger = logging.getLogger("cccd_reader")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level.upper())
