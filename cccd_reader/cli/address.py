"""The ``--address`` option of ``cccd-read read`` and ``cccd-read qr``: addresses in the 2025 units.

Only formatting lives here; splitting and mapping are cccd_reader.address.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from cccd_reader.address import AddressParts, AddressStatus
from cccd_reader.safetext import visible

_STATUS_TEXT = {
    AddressStatus.MAPPED: "mapped to the 2025 units",
    AddressStatus.CURRENT: "already in the 2025 units",
    AddressStatus.AMBIGUOUS: "AMBIGUOUS: check which of these applies",
    AddressStatus.UNMAPPED: "not mapped",
    AddressStatus.UNAVAILABLE: "not mapped: install cccd-reader[address]",
}


def describe(parts: AddressParts) -> str:
    """Several lines: the parts as split, the outcome, and the 2025 unit(s)."""
    lines = []
    split = [("street", parts.street), ("ward", parts.ward), ("district", parts.district),
             ("province", parts.province)]
    lines.append("; ".join(f"{k}: {v}" for k, v in split if v) or "(could not be split)")
    status = _STATUS_TEXT[parts.status]
    lines.append(status + (f" ({parts.note})" if parts.note else ""))
    if parts.new_text:
        lines.append(f"2025: {parts.new_text}")
    elif len(parts.candidates) > 1:
        lines.extend(f"  candidate: {c.ward}, {c.province}" for c in parts.candidates)
    return "\n".join(lines)


def add_address_rows(table: Table, rows: list[tuple[str, AddressParts | None]]) -> None:
    for label, parts in rows:
        if parts is not None:
            table.add_row(label, Text(visible(describe(parts))))  # address text comes from the card


def identity_address_rows(identity: Any) -> list[tuple[str, AddressParts | None]]:
    if identity is None:
        return []
    return [("Place of origin (2025)", identity.place_of_origin_parts),
            ("Residence (2025)", identity.place_of_residence_parts)]
