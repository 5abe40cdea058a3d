"""Split an address into its parts and map old units to the units in force since 2025-07-01.

Never guesses: a ward that was split among several new wards, or a name that fits several units, gives
every candidate and the status ``ambiguous``; a part the data does not know gives ``unmapped``. The
original text is always kept.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from cccd_reader.address.text import CITY, DISTRICT, PROVINCE_ALIASES, WARD, Part, fold, mark_key, split_parts
from cccd_reader.address.units import AddressDataUnavailable, NewUnit, OldWard, Units, load_units


class AddressStatus(enum.Enum):
    """How the address relates to the 2025 units."""

    MAPPED = "mapped"  # old units, mapped to exactly one 2025 ward and province
    CURRENT = "current"  # already written in the 2025 units (ward and province exist in the new list)
    AMBIGUOUS = "ambiguous"  # several 2025 units fit: every one is in ``candidates``
    UNMAPPED = "unmapped"  # split, but the units were not found in the data (``note`` says which)
    UNAVAILABLE = "unavailable"  # the data package (extra ``cccd-reader[address]``) is not installed


@dataclass(frozen=True)
class AddressParts:
    """One address split into its parts, with the 2025 units it maps to.

    ``street``, ``ward``, ``district`` and ``province`` are the parts as written on the card (with their
    unit words); ``district`` is ``None`` for an address already in the two-level system.
    ``candidates`` are the 2025 (ward, province) pairs that fit: exactly one when ``status`` is
    ``mapped`` or ``current``, several when ``ambiguous``, none otherwise. ``old_units`` names the old
    wards the address was matched to (several when the name alone fits several).
    """

    text: str
    street: str | None
    ward: str | None
    district: str | None
    province: str | None
    status: AddressStatus
    candidates: tuple[NewUnit, ...] = ()
    old_units: tuple[str, ...] = ()
    note: str | None = None

    @property
    def new_text(self) -> str | None:
        """The address in the 2025 units (street part kept), when exactly one candidate fits."""
        if len(self.candidates) != 1:
            return None
        unit = self.candidates[0]
        return ", ".join(p for p in (self.street, unit.ward, unit.province) if p)

    def __repr__(self) -> str:  # an address is personal data: show the outcome only
        return f"AddressParts(status={self.status.value!r}, candidates={len(self.candidates)})"

    def to_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "street": self.street,
            "ward": self.ward,
            "district": self.district,
            "province": self.province,
            "status": self.status.value,
            "candidates": [c.to_dict() for c in self.candidates],
            "new_text": self.new_text,
            "old_units": list(self.old_units),
            "note": self.note,
        }


@dataclass(frozen=True)
class _Split:
    street: list[Part]
    ward: Part | None
    district: Part | None
    province: Part | None
    province_alt: Part | None = None  # "Thành phố Huế, Tỉnh Thừa Thiên Huế": both name the province


def _structural_split(parts: list[Part]) -> _Split:
    """Split by position and unit words alone (no data): province last, then district, then ward."""
    rest = list(parts)
    province = rest.pop() if rest else None
    province_alt = None
    # a "Thành phố X" right before the province, itself after a district: a city restating the province
    if (province is not None and len(rest) >= 2 and rest[-1].level == CITY
            and rest[-2].level in (DISTRICT, CITY)):
        province_alt, province = province, rest.pop()
    district = None
    if rest and rest[-1].level in (DISTRICT, CITY):
        district = rest.pop()
    ward = None
    if rest and (rest[-1].level == WARD or (rest[-1].level is None and district is not None)):
        ward = rest.pop()
    return _Split(rest, ward, district, province, province_alt)


def _text(part: Part | None) -> str | None:
    return part.text if part is not None else None


def parse_address(text: str) -> AddressParts:
    """Split ``text`` into street / ward / district / province and map it to the 2025 units.

    Works offline only. Without the extra ``cccd-reader[address]`` the parts are still split and the
    status is ``unavailable``. Never raises for odd text: an address that cannot be split is ``unmapped``.
    """
    if not isinstance(text, str):
        from cccd_reader.errors import InputError

        raise InputError("an address must be text")
    parts = split_parts(text)
    try:
        units = load_units()
    except AddressDataUnavailable:
        s = _structural_split(parts)
        return AddressParts(text, _join(s.street), _text(s.ward), _text(s.district), _text(s.province),
                            AddressStatus.UNAVAILABLE, note="install cccd-reader[address] to map the units")
    return _resolve(text, parts, units)


def _join(parts: list[Part]) -> str | None:
    return ", ".join(p.text for p in parts) or None


def _province_key(part: Part) -> str:
    key = fold(part.name)
    return PROVINCE_ALIASES.get(key, key)


def _pick(items: list[OldWard], part: Part) -> list[OldWard]:
    """Among wards of one name, keep those of the written unit type and spelling, when that narrows."""
    if part.unit_type is not None:
        typed = [w for w in items if w.unit_type == part.unit_type]
        items = typed or items
    if len(items) > 1:
        key = mark_key(part.name)
        exact = [w for w in items if mark_key(w.ward.split(" ", 1)[-1]) == key or key in mark_key(w.ward)]
        items = exact or items
    return items


def _resolve(text: str, parts: list[Part], units: Units) -> AddressParts:
    if not parts:
        return AddressParts(text, None, None, None, None, AddressStatus.UNMAPPED, note="empty address")
    s = _structural_split(parts)
    assert s.province is not None
    pkey = _province_key(s.province)
    if s.province_alt is not None and pkey not in units.old and pkey not in units.new:
        pkey = _province_key(s.province_alt)
    old_prov = units.old.get(pkey)
    new_prov = units.new.get(pkey)

    # An untyped part before the province may be a district ("Hoàn Kiếm, Hà Nội"): ask the data.
    district = s.district
    ward = s.ward
    street = list(s.street)
    if district is None and ward is not None and ward.level is None and old_prov is not None \
            and fold(ward.name) in old_prov.districts and street:
        district, ward = ward, street.pop()
    if district is None and ward is None and street and old_prov is not None \
            and fold(street[-1].name) in old_prov.districts and len(street) >= 2:
        district, ward = street.pop(), street.pop()

    def result(status: AddressStatus, cands: tuple[NewUnit, ...] = (), old: tuple[str, ...] = (),
               note: str | None = None) -> AddressParts:
        return AddressParts(text, _join(street), _text(ward), _text(district), _text(s.province), status,
                            cands, old, note)

    if old_prov is None and new_prov is None:
        return result(AddressStatus.UNMAPPED, note="province not found in the data")
    if ward is None:
        return result(AddressStatus.UNMAPPED, note="no ward or commune in the address")
    wkey = fold(ward.name)

    if district is None:
        # the two-level form used since 2025-07-01: ward + province
        if new_prov is not None and wkey in new_prov.new_wards:
            found = new_prov.new_wards[wkey]
            typed = [u for t, u in found if ward.unit_type in (None, t)] or [u for _, u in found]
            cands = tuple(dict.fromkeys(typed))
            status = AddressStatus.CURRENT if len(cands) == 1 else AddressStatus.AMBIGUOUS
            return result(status, cands)
        if old_prov is not None and wkey in old_prov.wards:
            # an old ward written without its district: every old ward of that name in the province
            olds = _pick(old_prov.wards[wkey], ward)
            return _from_old(result, olds, "old ward written without its district")
        return result(AddressStatus.UNMAPPED, note="ward not found in the province")

    if old_prov is None:
        return result(AddressStatus.UNMAPPED, note="a district was given but the province is not an old one")
    dists = old_prov.districts.get(fold(district.name), [])
    if district.unit_type is not None and len(dists) > 1:
        dists = [d for d in dists if d.unit_type == district.unit_type] or dists
    if not dists:
        return result(AddressStatus.UNMAPPED, note="district not found in the province")
    olds = [w for d in dists for w in d.wards.get(wkey, [])]
    if not olds:
        # boundaries moved between the card's issue and the data's date (a ward moved to another district
        # in early 2025): the same name elsewhere in the province is offered, flagged, never taken as sure
        elsewhere = _pick(old_prov.wards.get(wkey, []), ward)
        if elsewhere:
            res = _from_old(result, elsewhere, "the data lists this ward under another district")
            if res.status is AddressStatus.MAPPED:
                return result(AddressStatus.AMBIGUOUS, res.candidates, res.old_units, res.note)
            return res
        return result(AddressStatus.UNMAPPED, note="ward not found in the district")
    return _from_old(result, _pick(olds, ward), None)


_Result = Callable[[AddressStatus, tuple[NewUnit, ...], tuple[str, ...], str | None], AddressParts]


def _from_old(result: _Result, olds: list[OldWard], note: str | None) -> AddressParts:
    cands = tuple(dict.fromkeys(u for w in olds for u in w.new))
    old_paths = tuple(w.path for w in olds)
    if not cands:
        return result(AddressStatus.UNMAPPED, (), old_paths, "the old ward has no 2025 unit in the data")
    if any(not w.new for w in olds):
        note = (note + "; " if note else "") + "a matching old ward has no 2025 unit in the data"
    status = AddressStatus.MAPPED if len(cands) == 1 and len(olds) == 1 else AddressStatus.AMBIGUOUS
    if len(cands) == 1 and len(olds) > 1 and not any(not w.new for w in olds):
        status = AddressStatus.MAPPED  # several old readings, one and the same new unit
    return result(status, cands, old_paths, note)
