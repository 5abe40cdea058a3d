"""``cccd-read watch``: a service-desk kiosk. Wait for a card, read it once, wait for it to leave, repeat.

Each card needs its own key. With ``--qr-stdin`` the key of the next card is one QR payload line on
standard input (a keyboard-wedge QR scanner types it); otherwise the fixed key options apply to every
card (``--can`` etc., useful for tests). With ``--json`` each card gives one JSON line on stdout, failed
reads too (``complete: false`` with the failed step), so a desk application can consume the stream.

A kiosk keeps running: a card is read once per presentation (it must leave the reader before it, or
another card, is read again, however long it stays), a reader that disappears (unplugged, or the PC/SC
service restarted) is waited for, and what the clerk should do next ("place the card", "remove the
card", "waiting for the reader") is said on stderr whenever it changes. ``--portrait-dir`` saves each
card's portrait to its own file and ``--csv`` appends one row per card (chosen columns, no image) to a
UTF-8 file with a BOM, which Excel opens with the Vietnamese letters intact.
"""

from __future__ import annotations

import datetime as _dt
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from cccd_reader.cli import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    check_output_file,
    error_line,
    exit_code_for,
    handle_errors,
    json_text,
    open_private,
)
from cccd_reader.cli.read import key_options, load_trust, record_dict, resolve_key
from cccd_reader.errors import (
    CardRemovedError,
    CCCDError,
    InputError,
    NoCardError,
    ReaderBusyError,
    ReaderNotFoundError,
    ReadError,
    TransportError,
)
from cccd_reader.i18n import N_, _
from cccd_reader.safetext import visible

POLL_SECONDS = 1.0  # how long one wait for a card (or its removal) lasts before the loop looks again
READER_RETRY_SECONDS = 1.0  # how often a missing reader or a stopped PC/SC service is looked for again


# --- the CSV log --------------------------------------------------------------------------------------


def _identity(record: Any, name: str) -> Any:
    return getattr(getattr(record, "identity", None), name, None) if record is not None else None


def _iso(value: Any) -> str:
    if value is None:
        return ""
    iso = getattr(value, "isoformat", None)
    return str(iso()) if callable(iso) else str(value)


CSV_COLUMNS: dict[str, Callable[[Any, dict[str, Any]], Any]] = {
    "time": lambda r, e: e["time"],
    "reader": lambda r, e: e.get("reader", ""),
    "id_number": lambda r, e: _identity(r, "id_number"),
    "full_name": lambda r, e: _identity(r, "full_name"),
    "date_of_birth": lambda r, e: _iso(_identity(r, "date_of_birth")),
    "sex": lambda r, e: _identity(r, "sex"),
    "nationality": lambda r, e: _identity(r, "nationality"),
    "ethnicity": lambda r, e: _identity(r, "ethnicity"),
    "religion": lambda r, e: _identity(r, "religion"),
    "place_of_origin": lambda r, e: _identity(r, "place_of_origin"),
    "place_of_residence": lambda r, e: _identity(r, "place_of_residence"),
    "issue_date": lambda r, e: _iso(_identity(r, "issue_date")),
    "expiry_date": lambda r, e: ("no expiry" if _identity(r, "no_expiry")
                                 else _iso(_identity(r, "expiry_date"))),
    "old_id_number": lambda r, e: _identity(r, "old_id_number"),
    "verdict": lambda r, e: r.security.verdict if r is not None else "",
    "qr_matches_chip": lambda r, e: r.security.qr_matches if r is not None else "",
    "complete": lambda r, e: r.complete if r is not None else False,
    "failed_step": lambda r, e: r.failed_step if r is not None else "",
    "error": lambda r, e: e.get("error", ""),
    "exit_code": lambda r, e: e.get("exit_code", 0),
    "seconds": lambda r, e: f"{r.stats.seconds:.2f}" if r is not None else "",
    "portrait_file": lambda r, e: e.get("portrait_file", ""),
}
DEFAULT_CSV_COLUMNS = ("time", "id_number", "full_name", "date_of_birth", "sex", "verdict", "complete",
                       "error", "portrait_file")


