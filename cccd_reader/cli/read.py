"""``cccd-read read``: read a card's chip end to end and show who it belongs to and whether it is genuine.

Readers: ``--reader NAME`` (PC/SC; a name, a part of it, or an index from ``cccd-read readers``),
``--nfc PATH`` (nfcpy: ``usb``, ``tty:USB0:pn532``, ``udp:host:port``) or ``--emulator [CARD]`` (a
built-in sample card through the in-process virtual chip). The key comes from the QR code (``--qr IMAGE``
or ``--qr-text``), the CAN, the MRZ, or ``--id/--dob/--expiry``; with none of them the CAN is asked for.

This is output the user asked for, so the holder's details are printed (and only here); error lines and
``--debug`` never contain them.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from cccd_reader.cli import (
    EXIT_OK,
    EXIT_VERIFICATION_FAILED,
    check_output_file,
    error_line,
    exit_code_for,
    handle_errors,
    json_text,
    open_private,
    root_cause,
    tighten_stdout,
)
from cccd_reader.errors import CCCDError, InputError, KeyInputError, ReadError
from cccd_reader.i18n import _, format_date
from cccd_reader.safetext import visible

STEP_LABELS = {
    "probe": "Probing the card",
    "card_access": "Reading EF.CardAccess",
    "access": "Authenticating (PACE / BAC)",
    "files": "Reading files",
    "chip_auth": "Chip Authentication",
    "active_auth": "Active Authentication",
    "passive_auth": "Passive authentication",
    "qr_check": "Comparing the QR code with the chip",
}


# --- keys ---------------------------------------------------------------------------------------------


def _parse_date(text: str, what: str) -> _dt.date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d%m%Y", "%y%m%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return _dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise KeyInputError(f"{what}: not a date (use YYYY-MM-DD or DD/MM/YYYY)")


def resolve_key(*, qr: str | None, qr_text: str | None, can: str | None, mrz: str | None,
                id_number: str | None, dob: str | None, expiry: str | None,
                interactive: bool) -> Any:
    """The key (or QRData, or list of keys) from the command-line options, else asked for."""
    from cccd_reader.keys import CANKey, MRZKey

    given = [x for x in (qr, qr_text, can, mrz, id_number) if x]
    if len(given) > 1:
        raise InputError("give one key source: --qr, --qr-text, --can, --mrz or --id/--dob/--expiry")
    if qr:
        from cccd_reader.qr.image import read_qr_image

        return read_qr_image(qr)
    if qr_text:
        from cccd_reader.cli.qr import read_payload_text
        from cccd_reader.qr.payload import parse_qr_payload

        # "-": from standard input, so the payload (ID, name, address) is not in the process list
        return parse_qr_payload(read_payload_text(qr_text))
    if can:
        return CANKey(can.strip())
    if mrz:
        from cccd_reader.keys import mrz_key_from_mrz

        return mrz_key_from_mrz(mrz.replace("\\n", "\n"))
    if id_number:
        digits = id_number.strip()
        if len(digits) != 12 or not digits.isdigit():
            # say what is wrong with it without repeating it (an ID number is personal data)
            what = f"{len(digits)} digits" if digits.isdigit() else "characters other than digits"
            raise KeyInputError(f"--id must be the 12-digit ID number (got {what})")
        if not dob:
            # the ID alone gives the CAN (its last 6 digits)
            return CANKey(digits[-6:])
        doc = digits[3:12]
        birth = _parse_date(dob, "--dob")
        keys: list[Any] = [CANKey(digits[-6:])]
        if expiry and expiry.strip().lower() not in ("none", "never", "no", "khong", "không"):
            keys.append(MRZKey(doc, birth, _parse_date(expiry, "--expiry")))
        elif expiry:
            keys.append(MRZKey(doc, birth, None))
        return keys
    if dob or expiry:
        raise InputError("--dob/--expiry need --id")
    if not interactive:
        raise InputError("no access key: give --qr IMAGE, --qr-text, --can, --mrz or --id/--dob/--expiry")
    value = click.prompt("CAN (the last 6 digits of the 12-digit ID number) or the full ID number",
                         hide_input=True, err=True)
    value = value.strip()
    if len(value) == 12 and value.isdigit():
        value = value[-6:]
    return CANKey(value)


def key_kinds(key: Any) -> list[str]:
    """The kinds of the keys a read will try, in order ("CAN", "MRZ"): recorded in traces, not the keys."""
    if hasattr(key, "id_number") and hasattr(key, "issue_date"):
        from cccd_reader.keys import keys_from_qr

        return [k.kind for k in keys_from_qr(key)]
    if isinstance(key, list | tuple):
        return [str(getattr(k, "kind", "?")) for k in key]
    return [str(getattr(key, "kind", "?"))]


# --- transports -------------------------------------------------------------------------------------


@contextlib.contextmanager
def open_transport(*, reader: str | None, nfc: str | None, emulator: str | None,
                   wait: float) -> Iterator[tuple[Any, Any]]:
    """Yield (transport, sample) where ``sample`` is the emulator's sample (or None)."""
    if sum(x is not None for x in (reader, nfc, emulator)) > 1:
        raise InputError("choose one of --reader, --nfc and --emulator")
    if emulator is not None:
        sample = load_emulator_sample(emulator)
        yield sample.card, sample
        return
    from cccd_reader.transport.open import open_transport as open_card_link

    transport = open_card_link(reader=reader, nfc=nfc, wait=wait)
    try:
        yield transport, None
    finally:
        transport.close()


