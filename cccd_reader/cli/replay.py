"""``cccd-read replay TRACE``: run the read again against a recorded trace, without a card.

The trace holds every APDU and every random value the terminal drew, so the same read sends the same
commands and gets the same answers; the first command that differs stops the replay with a hex diff
(a reader change, or a trace of another read). The access key is not in the trace: give it again
(``--can``, ``--qr-text`` ...), except for traces of the built-in sample cards, which name the sample.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from cccd_reader.cli import EXIT_OK, EXIT_VERIFICATION_FAILED, handle_errors
from cccd_reader.cli.read import (
    emit_record,
    key_options,
    load_emulator_sample,
    load_trust,
    report_partial,
    resolve_key,
    verification_failed,
)
from cccd_reader.errors import InputError, ReadError


@click.command("replay")
@click.argument("trace_file", metavar="TRACE", type=click.Path(exists=True, dir_okay=False))
@key_options
@click.option("--trust", multiple=True, metavar="PATH", help="CSCA certificates / master lists.")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
@click.option("--portrait", metavar="FILE", help="Save the portrait (DG2) to FILE.")
@click.option("--report-only", is_flag=True, help="Exit 0 even if verification fails.")
@handle_errors
def command(trace_file: str, qr: str | None, qr_text: str | None, can: str | None, mrz: str | None,
            id_number: str | None, dob: str | None, expiry: str | None, trust: tuple[str, ...],
            as_json: bool, portrait: str | None, report_only: bool) -> None:
    """Re-run a read from a recorded trace (no card needed)."""
    from cccd_reader.read import read_card
    from cccd_reader.transport.trace import ReplayTransport

    replay = ReplayTransport(trace_file)
    header: dict[str, Any] = replay.header
    options: dict[str, Any] = header.get("read") or {}
    trust_store = load_trust(trust)
    if any((qr, qr_text, can, mrz, id_number)):
        key = resolve_key(qr=qr, qr_text=qr_text, can=can, mrz=mrz, id_number=id_number, dob=dob,
                          expiry=expiry, interactive=False)
    elif header.get("sample"):
        sample = load_emulator_sample(str(header["sample"]))
        key = sample.key
        if trust_store is None:
            trust_store = sample.trust
    else:
        raise InputError("the trace does not hold the access key: give it again (--can, --qr-text, --mrz, "
                         "--id/--dob/--expiry)")
    files = options.get("files")
    access = options.get("access") or "auto"
    try:
        record = read_card(replay, key, random_bytes=replay.random_bytes, trust=trust_store,
                           files=files, access=access)
    except ReadError as exc:
        report_partial(exc, as_json=as_json, portrait=portrait)
    replay.assert_complete()
    emit_record(record, as_json=as_json, portrait=portrait)
    if verification_failed(record) and not report_only:
        sys.exit(EXIT_VERIFICATION_FAILED)
    sys.exit(EXIT_OK)
