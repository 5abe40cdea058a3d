"""A table of real-world address spellings built from the address data package, with expected results.

Old-form rows come from old wards drawn (seeded) from the package's old->new mapping; each is written
the ways cards, forms and people write it: in full, abbreviated ("P.", "Q.", "TP."), without diacritics,
in lower case with a street part, and with no unit words at all. New-form rows come from the 2025 wards.
The expected 2025 units are read straight from the package's mapping rows by ward code, not through
the library's index, so an indexing mistake in cccd_reader.address shows up here.

Run as a script to print the shares written in docs/address.md.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from cccd_reader.folding import ascii_fold

ABBREVIATION = {"Phường": "P.", "Xã": "X.", "Thị Trấn": "TT.", "Thị trấn": "TT.", "Quận": "Q.",
                "Huyện": "H.", "Thị Xã": "TX.", "Thị xã": "TX.", "Thành Phố": "TP.", "Thành phố": "TP.",
                "Tỉnh": "T.", "Đặc Khu": "Đặc khu"}
STREETS = ["Số 12 Ngõ 34 Phố Hàng Bạc", "Thôn Đông", "45/6 Đường Trần Quốc Thảo", "Tổ 3, Ấp Tân Lợi",
           "Xóm 2", "Khu phố 5", "Số 189/12 Kiệt Ỷ Lan"]


@dataclass(frozen=True)
class Row:
    text: str
    form: str  # "old-full", "old-abbrev", "old-ascii", "old-street-lower", "old-bare", "new-full", ...
    expected: tuple[tuple[str, str], ...]  # (ward, province) in the 2025 units; several for a split ward
    strict: bool  # the spelling names every unit type: the result must be exactly the expected one


def _abbrev(name: str) -> str:
    for word, short in sorted(ABBREVIATION.items(), key=lambda kv: -len(kv[0])):
        if name.startswith(word + " "):
            return short + " " + name[len(word) + 1:]
    return name


def _bare(name: str) -> str:
    for word in sorted(ABBREVIATION, key=len, reverse=True):
        if name.startswith(word + " "):
            return name[len(word) + 1:]
    return name


def _ascii(text: str) -> str:
    return " ".join(w.capitalize() if w.isalpha() else w for w in ascii_fold(text).lower().split(" "))


def _norm(name: str) -> str:
    return name.replace("Thành Phố", "Thành phố")


def build_table(data: dict[str, Any], *, seed: int = 2025, old_count: int = 100,
                new_count: int = 50) -> list[Row]:
    rng = random.Random(seed)
    rows_by_code: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in data["mapping"]["rows"]:
        rows_by_code[r["old"]["ward_code"]].append(r)
    new_wards = data["newWards"]
    new_prov = data["newProvinces"]

    def expected(code: str) -> tuple[tuple[str, str], ...]:
        out: dict[tuple[str, str], None] = {}
        for r in rows_by_code[code]:
            n = r["new"]
            ward = new_wards[n["ward_code"]]["name_with_type"]
            out[(ward, new_prov[n["province_code"]]["name_with_type"])] = None
        return tuple(out)

    # every old ward the package knows: those of the mapping rows and those of its list of old wards
    # (a few have no mapping row: their expected result is "not mapped")
    names: dict[str, tuple[str, str, str]] = {}
    for code, rs in rows_by_code.items():
        o = rs[0]["old"]
        names[code] = (o["ward_name"], o["district_name"], o["province_name"])
    for code, w in data["oldWards"].items():
        d = data["oldDistricts"].get(w["parent_code"])
        if code not in names and d is not None and d["parent_code"] in data["oldProvinces"]:
            names[code] = (w["name_with_type"], d["name_with_type"],
                           data["oldProvinces"][d["parent_code"]]["name_with_type"])
    chosen = rng.sample(sorted(names), old_count)
    rows: list[Row] = []
    for i, code in enumerate(chosen):
        ward, district, province = names[code]
        province = _norm(province)
        exp = expected(code)
        full = f"{ward}, {district}, {province}"
        street = STREETS[i % len(STREETS)]
        rows.append(Row(full, "old-full", exp, True))
        rows.append(Row(", ".join(_abbrev(p) for p in (ward, district, province)), "old-abbrev", exp, True))
        rows.append(Row(_ascii(full), "old-ascii", exp, False))
        lower = f"{street}, {ward.lower()}, {district.lower()}, {_bare(province)}"
        rows.append(Row(lower, "old-street-lower", exp, True))
        rows.append(Row(", ".join(_bare(p) for p in (ward, district, province)), "old-bare", exp, False))
    for code in rng.sample(sorted(new_wards), new_count):
        w = new_wards[code]
        prov = new_prov[w["parent_code"]]["name_with_type"]
        exp = ((w["name_with_type"], prov),)
        rows.append(Row(f"{w['name_with_type']}, {prov}", "new-full", exp, True))
        rows.append(Row(_ascii(f"{w['name_with_type']}, {prov}"), "new-ascii", exp, False))
    return rows


def measure(rows: list[Row]) -> dict[str, int]:
    """Count outcomes: exact (one candidate, the right one), ambiguous (right one among several), not at
    all (unmapped), wrong (a single wrong answer, or the right one missing: must be 0)."""
    from cccd_reader.address import AddressStatus, parse_address

    counts = {"exact": 0, "ambiguous": 0, "not mapped": 0, "wrong": 0}
    for row in rows:
        got = parse_address(row.text)
        cands = {(c.ward, c.province) for c in got.candidates}
        if got.status in (AddressStatus.UNMAPPED, AddressStatus.UNAVAILABLE):
            counts["not mapped"] += 1
        elif not row.expected or not set(row.expected) <= cands:
            counts["wrong"] += 1
        elif len(cands) == 1:
            counts["exact"] += 1
        else:
            counts["ambiguous"] += 1
    return counts


if __name__ == "__main__":
    from vietnam_address_converter import data as vac_data

    table = build_table(vac_data.DEFAULT_DATA)
    by_form: dict[str, list[Row]] = defaultdict(list)
    for row in table:
        by_form[row.form].append(row)
    total = measure(table)
    shares = ", ".join(f"{k} {v} ({100 * v / len(table):.1f}%)" for k, v in total.items())
    print(f"{len(table)} addresses: {shares}")
    for form, rs in by_form.items():
        c = measure(rs)
        print(f"  {form:18} {len(rs):4}: " + ", ".join(f"{k} {v}" for k, v in c.items()))