@dataclass
class EmulatorSample:
    """A built-in sample card: its name, a fresh virtual chip, the QR payload printed on it."""

    name: str
    card: Any
    qr_payload: str

    @property
    def key(self) -> Any:
        from cccd_reader.qr.payload import parse_qr_payload

        return parse_qr_payload(self.qr_payload)

    @property
    def trust(self) -> Any:
        from cccd_reader.emulator import sample_trust_anchor
        from cccd_reader.verify import TrustStore

        return TrustStore.from_paths(sample_trust_anchor())


def load_emulator_sample(name: str) -> EmulatorSample:
    from cccd_reader.emulator import load_sample, sample_names
    from cccd_reader.emulator.samples import DEFAULT_SAMPLE, sample_qr_payload

    names = list(sample_names())
    if name in ("", "default"):
        name = DEFAULT_SAMPLE if DEFAULT_SAMPLE in names else (names[0] if names else "")
    if name not in names:
        raise InputError(f"no sample card {name!r}; samples: {', '.join(names) or '(none)'}")
    return EmulatorSample(name, load_sample(name), sample_qr_payload(name))


def load_trust(paths: tuple[str, ...]) -> Any:
    """The --trust paths, else the user's trust store (`cccd-read trust`), else None."""
    if not paths:
        from cccd_reader.verify.userstore import default_trust_store

        return default_trust_store()
    from cccd_reader.verify import TrustStore

    return TrustStore.from_paths(*paths)


# --- progress -------------------------------------------------------------------------------------------


@contextlib.contextmanager
def progress_display(enabled: bool) -> Iterator[Callable[[Any], None] | None]:
    """A rich progress display on stderr driven by the pipeline's ProgressEvents."""
    if not enabled:
        yield None
        return
    console = Console(stderr=True)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                        console=console, transient=True)
    tasks: dict[str, Any] = {}

    def on_event(ev: Any) -> None:
        if ev.event == "start":
            key = ev.step
            if key not in tasks and ev.step != "files":
                tasks[key] = progress.add_task(STEP_LABELS.get(ev.step, ev.step), total=None)
        elif ev.event == "bytes" and ev.file:
            key = f"file:{ev.file}"
            if key not in tasks:
                tasks[key] = progress.add_task(f"Reading {ev.file}", total=ev.total)
            progress.update(tasks[key], completed=ev.done, total=ev.total)
        elif ev.event == "done" and ev.step in tasks:
            progress.update(tasks[ev.step], total=1, completed=1)
        elif ev.event == "retry":
            progress.console.print(Text(f"{STEP_LABELS.get(ev.step, ev.step)}: {ev.message}", style="yellow"))

    with progress:
        yield on_event


# --- output ---------------------------------------------------------------------------------------------

_VERDICT_STYLE = {"genuine": "bold green", "not-genuine": "bold red", "mismatch": "bold red",
                  "incomplete": "bold yellow", "unverified": "bold yellow"}


def _text(value: Any) -> str:
    """A value for the terminal: dates as the language writes them (dd/mm/yyyy in Vietnamese, ISO in
    English), chip text with control/bidi characters made visible."""
    if value is None:
        return ""
    if callable(getattr(value, "isoformat", None)):
        return visible(format_date(value))
    return visible(value)


