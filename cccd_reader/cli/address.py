"""The ``--address`` option of ``cccd-read read`` and ``cccd-read qr``: addresses in the 2025 units.

Only formatting lives here; splitting and mapping are cccd_reader.address.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from cccd_reader.address import AddressParts, AddressStatus
from cccd_reader.i18n import N_, _
from cccd_reader.safetext import visible

_STATUS_TEXT = {
    AddressStatus.MAPPED: N_("mapped to the 2025 units"),
    AddressStatus.CURRENT: N_("already in the 2025 units"),
    AddressStatus.AMBIGUOUS: N_("AMBIGUOUS: check which of these applies"),
    AddressStatus.UNMAPPED: N_("not mapped"),
    AddressStatus.UNAVAILABLE: N_("not mapped: install cccd-reader[address]"),
}


def describe(parts: AddressParts) -> str:
    """Several lines: the parts as split, the outcome, and the 2025 unit(s)."""
    lines = []
    split = [(_("street"), parts.street), (_("ward"), parts.ward), (_("district"), parts.district),
             (_("province"), parts.province)]
    # the parts come from the card: each is shown escaped (control, bidi, invisible characters)
    lines.append("; ".join(f"{k}: {visible(v)}" for k, v in split if v) or _("(could not be split)"))
    status = _(_STATUS_TEXT[parts.status])
    lines.append(status + (f" ({parts.note})" if parts.note else ""))
    if parts.new_text:
        lines.append(f"2025: {visible(parts.new_text)}")
    elif len(parts.candidates) > 1:
        lines.extend("  " + _("candidate: {unit}").format(unit=f"{c.ward}, {c.province}")
                     for c in parts.candidates)
    return "\n".join(lines)


def add_address_rows(table: Table, rows: list[tuple[str, AddressParts | None]]) -> None:
    for label, parts in rows:
        if parts is not None:
            table.add_row(label, Text(describe(parts)))  # describe() escapes what comes from the card


def identity_address_rows(identity: Any) -> list[tuple[str, AddressParts | None]]:
    if identity is None:
        return []
    return [(_("Place of origin (2025)"), identity.place_of_origin_parts),
            (_("Residence (2025)"), identity.place_of_residence_parts)]
