"""``cccd-read qr``: decode the text of a card's QR code and show the record.

The payload comes from ``--text PAYLOAD``, or from standard input with ``--text -`` or when no text is
given and standard input is not a terminal (a keyboard-wedge scanner piped in, ``echo ... |``). It can
also come from a picture of the card: an IMAGE file (``-``: image bytes on standard input), camera
``--camera N`` or a folder of frames ``--frames DIR`` (cccd_reader.qr.image). This is
output the user asked for, so personal values are printed here, and only here.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import BinaryIO

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cccd_reader.cli import handle_errors, json_text, tighten_stdout
from cccd_reader.errors import InputError, KeyInputError, QRImageError, QRPayloadError
from cccd_reader.i18n import N_, _, format_date
from cccd_reader.keys import card_expiry
from cccd_reader.qr.payload import MAX_PAYLOAD_CHARS, QRData, parse_qr_payload
from cccd_reader.safetext import visible

# Up to 4 UTF-8 bytes per character, plus slack for a BOM and line ends.
MAX_STDIN_BYTES = 4 * MAX_PAYLOAD_CHARS + 16
MAX_STDIN_IMAGE_BYTES = 64 * 1024 * 1024  # a phone photo is a few MiB
CAMERA_MAX_FRAMES = 900  # about 30 s at 30 frames/s, then give up with "no QR code found"

_VARIANTS = {
    "cccd": N_("CCCD (7 fields)"),
    "can-cuoc": N_("Căn cước (11 fields)"),
    "no-old-id-slot": N_("6 fields, no old-ID slot (non-canonical form)"),
}


def stdin_bytes() -> BinaryIO:
    """Standard input as bytes: the text stream's documented ``buffer`` (also under click's test runner)."""
    return sys.stdin.buffer


def read_payload_text(text: str | None) -> str:
    """The payload from ``--text``, or from standard input for ``-`` / no text on a non-terminal stdin."""
    if text is not None and text != "-":
        return text
    stdin = stdin_bytes()
    if text is None and stdin.isatty():
        raise InputError("no QR payload given: pass --text PAYLOAD, or pipe the payload on standard input")
    data = stdin.read(MAX_STDIN_BYTES + 1)
    if len(data) > MAX_STDIN_BYTES:
        raise QRPayloadError("standard input is longer than any QR code holds", field="payload")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise QRPayloadError("standard input is not UTF-8 text", field="payload") from None


def _expiry_text(record: QRData) -> str:
    try:
        expiry = card_expiry(record.date_of_birth, record.issue_date)
    except KeyInputError:
        return _("unknown")
    return _("no expiry") if expiry is None else \
        _("{date} (inferred from the law)").format(date=format_date(expiry))


def record_table(record: QRData) -> Table:
    """The record as a two-column table; values are plain Text, so no markup in them is interpreted."""
    table = Table(title=_("CCCD QR code"), show_header=False, title_justify="left")
    table.add_column("Field", style="bold", no_wrap=True)
    table.add_column("Value", overflow="fold")

    def row(label: str, value: str) -> None:
        table.add_row(label, Text(visible(value)))

    row(_("Card"), _(_VARIANTS[record.variant]) if record.variant in _VARIANTS else record.variant)
    row(_("ID number"), record.id_number)
    row(_("Old ID number"), record.old_id_number or _("(none)"))
    row(_("Full name"), record.full_name)
    row(_("Date of birth"), format_date(record.date_of_birth))
    row(_("Sex"), {"M": "M (Nam)", "F": "F (Nữ)"}.get(record.sex, record.sex))
    row(_("Address"), record.address)
    row(_("Issue date"), format_date(record.issue_date))
    code, province = record.province_code, record.province
    row(_("Birth registered in"), f"{province} ({code})" if province
        else _("code {code} (not a province)").format(code=code))
    row(_("Card expiry"), _expiry_text(record))
    if record.extra_fields:
        extra = record.extra_fields
        row(_("Extra fields"), " | ".join(extra) if any(extra) else _("{n} (empty)").format(n=len(extra)))
    if record.warnings:
        table.add_row(_("Warnings"), Text("\n".join(visible(w) for w in record.warnings)))
    if record.repairs:
        row(_("Repairs"), ", ".join(record.repairs))
    return table


def emit(record: QRData, *, as_json: bool, address: bool = False) -> None:
    """Print one record, as JSON or as a table (shared with the image input)."""
    if as_json:
        tighten_stdout()
        click.echo(json_text(record.to_dict(addresses=address)))
    else:
        table = record_table(record)
        if address:
            from cccd_reader.cli.address import add_address_rows

            add_address_rows(table, [(_("Address (2025)"), record.address_parts)])
        Console(soft_wrap=False).print(table)


def quiet_opencv() -> None:
    """Keep OpenCV's own log lines ("[ WARN:0@0.01] ... can't open camera by index") off the terminal:
    the command reports a camera that cannot be opened in its one error line. A log level the user set
    in OPENCV_LOG_LEVEL is kept."""
    os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
    cv2 = sys.modules.get("cv2")
    if cv2 is not None and os.environ["OPENCV_LOG_LEVEL"] == "OFF":
        with contextlib.suppress(Exception):  # the logging module differs between OpenCV builds
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


def read_image_record(image: str | None, camera: int | None, frames: str | None, backend: str) -> QRData:
    """The record from an image file, image bytes on stdin (``-``), a camera or a folder of frames."""
    from cccd_reader.qr import image as qrimage

    if camera is not None:  # closing(): release the camera as soon as a card is read
        quiet_opencv()
        with contextlib.closing(qrimage.camera_frames(camera, max_frames=CAMERA_MAX_FRAMES)) as stream:
            return qrimage.decode_qr_stream(stream, backend=backend)
    if frames is not None:
        return qrimage.decode_qr_stream(qrimage.frames_from_dir(frames), backend=backend)
    assert image is not None
    if image == "-":
        data = stdin_bytes().read(MAX_STDIN_IMAGE_BYTES + 1)
        if len(data) > MAX_STDIN_IMAGE_BYTES:
            raise QRImageError("the image on standard input is larger than 64 MiB")
        return qrimage.read_qr_image(data, backend=backend)
    return qrimage.read_qr_image(image, backend=backend)


QR_EXAMPLES = """
Examples:

