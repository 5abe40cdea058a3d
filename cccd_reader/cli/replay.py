"""``cccd-read replay TRACE``: run the read again against a recorded trace, without a card.

The trace holds every APDU and every random value the terminal drew, so the same read sends the same
commands and gets the same answers; the first command that differs stops the replay with a hex diff
(a reader change, or a trace of another read). A difference while the chip is being opened (PACE / BAC)
means the key given is not the one the trace was recorded with, and is reported as such (exit 5). The
access key is not in the trace: give it again (``--can``, ``--qr-text`` ...), except for traces of the
built-in sample cards, which name the sample.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from cccd_reader.cli import EXIT_OK, EXIT_VERIFICATION_FAILED, handle_errors
from cccd_reader.cli.read import (
    check_outputs,
    emit_record,
    key_options,
    load_emulator_sample,
    load_trust,
    report_partial,
    resolve_key,
    verification_failed,
)
from cccd_reader.errors import AccessDenied, InputError, ParseError, ReadError, TraceMismatchError

# the steps in which the key shapes the commands sent: a difference there is a different key
_KEY_STEPS = ("access",)

REPLAY_EXAMPLES = """
Examples:

\b
  cccd-read read --emulator an --trace an.jsonl && cccd-read replay an.jsonl
  cccd-read replay desk.jsonl --can 012345 --json
"""


@click.command("replay", epilog=REPLAY_EXAMPLES)
@click.argument("trace_file", metavar="TRACE", type=click.Path(exists=True, dir_okay=False))
@key_options
@click.option("--trust", multiple=True, metavar="PATH", help="CSCA certificates / master lists.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the record as JSON (without the portrait image).")
@click.option("--json-portrait", is_flag=True,
              help="With --json: put the portrait image in the JSON (base64).")
@click.option("--portrait", metavar="FILE", help="Save the portrait (DG2) to FILE (.jpg, .png or .jp2).")
@click.option("--report-only", is_flag=True, help="Exit 0 even if verification fails.")
@handle_errors
def command(trace_file: str, qr: str | None, qr_text: str | None, can: str | None, mrz: str | None,
            id_number: str | None, dob: str | None, expiry: str | None, trust: tuple[str, ...],
            as_json: bool, json_portrait: bool, portrait: str | None, report_only: bool) -> None:
    """Re-run a read from a recorded trace (no card needed)."""
    from cccd_reader.read import read_card
    from cccd_reader.transport.trace import ReplayTransport

    check_outputs(portrait=portrait)
    if json_portrait and not as_json:
        raise InputError("--json-portrait applies to --json")
    try:
        replay = ReplayTransport(trace_file)
    except ParseError as exc:  # an empty file, not JSON Lines, a redacted trace: the file given is wrong
        raise InputError(f"{trace_file} cannot be replayed: {exc}") from None
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
        challenge = options.get("aa_challenge")
        record = read_card(replay, key, random_bytes=replay.random_bytes, trust=trust_store,
                           files=files, access=access,
                           aa_challenge=bytes.fromhex(challenge) if isinstance(challenge, str) else None)
    except ReadError as exc:
        cause = getattr(exc, "cause", None) or exc.__cause__
        if isinstance(cause, TraceMismatchError) and exc.step in _KEY_STEPS:
            wrong = ReadError("the trace was recorded with another key: give the key (--can, --qr-text, "
                              "--mrz ...) used for the recording", step=exc.step, partial=exc.partial)
            wrong.__cause__ = AccessDenied("the key differs from the recording's")
            report_partial(wrong, as_json=as_json, portrait=portrait, json_portrait=json_portrait)
        report_partial(exc, as_json=as_json, portrait=portrait, json_portrait=json_portrait)
    replay.assert_complete()
    emit_record(record, as_json=as_json, portrait=portrait, json_portrait=json_portrait)
    if verification_failed(record) and not report_only:
        sys.exit(EXIT_VERIFICATION_FAILED)
    sys.exit(EXIT_OK)
