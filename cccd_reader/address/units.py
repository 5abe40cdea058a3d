"""The old (before 2025-07-01) and new administrative units, indexed for lookup by folded name.

The data is the mapping table of the optional package ``vietnam-address-converter`` (extra
``cccd-reader[address]``): the 63 old provinces, their districts and wards, the 34 new provinces and
3,321 new wards, and 10,358 old-ward -> new-ward rows (a split ward has one row per new ward). It is
fully offline: the package ships the table in its source and this module reads only that table, never
the package's own text parser (which ignores unit words and needs commas; see docs/address.md).

Loading parses ~10 MB of JSON (about a second): it happens once, on first use, and is cached.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cccd_reader.address.text import classify, fold, mark_key

DATA_PACKAGE = "vietnam-address-converter"


@dataclass(frozen=True)
class NewUnit:
    """A ward/commune in force since 2025-07-01 and its province, spelled as in the data."""

    ward: str  # with its unit word: "Phường Hoàn Kiếm", "Xã Hoằng Lộc", "Đặc khu Phú Quốc"
    province: str  # "Thành phố Hà Nội", "Tỉnh Thanh Hóa"

    def to_dict(self) -> dict[str, str]:
        return {"ward": self.ward, "province": self.province}


@dataclass(frozen=True)
class OldWard:
    """A ward of the old three-level system and the new units its area went to (empty: not in data)."""

    ward: str
    district: str
    province: str
    unit_type: str | None
    new: tuple[NewUnit, ...] = ()

    @property
    def path(self) -> str:
        return f"{self.ward}, {self.district}, {self.province}"


@dataclass
class _Province:
    name: str  # with its unit word
    districts: dict[str, list[_District]] = field(default_factory=lambda: defaultdict(list))
    wards: dict[str, list[OldWard]] = field(default_factory=lambda: defaultdict(list))  # old, by name
    new_wards: dict[str, list[tuple[str | None, NewUnit]]] = field(default_factory=lambda: defaultdict(list))


@dataclass
class _District:
    name: str
    unit_type: str | None
    wards: dict[str, list[OldWard]] = field(default_factory=lambda: defaultdict(list))


@dataclass(frozen=True)
class Units:
    """Folded province name -> old province record; folded name -> new province record."""

    old: Mapping[str, _Province]
    new: Mapping[str, _Province]
    version: str

    def old_province(self, name: str) -> _Province | None:
        return self.old.get(fold(name))

    def new_province(self, name: str) -> _Province | None:
        return self.new.get(fold(name))


class AddressDataUnavailable(ImportError):
    """The optional data package is not installed (internal; callers see status ``unavailable``)."""


def _bare(name_with_type: str) -> tuple[str | None, str]:
    part = classify(name_with_type)
    return part.unit_type, part.name


@functools.lru_cache(maxsize=1)
def load_units() -> Units:
    """Load and index the package's table once (raises AddressDataUnavailable without the extra)."""
    try:
        from vietnam_address_converter import data as vac_data
    except ImportError as exc:
        raise AddressDataUnavailable(f"install cccd-reader[address] ({DATA_PACKAGE})") from exc
    raw: Mapping[str, Any] = vac_data.DEFAULT_DATA
    return _index(raw)


def _index(raw: Mapping[str, Any]) -> Units:
    new_provinces = {code: p["name_with_type"] for code, p in raw["newProvinces"].items()}
    new_wards = {code: w["name_with_type"] for code, w in raw["newWards"].items()}
    old_provinces = {code: p["name_with_type"] for code, p in raw["oldProvinces"].items()}
    old_districts = raw["oldDistricts"]

    new_by_old: dict[tuple[str, str, str], list[NewUnit]] = defaultdict(list)
    for row in raw["mapping"]["rows"]:
        o, n = row["old"], row["new"]
        unit = NewUnit(new_wards.get(n["ward_code"], n["ward_name"]),
                       new_provinces.get(n["province_code"], n["province_name"]))
        key = (fold(o["province_name"]), fold(o["district_name"]), mark_key(o["ward_name"]))
        if unit not in new_by_old[key]:
            new_by_old[key].append(unit)

    old: dict[str, _Province] = {}
    seen: set[tuple[str, str, str]] = set()

    def add_old(province: str, district: str, ward: str) -> None:
        pkey = fold(_bare(province)[1])
        prov = old.setdefault(pkey, _Province(_proper_province(province)))
        dtype, dname = _bare(district)
        dkey = fold(dname)
        dist = next((d for d in prov.districts[dkey] if d.unit_type == dtype), None)
        if dist is None:
            dist = _District(district, dtype)
            prov.districts[dkey].append(dist)
        key = (fold(province), fold(district), mark_key(ward))
        if key in seen:
            return
        seen.add(key)
        wtype, wname = _bare(ward)
        record = OldWard(ward, district, prov.name, wtype, tuple(new_by_old.get(key, ())))
        dist.wards[fold(wname)].append(record)
        prov.wards[fold(wname)].append(record)

    for row in raw["mapping"]["rows"]:
        o = row["old"]
        add_old(o["province_name"], o["district_name"], o["ward_name"])
    for w in raw["oldWards"].values():  # wards the mapping has no row for: known, but not mapped
        d = old_districts.get(w["parent_code"])
        if d is not None and d["parent_code"] in old_provinces:
            add_old(old_provinces[d["parent_code"]], d["name_with_type"], w["name_with_type"])

    new: dict[str, _Province] = {}
    for w in raw["newWards"].values():
        pname = new_provinces.get(w["parent_code"])
        if pname is None:
            continue
        prov = new.setdefault(fold(_bare(pname)[1]), _Province(pname))
        wtype, wname = _bare(w["name_with_type"])
        prov.new_wards[fold(wname)].append((wtype, NewUnit(w["name_with_type"], pname)))
    meta = raw["mapping"].get("meta", {})
    return Units(old, new, str(meta.get("version", "")))


def _proper_province(name: str) -> str:
    # the old table spells "Thành Phố"; the new one "Thành phố": one spelling in what we return
    return name.replace("Thành Phố", "Thành phố")


def data_version() -> str | None:
    """The data package's version and table version, or ``None`` when it is not installed."""
    try:
        import vietnam_address_converter as vac
    except ImportError:
        return None
    return f"{DATA_PACKAGE} {getattr(vac, '__version__', '?')} (table {load_units().version})"