def status_text(status: Any) -> str:
    """A check's status ("passed", "not_supported", ...) in the current language."""
    words = {"passed": _("passed"), "failed": _("FAILED"), "not_supported": _("not supported by the card"),
             "not_run": _("not run"), "unknown": _("could not be judged"),
             "passed_untrusted": _("passed, but the signer is not trusted")}
    return words.get(str(status), visible(status))


def verdict_text(verdict: str) -> str:
    """The verdict word and its sentence, in the current language."""
    sentences = {
        "genuine": _("GENUINE: the data is signed by the issuer and the chip proved it is not a clone"),
        "not-genuine": _("NOT GENUINE: a check failed"),
        "mismatch": _("MISMATCH: the QR code printed on the card disagrees with the chip"),
        "unverified": _("UNVERIFIED: nothing failed, but not everything needed for \"genuine\" could be "
                        "checked"),
        "incomplete": _("INCOMPLETE: nothing was proven wrong, but a step or a file could not be read to the "
                        "end; read the card again"),
    }
    return sentences.get(verdict, verdict.upper())


def summary_table(record: Any) -> Table:
    table = Table(title=_("CCCD chip"), show_header=False, title_justify="left")
    table.add_column("Field", style="bold", no_wrap=True)
    table.add_column("Value", overflow="fold")
    ident = record.identity
    rows = [
        (_("ID number"), "id_number"), (_("Full name"), "full_name"), (_("Date of birth"), "date_of_birth"),
        (_("Sex"), "sex_text"), (_("Nationality"), "nationality"), (_("Ethnicity"), "ethnicity"),
        (_("Religion"), "religion"), (_("Place of origin"), "place_of_origin"),
        (_("Place of residence"), "place_of_residence"), (_("Identifying marks"), "identifying_marks"),
        (_("Issue date"), "issue_date"), (_("Expiry date"), "expiry_date"), (_("Father"), "father_name"),
        (_("Mother"), "mother_name"), (_("Spouse"), "spouse_name"), (_("Old ID number"), "old_id_number"),
    ]
    if ident is not None:
        for label, attr in rows:
            value = getattr(ident, attr, None)
            if attr == "sex_text" and not value:
                value = getattr(ident, "sex", None)
            if attr == "expiry_date" and value is None and getattr(ident, "no_expiry", False):
                value = _("no expiry")
            if value not in (None, ""):
                table.add_row(label, Text(_text(value)))
    if record.portrait is not None:
        p = record.portrait
        size = f"{p.width}x{p.height} " if getattr(p, "width", None) else ""
        n = len(getattr(p, "image", b""))
        table.add_row(_("Portrait"), Text(_("{size}{format}, {bytes} bytes").format(
            size=size, format=getattr(p, "format", ""), bytes=n)))
    sec = record.security
    access = _("{protocol} with {key}").format(protocol=sec.access_protocol or "?", key=sec.access_key or "?")
    detail = f" ({sec.access_detail})" if sec.access_detail else ""
    table.add_row(_("Access"), Text(visible(access + detail)))
    table.add_row(_("Passive authentication"), Text(status_text(sec.passive_auth)))
    trust_message = getattr(sec.passive_detail, "trust_message", None)
    if trust_message:  # names from the chip's certificate: escaped
        table.add_row(_("Signer's issuer"), Text(visible(trust_message)))
    table.add_row(_("Chip Authentication"), Text(status_text(sec.chip_auth)))
    table.add_row(_("Active Authentication"), Text(status_text(sec.active_auth)))
    if sec.qr_checked:
        qr_text = _("matches the chip") if not sec.qr_mismatches else \
            _("DIFFERS from the chip: {fields}").format(fields=", ".join(m.field for m in sec.qr_mismatches))
        notes = getattr(sec, "qr_notes", None) or []
        folded = [n.field.replace("_", " ") for n in notes if n.note == "compared-without-diacritics"]
        if folded:
            qr_text += " (" + _("{fields} compared without diacritics: the QR code has none").format(
                fields=", ".join(folded)) + ")"
        table.add_row(_("QR code vs chip"), Text(qr_text))
        if any(n.field == "address" and n.note == "differs" for n in notes):
            table.add_row(_("QR address"), Text(_("differs from the chip's place of residence (information "
                                                  "only: a 2024 QR code may carry a newer residence)")))
    table.add_row(_("Verdict"), Text(verdict_text(sec.verdict), style=_VERDICT_STYLE.get(sec.verdict, "")))
    st = record.stats
    read_text = _("{files} files, {apdus} APDUs, {bytes} bytes in {seconds:.2f} s").format(
        files=len(record.files), apdus=st.apdus, bytes=st.bytes_received, seconds=st.seconds)
    if st.recoveries:
        read_text += ", " + _("{n} recoveries").format(n=st.recoveries)
    table.add_row(_("Read"), Text(read_text))
    warnings = list(record.warnings) + [w for w in getattr(ident, "warnings", ()) or ()
                                        if w not in record.warnings]
    if warnings:
        table.add_row(_("Warnings"), Text("\n".join(visible(w) for w in warnings)))
    return table