def parse_columns(text: str | None) -> tuple[str, ...]:
    if not text:
        return DEFAULT_CSV_COLUMNS
    columns = tuple(c.strip() for c in text.split(",") if c.strip())
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if unknown or not columns:
        raise InputError(f"--csv-columns: unknown column(s) {', '.join(unknown) or '(none given)'}; "
                         f"choose from {', '.join(CSV_COLUMNS)}")
    return columns


def csv_cell(value: Any) -> str:
    """A cell as a spreadsheet shows it safely: chip text with control characters escaped, and text
    that a spreadsheet would run as a formula (=, +, -, @) prefixed with an apostrophe."""
    if value is None:
        return ""
    text = visible(str(value) if not isinstance(value, str) else value)
    if text[:1] in ("=", "+", "-", "@"):
        text = "'" + text
    return text


class CsvLog:
    """One row per card, flushed as it is written. A new (or empty) file gets the BOM and the header."""

    def __init__(self, path: str, columns: tuple[str, ...]) -> None:
        import csv

        self.columns = columns
        target = Path(path)
        fresh = not target.exists() or target.stat().st_size == 0
        self._file = open_private(target, "a", encoding="utf-8", newline="")
        self._writer = csv.writer(self._file)
        if fresh:
            self._file.write("\ufeff")  # UTF-8 BOM: Excel then reads the file as UTF-8
            self._writer.writerow(columns)
            self._file.flush()

    def row(self, record: Any, extra: dict[str, Any]) -> None:
        self._writer.writerow([csv_cell(CSV_COLUMNS[c](record, extra)) for c in self.columns])
        self._file.flush()

    def close(self) -> None:
        self._file.close()


# --- portraits --------------------------------------------------------------------------------------


def check_portrait_dir(path: str) -> Path:
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"--portrait-dir {path}: not a folder (create it first)")
    check_output_file(folder / "portrait.jpg", "--portrait-dir")
    return folder


def save_card_portrait(record: Any, folder: Path, when: _dt.datetime) -> str:
    """The portrait in the chip's own codec, named by time and ID number (digits only), mode 0600."""
    face = getattr(record, "portrait", None) if record is not None else None
    if face is None:
        return ""
    number = str(_identity(record, "id_number") or "")
    number = number if number.isascii() and number.isdigit() else "unknown"
    stem = f"{when:%Y%m%d-%H%M%S}-{number}"
    target = folder / f"{stem}{face.suffix}"
    n = 2
    while target.exists():
        target = folder / f"{stem}-{n}{face.suffix}"
        n += 1
    face.save(target)
    return target.name


# --- the desk -----------------------------------------------------------------------------------------


DESK_MESSAGES = {
    "scan": N_("scan the card's QR code"),
    "place": N_("place the card on the reader"),
    "reading": N_("reading the card: hold it still"),
    "remove": N_("remove the card"),
    "no-reader": N_("no reader: waiting for it to come back"),
    "busy": N_("the reader is in use by another application: waiting"),
}


class Desk:
    """Says on stderr what the clerk should do, once per change of state."""

    def __init__(self) -> None:
        self.state: str | None = None

    def say(self, state: str, detail: str | None = None) -> None:
        if state == self.state:
            return
        self.state = state
        text = _(DESK_MESSAGES[state]) if state in DESK_MESSAGES else state
        if detail:
            text += f" ({visible(detail)})"
        click.echo(f"cccd-read: {text}", err=True)


def open_card(reader: str | None, nfc: str | None, timeout: float) -> Any:
    """A transport to a card on the reader; NoCardError when none comes within ``timeout``."""
    from cccd_reader.transport.open import open_transport

    return open_transport(reader=reader, nfc=nfc or None, wait=timeout)


def card_still_on(reader_name: str) -> bool | None:
    """Whether the PC/SC reader still has a card (None: the reader or the service is not there)."""
    from cccd_reader.transport.pcsc import list_readers

    try:
        for info in list_readers():
            if info.name == reader_name:
                return info.card_present
    except TransportError:
        return None
    return None


