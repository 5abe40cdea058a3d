"""``cccd-read readers``: the PC/SC readers (with a card present or not) and the nfcpy readers."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cccd_reader.cli import handle_errors, json_text
from cccd_reader.errors import ReaderNotFoundError
from cccd_reader.i18n import _
from cccd_reader.safetext import visible

READERS_EXAMPLES = """
Examples:

\b
  cccd-read readers
  cccd-read readers --no-nfc --json
"""


@click.command("readers", epilog=READERS_EXAMPLES)
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.option("--nfc", "nfc_paths", multiple=True, metavar="PATH",
              help="nfcpy device paths to probe (default: usb). Repeatable.")
@click.option("--no-nfc", is_flag=True, help="Do not probe nfcpy readers.")
@handle_errors
def command(as_json: bool, nfc_paths: tuple[str, ...], no_nfc: bool) -> None:
    """List the readers a card can be read from."""
    rows: list[dict[str, object]] = []
    problems: list[str] = []
    try:
        from cccd_reader.transport.pcsc import list_readers

        rows.extend(r.to_dict() for r in list_readers())
    except ReaderNotFoundError as exc:
        problems.append(f"PC/SC: {exc}")
    if not no_nfc:
        try:
            from cccd_reader.transport.nfc import list_readers as nfc_readers

            rows.extend(nfc_readers(nfc_paths or ("usb",)))
        except ReaderNotFoundError as exc:
            problems.append(f"nfcpy: {exc}")
    if as_json:
        click.echo(json_text({"readers": rows, "problems": problems}))
    elif rows:  # nothing to list: only the error line below (exit 3), not an empty table + the problem twice
        table = Table(title=_("Readers"), title_justify="left")
        for col in ("#", _("Kind"), _("Name"), _("Card")):
            table.add_column(col)
        pcsc_index = 0
        for row in rows:
            if row["kind"] == "pcsc":
                index = str(pcsc_index)
                pcsc_index += 1
                card = (_("present (ATR {atr})").format(atr=visible(row["atr"])) if row.get("card_present")
                        else "-")
            else:
                index = visible(row.get("path", ""))
                card = "?"
            table.add_row(Text(index), Text(visible(row["kind"])), Text(visible(row["name"])), Text(card))
        console = Console()
        console.print(table)
        for p in problems:
            console.print(Text(visible(p), style="yellow"))
    if not rows:
        raise ReaderNotFoundError("no reader found" + (": " + "; ".join(problems) if problems else ""))