\b
  cccd-read qr card-front.jpg
  scanner-output | cccd-read qr --json
  cccd-read qr --text '001090012345||Nguyễn Văn An|15031990|Nam|...|01022021'
  cccd-read qr --camera 0
"""


@click.command("qr", epilog=QR_EXAMPLES)
@click.argument("image", required=False, metavar="[IMAGE]")
@click.option("--camera", type=int, metavar="N", default=None,
              help="Read frames from camera N (OpenCV) until a card's QR code is seen.")
@click.option("--frames", type=click.Path(file_okay=False), metavar="DIR", default=None,
              help="Read the image files of DIR in name order until one shows a card's QR code.")
@click.option("--backend", type=click.Choice(["auto", "zxing", "zbar", "opencv"]), default="auto",
              show_default=True, help="QR decoder for images.")
@click.option(
    "--text",
    "text",
    metavar="PAYLOAD",
    default=None,
    help="The QR payload text; '-' reads it from standard input (also the default when stdin is piped).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
@click.option("--address", is_flag=True, help="Split the address and map it to the 2025 units "
              "(offline; needs cccd-reader[address]).")
@handle_errors
def command(image: str | None, camera: int | None, frames: str | None, backend: str, text: str | None,
            as_json: bool, address: bool) -> None:
    """Decode a CCCD / Căn cước QR code and print the record.

    IMAGE is a photo or scan of the card (a file, or '-' for image bytes on standard input). Without
    IMAGE, --camera or --frames, the payload text is taken from --text or standard input.
    """
    sources = [name for name, given in (("IMAGE", image is not None), ("--camera", camera is not None),
                                        ("--frames", frames is not None), ("--text", text is not None))
               if given]
    if len(sources) > 1:
        raise click.UsageError(f"give only one of {', '.join(sources)}")
    if sources and sources[0] != "--text":
        record = read_image_record(image, camera, frames, backend)
    else:
        record = parse_qr_payload(read_payload_text(text))
    emit(record, as_json=as_json, address=address)