def wait_for_card(desk: Desk, reader: str | None, nfc: str | None, deadline: float | None) -> Any:
    """Wait for the next card, through readers that come and go; None once ``deadline`` passed."""
    while deadline is None or time.monotonic() < deadline:
        remaining = POLL_SECONDS if deadline is None else max(0.05, min(POLL_SECONDS,
                                                                        deadline - time.monotonic()))
        try:
            transport = open_card(reader, nfc, remaining)
        except NoCardError:
            desk.say("place")
            continue
        except ReaderNotFoundError as exc:
            desk.say("no-reader", str(exc))
        except ReaderBusyError:
            desk.say("busy")
        except CardRemovedError:  # taken away while we connected: wait for the next presentation
            continue
        except TransportError as exc:  # anything else from the link: look again shortly
            desk.say("no-reader", str(exc))
        else:
            return transport
        time.sleep(READER_RETRY_SECONDS if deadline is None
                   else max(0.0, min(READER_RETRY_SECONDS, deadline - time.monotonic())))
    return None


def wait_for_removal(desk: Desk, transport: Any, deadline: float | None) -> bool:
    """Wait until the card just read leaves the reader (True), or ``deadline`` passes (False).

    There is no other time limit: a card left on the reader is not read again. When the reader or the
    PC/SC service goes away meanwhile, its return is waited for, and the card must still be gone then.
    """
    desk.say("remove")
    reader_name = str(getattr(transport, "reader_name", "") or "")
    while deadline is None or time.monotonic() < deadline:
        try:
            if transport.wait_for_removal(POLL_SECONDS):
                return True
            continue
        except (TransportError, AttributeError):
            pass
        if not reader_name:  # nfcpy: the device went away with the card; the next card is a new one
            return True
        present = card_still_on(reader_name)
        if present is False:
            return True
        if present is None:
            desk.say("no-reader", "then remove the card")
        else:
            desk.say("remove")  # the reader is back and the card still on it
        time.sleep(READER_RETRY_SECONDS)
    return False


# --- the command --------------------------------------------------------------------------------------

WATCH_EXAMPLES = """
Examples:

\b
  cccd-read watch --qr-stdin --json >> desk.jsonl
  cccd-read watch --qr-stdin --csv desk.csv --portrait-dir faces/
  cccd-read watch --reader 0 --can 012345 --count 1
"""


def _short(record: Any) -> str:
    ident = record.identity
    name = getattr(ident, "full_name", None) or "?"
    number = getattr(ident, "id_number", None) or "?"
    # "verdict=" and its word stay untranslated: a desk script may look for them
    return (f"{visible(number)}  {visible(name)}  verdict={record.security.verdict}  "
            f"({record.stats.seconds:.2f} s)")


@click.command("watch", epilog=WATCH_EXAMPLES)
@click.option("--reader", metavar="NAME", help="PC/SC reader (name, part of it, or index).")
@click.option("--nfc", metavar="PATH", help="nfcpy device path instead of PC/SC.")
@key_options
@click.option("--qr-stdin", is_flag=True, help="Read each card's QR payload (one line) from standard input.")
@click.option("--trust", multiple=True, metavar="PATH", help="CSCA certificates / master lists.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per card (no portrait image).")
@click.option("--portrait-dir", metavar="DIR", help="Save each card's portrait to its own file in DIR.")
@click.option("--csv", "csv_path", metavar="FILE", help="Append one row per card to FILE (UTF-8 with BOM).")
@click.option("--csv-columns", metavar="LIST", help="CSV columns, comma-separated (default: "
              + ",".join(DEFAULT_CSV_COLUMNS) + ").")
@click.option("--count", type=int, default=0, help="Stop after this many cards (0: until interrupted).")
@click.option("--idle-timeout", type=float, default=0.0, metavar="SECONDS",
              help="Stop when no new card comes for this long (0: wait forever).")