def verification_failed(record: Any) -> bool:
    return bool(record.security.verdict in ("not-genuine", "mismatch"))


_IMAGE_KEYS = ("image", "image_base64", "data", "image_data")


def record_dict(record: Any, *, portrait_image: bool = False, portrait_path: str | None = None,
                address: bool = False) -> dict[str, Any]:
    """The record for JSON output: the portrait's image only when asked for (``--json-portrait``), once.

    The identity's own copy of the portrait is always left out (it is the same image as ``portrait``);
    with ``portrait_path`` the portrait entry says where the image was saved; ``address`` adds the
    address parts (``--address``).
    """
    data: dict[str, Any] = record.to_dict(include_portrait=portrait_image)
    if address and getattr(record, "identity", None) is not None:
        data["identity"] = record.identity.to_dict(addresses=True)
    ident = data.get("identity")
    if isinstance(ident, dict):
        ident.pop("portrait", None)
    face = data.get("portrait")
    if isinstance(face, dict):
        if not portrait_image:
            for key in _IMAGE_KEYS:
                face.pop(key, None)
        if portrait_path is not None:
            face["path"] = str(portrait_path)
    return data


def save_portrait(record: Any, portrait: str | None) -> str | None:
    """Save the portrait when asked for (0600); say so on stderr. The saved path, or None."""
    if not portrait:
        return None
    if record is None or getattr(record, "portrait", None) is None:
        click.echo("cccd-read: " + _("no portrait on the card (DG2 not read)"), err=True)
        return None
    saved = record.portrait.save(portrait)
    click.echo(_("portrait saved to {path}").format(path=visible(saved)), err=True)
    return str(saved)


def emit_record(record: Any, *, as_json: bool, portrait: str | None, console: Console | None = None,
                json_portrait: bool = False, address: bool = False) -> None:
    saved = save_portrait(record, portrait)
    if as_json:
        tighten_stdout()
        data = record_dict(record, portrait_image=json_portrait, portrait_path=saved, address=address)
        click.echo(json_text(data))
    else:
        table = summary_table(record)
        if address:
            from cccd_reader.cli.address import add_address_rows, identity_address_rows

            add_address_rows(table, identity_address_rows(record.identity))
        (console or Console()).print(table)


def check_outputs(*, portrait: str | None = None, trace: str | None = None, redact: bool = False) -> None:
    """Every output path is checked before the card (or the reader) is touched: one line, exit 2."""
    if redact and not trace:
        raise InputError("--redact applies to --trace: give --trace FILE too")
    if portrait:
        from pathlib import Path

        from cccd_reader.model import portrait_format_for

        if portrait_format_for(Path(portrait)) is None:
            raise InputError(f"--portrait {portrait}: end the file name in .jpg, .png or .jp2 "
                             "(the image format follows it)")
        check_output_file(portrait, "--portrait")
    if trace:
        check_output_file(trace, "--trace")


# --- the command ----------------------------------------------------------------------------------------


def key_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed([
        click.option("--qr", "qr", metavar="IMAGE", help="Photo or scan of the card's QR code (gives the CAN "
                     "and MRZ keys, and the chip is checked against it)."),
        click.option("--qr-text", metavar="PAYLOAD", help="The QR payload text (from a scanner); '-' reads "
                     "it from standard input (keeps it out of the process list)."),
        click.option("--can", metavar="DIGITS", help="The CAN: the last 6 digits of the ID number."),
        click.option("--mrz", metavar="TEXT", help="The MRZ from the card's back (lines joined by \\n; the "
                     "first two lines are enough)."),
        click.option("--id", "id_number", metavar="ID", help="The 12-digit ID number (with --dob/--expiry "
                     "for the MRZ key)."),
        click.option("--dob", metavar="DATE", help="Date of birth (YYYY-MM-DD or DD/MM/YYYY)."),
        click.option("--expiry", metavar="DATE", help="Date of expiry, or 'none' for a card without expiry."),
    ]):
        func = opt(func)
    return func


