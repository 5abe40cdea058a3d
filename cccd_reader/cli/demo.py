"""``cccd-read demo``: read a built-in sample card end to end, with no card and no reader.

It does what a real read does (the QR text gives the keys, PACE opens the chip, every file is read under
secure messaging, then Chip, Active and Passive Authentication and the QR-vs-chip comparison), against
the in-process virtual chip personalised for one of the synthetic people in ``samples/cards``. The
chip's EF.SOD is signed by the sample PKI, whose CSCA the demo trusts, so a genuine verdict means
every check really ran; the sample card ``hung`` shows what a mismatch between QR and chip looks like.

Everything printed is synthetic. Exit codes are those of ``cccd-read read``: 0 genuine, 1 when a check
fails or the QR code disagrees with the chip. The table output saves the portrait to
./cccd-demo-portrait.jpg unless ``--portrait`` says where; ``--json`` saves it only with ``--portrait``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from cccd_reader.cli import EXIT_OK, EXIT_VERIFICATION_FAILED, handle_errors, json_text, tighten_stdout
from cccd_reader.i18n import _
from cccd_reader.safetext import visible

DEFAULT_PORTRAIT = "cccd-demo-portrait.jpg"
_GENERATION = {"cccd-2021": "CCCD 2021, 7-field QR", "can-cuoc-2024": "Căn cước 2024, 11-field QR"}


def _list_cards(console: Console) -> None:
    from cccd_reader.emulator.samples import DEFAULT_SAMPLE, sample_names, sample_persona

    for name in sample_names():
        persona = sample_persona(name)
        mark = " (default)" if name == DEFAULT_SAMPLE else ""
        kind = _GENERATION.get(persona.generation, "")
        console.print(Text(f"{name}{mark}", style="bold"), Text(f"  {kind}"))
        console.print(Text(f"    {persona.description}"), soft_wrap=True)


def _steps(persona: Any, record: Any) -> list[tuple[str, str]]:
    sec = record.security
    fields = len(persona.qr_fields())
    files = record.to_dict(include_portrait=False)["files_read"]
    generation = _GENERATION.get(persona.generation, persona.generation)
    rows = [
        (_("Card"), _("sample '{label}': {generation} (a synthetic person; virtual chip, no hardware)")
         .format(label=persona.label, generation=generation)),
        (_("QR code"), _("{n} fields read from the printed QR text -> CAN = last 6 digits of the ID "
                         "number, MRZ key = ID digits 4-12 + date of birth + expiry by law")
         .format(n=fields)),
        (_("Access"), _("{protocol} with the {key}").format(protocol=sec.access_protocol or "?",
                                                           key=sec.access_key or "?")
         + (f" ({sec.access_detail})" if sec.access_detail else "")),
        (_("Files"), _("{files} under secure messaging").format(files=", ".join(files))),
    ]
    return rows


def _save_portrait(record: Any, portrait: str | None) -> Path | None:
    if record.portrait is None:
        return None
    target = Path(portrait or DEFAULT_PORTRAIT)
    if target.suffix == "":
        target = target.with_suffix(".jpg")
    try:
        saved = Path(record.portrait.save(target))
    except OSError as exc:
        click.echo(f"cccd-read: warning: the portrait could not be saved to {visible(target)} "
                   f"({exc.strerror})", err=True)
        return None
    return saved


DEMO_EXAMPLES = """
Examples:

\b
  cccd-read demo
  cccd-read demo --card hung          (the QR code disagrees with the chip: exit 1)
  cccd-read demo --json --portrait face.png
"""


@click.command("demo", epilog=DEMO_EXAMPLES)
@click.option("--card", "card_name", default=None, metavar="NAME",
              help="Which sample card to read (see --list); default: an.")
@click.option("--portrait", metavar="FILE",
              help=f"Where to save the portrait (default ./{DEFAULT_PORTRAIT}; .jpg, .png or .jp2).")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON (the portrait is saved only "
              "with --portrait).")
@click.option("--json-portrait", is_flag=True,
              help="With --json: put the portrait image in the JSON (base64).")
@click.option("--list", "list_cards", is_flag=True, help="List the sample cards and exit.")
@handle_errors
def command(card_name: str | None, portrait: str | None, as_json: bool, json_portrait: bool,
            list_cards: bool) -> None:
    """Read a built-in sample card end to end through the virtual chip (no card or reader needed)."""
    from cccd_reader.cli.read import check_outputs, record_dict, summary_table
    from cccd_reader.emulator.samples import DEFAULT_SAMPLE, load_sample, sample_trust_anchor
    from cccd_reader.qr.payload import parse_qr_payload
    from cccd_reader.read import read_card
    from cccd_reader.verify import TrustStore

    console = Console()
    if list_cards:
        _list_cards(console)
        sys.exit(EXIT_OK)
    check_outputs(portrait=portrait)
    if json_portrait and not as_json:
        from cccd_reader.errors import InputError

        raise InputError("--json-portrait applies to --json")
    card = load_sample(card_name or DEFAULT_SAMPLE)
    persona = card.persona
    qr = parse_qr_payload(persona.qr_payload())
    trust = TrustStore.from_paths(sample_trust_anchor())
    record = read_card(card, qr, trust=trust)
    # the JSON output writes no file unless asked; the table output keeps its documented default file
    saved = _save_portrait(record, portrait) if portrait or not as_json else None

    if as_json:
        tighten_stdout()
        data = record_dict(record, portrait_image=json_portrait,
                           portrait_path=str(saved) if saved is not None else None)
        data["demo"] = {"card": persona.label, "generation": persona.generation,
                        "qr_payload": persona.qr_payload(),
                        "trust_anchor": "sample CSCA (TEST ONLY)"}
        click.echo(json_text(data))
    else:
        for label, text in _steps(persona, record):
            console.print(Text(f"{label:<8}", style="bold"), Text(text), soft_wrap=True)
        console.print()
        console.print(summary_table(record))
        if saved is not None:
            console.print(Text(_("Portrait saved to") + " ", style="bold") + Text(visible(saved)))
        verdict = record.security.verdict
        if verdict == "genuine":
            console.print(Text(_("The chip is genuine: its data is signed by the (sample) issuer, its keys "
                                 "prove it is no clone, and it agrees with the QR code."), style="green"))
        elif verdict == "mismatch":
            fields = ", ".join(m.field.replace("_", " ") for m in record.security.qr_mismatches)
            console.print(Text(_("The chip is genuine but the QR code printed on the card says something "
                                 "else: {fields}. Trust the chip, not the QR code.").format(fields=fields),
                               style="red"))
    if record.security.verdict in ("not-genuine", "mismatch"):
        sys.exit(EXIT_VERIFICATION_FAILED)
    sys.exit(EXIT_OK)