@handle_errors
def command(reader: str | None, nfc: str | None, qr: str | None, qr_text: str | None, can: str | None,
            mrz: str | None, id_number: str | None, dob: str | None, expiry: str | None, qr_stdin: bool,
            trust: tuple[str, ...], as_json: bool, portrait_dir: str | None, csv_path: str | None,
            csv_columns: str | None, count: int, idle_timeout: float) -> None:
    """Read every card presented, once each, one after another (a service-desk kiosk)."""
    if reader and nfc:
        raise InputError("choose one of --reader and --nfc")
    columns = parse_columns(csv_columns)
    if csv_columns and not csv_path:
        raise InputError("--csv-columns applies to --csv: give --csv FILE too")
    folder = check_portrait_dir(portrait_dir) if portrait_dir else None
    if csv_path:
        check_output_file(csv_path, "--csv")
    fixed = None
    if any((qr, qr_text, can, mrz, id_number)):
        fixed = resolve_key(qr=qr, qr_text=qr_text, can=can, mrz=mrz, id_number=id_number, dob=dob,
                            expiry=expiry, interactive=False)
    elif not qr_stdin:
        raise InputError("watch needs a key per card: --qr-stdin (a QR scanner), or a fixed --can/--mrz/...")
    trust_store = load_trust(trust)
    log = CsvLog(csv_path, columns) if csv_path else None
    desk = Desk()
    done = 0
    try:
        while count <= 0 or done < count:
            key = fixed if fixed is not None else _next_key(desk)
            if key is None:
                break
            deadline = time.monotonic() + idle_timeout if idle_timeout > 0 else None
            desk.say("place")
            transport = wait_for_card(desk, reader, nfc, deadline)
            if transport is None:
                break
            try:
                desk.say("reading")
                _read_one(transport, key, trust_store, as_json=as_json, log=log, folder=folder)
                done += 1
                if count > 0 and done >= count:
                    break
                deadline = time.monotonic() + idle_timeout if idle_timeout > 0 else None
                if not wait_for_removal(desk, transport, deadline):
                    break
            finally:
                transport.close()
    except KeyboardInterrupt:
        click.echo("\ncccd-read: " + _("interrupted"), err=True)
        sys.exit(EXIT_INTERRUPTED)
    finally:
        if log is not None:
            log.close()
    sys.exit(EXIT_OK)


def _next_key(desk: Desk) -> Any:
    """The next QR payload line on stdin as a key; None at the end of input."""
    from cccd_reader.qr.payload import parse_qr_payload

    while True:
        desk.say("scan")
        line = sys.stdin.readline()
        if not line:
            return None
        if not line.strip():
            continue
        try:
            return parse_qr_payload(line.rstrip("\r\n"))
        except CCCDError as exc:
            _report_error(exc)


def _read_one(transport: Any, key: Any, trust: Any, *, as_json: bool, log: CsvLog | None,
              folder: Path | None) -> None:
    from cccd_reader.read import read_card

    when = _dt.datetime.now().astimezone()
    extra: dict[str, Any] = {"time": when.isoformat(timespec="seconds"),
                             "reader": getattr(transport, "reader_name", "") or ""}
    record: Any = None
    try:
        record = read_card(transport, key, trust=trust)
    except ReadError as exc:
        record = exc.partial if exc.partial is not None and hasattr(exc.partial, "to_dict") else None
        extra.update(error=str(exc), exit_code=exit_code_for(exc))
        _report_error(exc)
    except CCCDError as exc:
        extra.update(error=str(exc), exit_code=exit_code_for(exc))
        _report_error(exc)
    if folder is not None and record is not None:
        try:
            extra["portrait_file"] = save_card_portrait(record, folder, when)
        except (OSError, CCCDError) as exc:
            _report_error(exc, "portrait not saved")
    if record is not None:
        if as_json:
            data = record_dict(record)
            if extra.get("portrait_file"):
                data["portrait"]["path"] = str(folder / extra["portrait_file"]) if folder else None
            click.echo(json_text(data, lines=True))
        elif "error" not in extra:
            click.echo(_short(record))
    if log is not None:
        log.row(record, extra)


def _report_error(exc: BaseException, what: str = "card not read") -> None:
    click.echo(error_line(f"{exc} (exit code {exit_code_for(exc)})", prefix=what), err=True)
