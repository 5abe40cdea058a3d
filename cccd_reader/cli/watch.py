"""``cccd-read watch``: a service-desk counter. Wait for a card, read it, wait for it to leave, repeat.

Each card needs its own key. With ``--qr-stdin`` the key of the next card is one QR payload line on
standard input (a keyboard-wedge QR scanner types it); otherwise the fixed key options apply to every
card (``--can`` etc., useful for tests). With ``--json`` each card gives one JSON line on stdout, failed
reads too (``complete: false`` with the failed step), so a desk application can consume the stream.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from typing import Any

import click

from cccd_reader.cli import EXIT_INTERRUPTED, EXIT_OK, error_line, exit_code_for, handle_errors
from cccd_reader.cli.read import (
    key_options,
    load_trust,
    resolve_key,
)
from cccd_reader.errors import CCCDError, InputError, NoCardError, ReadError
from cccd_reader.safetext import visible


def _line_record(record: Any) -> str:
    return json.dumps(record.to_dict(include_portrait=False), ensure_ascii=False, separators=(",", ":"))


def _short(record: Any) -> str:
    ident = record.identity
    name = getattr(ident, "full_name", None) or "?"
    number = getattr(ident, "id_number", None) or "?"
    return (f"{visible(number)}  {visible(name)}  verdict={record.security.verdict}  "
            f"({record.stats.seconds:.2f} s)")


WATCH_EXAMPLES = """
Examples:

\b
  cccd-read watch --qr-stdin --json >> desk.jsonl
  cccd-read watch --reader 0 --can 012345 --count 1
"""


@click.command("watch", epilog=WATCH_EXAMPLES)
@click.option("--reader", metavar="NAME", help="PC/SC reader (name, part of it, or index).")
@click.option("--nfc", metavar="PATH", help="nfcpy device path instead of PC/SC.")
@key_options
@click.option("--qr-stdin", is_flag=True, help="Read each card's QR payload (one line) from standard input.")
@click.option("--trust", multiple=True, metavar="PATH", help="CSCA certificates / master lists.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per card.")
@click.option("--count", type=int, default=0, help="Stop after this many cards (0: until interrupted).")
@click.option("--idle-timeout", type=float, default=0.0, metavar="SECONDS",
              help="Stop when no card comes for this long (0: wait forever).")
@handle_errors
def command(reader: str | None, nfc: str | None, qr: str | None, qr_text: str | None, can: str | None,
            mrz: str | None, id_number: str | None, dob: str | None, expiry: str | None, qr_stdin: bool,
            trust: tuple[str, ...], as_json: bool, count: int, idle_timeout: float) -> None:
    """Read every card presented, one after another."""
    from cccd_reader.read import read_card

    if reader and nfc:
        raise InputError("choose one of --reader and --nfc")
    fixed = None
    if any((qr, qr_text, can, mrz, id_number)):
        fixed = resolve_key(qr=qr, qr_text=qr_text, can=can, mrz=mrz, id_number=id_number, dob=dob,
                            expiry=expiry, interactive=False)
    elif not qr_stdin:
        raise InputError("watch needs a key per card: --qr-stdin (a QR scanner), or a fixed --can/--mrz/...")
    trust_store = load_trust(trust)
    done = 0
    last_card = time.monotonic()
    previous: Any = None
    try:
        while count <= 0 or done < count:
            if fixed is not None:
                key = fixed
            else:
                line = sys.stdin.readline()
                if not line:
                    break
                if not line.strip():
                    continue
                from cccd_reader.qr.payload import parse_qr_payload

                try:
                    key = parse_qr_payload(line.rstrip("\r\n"))
                except CCCDError as exc:
                    _report_error(exc, as_json)
                    continue
            if previous is not None:
                # the card just read must leave before the next one counts
                _wait_removal(previous)
                previous.close()
                previous = None
            try:
                transport = _connect(reader, nfc, idle_timeout, last_card)
            except NoCardError:
                break
            previous = transport
            try:
                record = read_card(transport, key, trust=trust_store)
                click.echo(_line_record(record) if as_json else _short(record))
            except ReadError as exc:
                if as_json and exc.partial is not None and hasattr(exc.partial, "to_dict"):
                    click.echo(json.dumps(exc.partial.to_dict(include_portrait=False), ensure_ascii=False,
                                          separators=(",", ":")))
                _report_error(exc, as_json)
            except CCCDError as exc:
                _report_error(exc, as_json)
            done += 1
            last_card = time.monotonic()
    except KeyboardInterrupt:
        click.echo("\ncccd-read: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    finally:
        if previous is not None:
            previous.close()
    sys.exit(EXIT_OK)


def _report_error(exc: BaseException, as_json: bool) -> None:
    click.echo(error_line(f"{exc} (exit code {exit_code_for(exc)})", prefix="card not read"), err=True)


def _connect(reader: str | None, nfc: str | None, idle_timeout: float, since: float) -> Any:
    """Wait for the next card; NoCardError once ``idle_timeout`` passed without one."""
    while True:
        remaining = idle_timeout - (time.monotonic() - since) if idle_timeout > 0 else 5.0
        if idle_timeout > 0 and remaining <= 0:
            raise NoCardError("no card came")
        try:
            if nfc:
                from cccd_reader.transport.nfc import NFCTransport

                return NFCTransport(nfc, timeout=min(remaining, 5.0))
            from cccd_reader.transport.pcsc import PCSCTransport

            return PCSCTransport(reader, timeout=min(remaining, 5.0))
        except NoCardError:
            continue


def _wait_removal(transport: Any) -> None:
    wait = getattr(transport, "wait_for_removal", None)
    if callable(wait):
        with contextlib.suppress(CCCDError):
            wait(60.0)