def reader_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed([
        click.option("--reader", metavar="NAME", help="PC/SC reader: name, part of it, or index "
                     "(`cccd-read readers`). Default: the first reader with a card."),
        click.option("--nfc", metavar="PATH", help="Use nfcpy instead of PC/SC: usb, usb:BUS:DEV, "
                     "tty:USB0:pn532, udp:HOST:PORT."),
        click.option("--emulator", metavar="CARD", is_flag=False, flag_value="default", default=None,
                     help="Read a built-in sample card through the in-process virtual chip."),
        click.option("--wait", type=float, default=10.0, show_default=True, metavar="SECONDS",
                     help="How long to wait for a card."),
    ]):
        func = opt(func)
    return func


READ_EXAMPLES = """
Examples:

\b
  cccd-read read --qr card-front.jpg
  scanner-output | cccd-read read --qr-text - --json > card.json
  cccd-read read --can 012345 --portrait face.jpg
  cccd-read read --emulator hung     (a sample card whose QR disagrees with its chip: exit 1)
"""


@click.command("read", epilog=READ_EXAMPLES)
@reader_options
@key_options
@click.option("--json", "as_json", is_flag=True,
              help="Print the record as JSON (without the portrait image).")
@click.option("--json-portrait", is_flag=True,
              help="With --json: put the portrait image in the JSON (base64).")
@click.option("--portrait", metavar="FILE", help="Save the portrait (DG2) to FILE (.jpg, .png or .jp2).")
@click.option("--trace", metavar="FILE", help="Record every APDU (and the random bytes) to FILE for replay.")
@click.option("--redact", is_flag=True, help="With --trace: leave personal data out of the trace "
              "(it can then no longer be replayed byte for byte).")
@click.option("--trust", multiple=True, metavar="PATH", help="CSCA certificates / master lists (file or "
              "directory); repeatable.")
@click.option("--files", "files_", metavar="LIST", help="Only these data groups, e.g. DG1,DG2,DG13.")
@click.option("--access", "access", type=click.Choice(["auto", "pace", "bac"]), default="auto",
              show_default=True, help="Access control: PACE when offered (else BAC), or force one.")
@click.option("--report-only", is_flag=True, help="Exit 0 even if verification fails.")
@click.option("--no-progress", is_flag=True, help="No progress display.")
@click.option("--address", is_flag=True, help="Split the addresses and map them to the 2025 units "
              "(offline; needs cccd-reader[address]).")
@click.option("--bundle", "bundle", metavar="FILE", default=None, help="Write the verification bundle "
              "(raw files and the checks' evidence, docs/bundle.md) to FILE: personal data.")
@click.option("--aa-challenge", "aa_challenge", metavar="HEX", default=None, help="The 8-byte Active "
              "Authentication challenge (16 hex digits), e.g. a nonce from the server that checks the "
              "bundle.")
@handle_errors
def command(reader: str | None, nfc: str | None, emulator: str | None, wait: float, qr: str | None,
            qr_text: str | None, can: str | None, mrz: str | None, id_number: str | None, dob: str | None,
            expiry: str | None, as_json: bool, json_portrait: bool, portrait: str | None, trace: str | None,
            redact: bool, trust: tuple[str, ...], files_: str | None, access: str, report_only: bool,
            no_progress: bool, address: bool, bundle: str | None,
            aa_challenge: str | None) -> None:
    """Read the chip: identity, portrait, and whether the card is genuine."""
    check_outputs(portrait=portrait, trace=trace, redact=redact)
    if bundle:
        check_output_file(bundle, "--bundle")
    if json_portrait and not as_json:
        raise InputError("--json-portrait applies to --json")
    interactive = sys.stdin.isatty()
    key = resolve_key(qr=qr, qr_text=qr_text, can=can, mrz=mrz, id_number=id_number, dob=dob,
                      expiry=expiry, interactive=interactive and emulator is None)\
        if any((qr, qr_text, can, mrz, id_number, dob, expiry)) or emulator is None else None
    trust_store = load_trust(trust)
    challenge = _challenge(aa_challenge)
    files = [f.strip() for f in files_.split(",") if f.strip()] if files_ else None
    with open_transport(reader=reader, nfc=nfc, emulator=emulator, wait=wait) as (transport, sample):
        if sample is not None:
            if key is None:
                key = sample.key
            if trust_store is None:
                trust_store = sample.trust
        record = run_read(transport, key, trust=trust_store, files=files, trace=trace, redact=redact,
                          as_json=as_json, show_progress=not no_progress and not as_json, access=access,
                          sample=sample.name if sample is not None else None, portrait=portrait,
                          json_portrait=json_portrait, aa_challenge=challenge)
    if bundle:
        with open_private(bundle, "wb") as out:
            out.write(record.to_bundle())
        click.echo(f"verification bundle written to {bundle}", err=True)
    emit_record(record, as_json=as_json, portrait=portrait, json_portrait=json_portrait, address=address)
    if verification_failed(record) and not report_only:
        sys.exit(EXIT_VERIFICATION_FAILED)
    sys.exit(EXIT_OK)


