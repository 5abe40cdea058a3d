"""Addresses on the card split into parts and mapped to the administrative units of 2025-07-01.

Optional: the mapping needs the extra ``cccd-reader[address]`` (an offline data package); the split
works without it. Nothing here goes online.
"""

from __future__ import annotations

from cccd_reader.address.parts import AddressParts, AddressStatus, parse_address
from cccd_reader.address.units import NewUnit, data_version

__all__ = ["AddressParts", "AddressStatus", "NewUnit", "data_version", "parse_address"]