def _challenge(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        value = bytes.fromhex(text.strip())
    except ValueError:
        raise click.UsageError("--aa-challenge must be 16 hex digits") from None
    if len(value) != 8:
        raise click.UsageError("--aa-challenge must be 16 hex digits (8 bytes)")
    return value


def run_read(transport: Any, key: Any, *, trust: Any, files: list[str] | None, trace: str | None,
             redact: bool, as_json: bool, show_progress: bool, access: str = "auto",
             sample: str | None = None, portrait: str | None = None, json_portrait: bool = False,
             aa_challenge: bytes | None = None) -> Any:
    """Run the pipeline (recording a trace if asked); a failure prints what was read and exits."""
    from cccd_reader.read import read_card

    recorder = None
    random_bytes = None
    if trace:
        from cccd_reader.read import card_atr
        from cccd_reader.transport.trace import RecordingTransport

        # what a replay needs to ask the same questions: the options, never the key itself
        header: dict[str, Any] = {"read": {"files": files, "access": access, "keys": key_kinds(key)}}
        if aa_challenge is not None:  # not drawn from the random stream: the replay must send it again
            header["read"]["aa_challenge"] = aa_challenge.hex()
        atr = card_atr(transport)
        if atr:  # the replay must see the same ATR to choose the same read sizes
            header["atr"] = atr.hex().upper()
        if sample:
            header["sample"] = sample
        recorder = RecordingTransport(transport, trace, redact=redact, header=header)
        transport = recorder
        random_bytes = recorder.random_source()
    try:
        with progress_display(show_progress and sys.stderr.isatty()) as on_event:
            return read_card(transport, key, trust=trust, files=files, progress=on_event,
                             random_bytes=random_bytes, access=access, aa_challenge=aa_challenge)
    except ReadError as exc:
        report_partial(exc, as_json=as_json, portrait=portrait, json_portrait=json_portrait)
    except KeyboardInterrupt as exc:
        # Ctrl-C: what was read so far (when the pipeline attached it), one line, exit 130
        report_partial(exc, as_json=as_json, portrait=portrait, json_portrait=json_portrait)
    finally:
        if recorder is not None:
            closer = getattr(recorder, "close", None)
            if callable(closer):
                closer()


def report_partial(exc: BaseException, *, as_json: bool, portrait: str | None = None,
                   json_portrait: bool = False) -> NoReturn:
    """Print the partial record (JSON) and one error line; exit with the code of the underlying error.
    A portrait that was read before the failure is still saved when asked for. ``exc`` is a ReadError,
    or a KeyboardInterrupt (Ctrl-C) that may carry the record read so far as ``partial``."""
    cause: BaseException = root_cause(exc)
    partial = getattr(exc, "partial", None)
    saved = None
    if portrait and getattr(partial, "portrait", None) is not None:
        saved = save_portrait(partial, portrait)
    if as_json and partial is not None and hasattr(partial, "to_dict"):
        tighten_stdout()
        data = record_dict(partial, portrait_image=json_portrait, portrait_path=saved)
        click.echo(json_text(data))
    if isinstance(exc, KeyboardInterrupt):
        click.echo("cccd-read: " + _("interrupted"), err=True)
    else:
        click.echo(error_line(exc), err=True)
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.find_root().params.get("debug"):
        import traceback

        traceback.print_exception(cause if isinstance(cause, CCCDError) else exc, file=sys.stderr)
    sys.exit(exit_code_for(cause))
