"""Addresses: the split, the mapping to the 2025 units, the record and CLI fields, never a guess."""

from __future__ import annotations

import json
import socket

import pytest
from address_table import build_table, measure
from click.testing import CliRunner

from cccd_reader.address import AddressParts, AddressStatus, parse_address
from cccd_reader.address import units as units_mod
from cccd_reader.address.text import classify, fold
from cccd_reader.cli import main
from cccd_reader.emulator.samples import sample_names, sample_persona, sample_qr_payload
from cccd_reader.errors import InputError
from cccd_reader.model import Identity
from cccd_reader.qr.payload import parse_qr_payload


def _pairs(p: AddressParts) -> set[tuple[str, str]]:
    return {(c.ward, c.province) for c in p.candidates}


# --- the split ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "level", "unit", "name"), [
    ("Phường Hàng Bạc", "ward", "phuong", "Hàng Bạc"),
    ("P. Hàng Bạc", "ward", "phuong", "Hàng Bạc"),
    ("P.5", "ward", "phuong", "5"),
    ("P5", "ward", "phuong", "5"),
    ("Q.10", "district", "quan", "10"),
    ("H. Đông Anh", "district", "huyen", "Đông Anh"),
    ("TX. Hương Thủy", "district", "thi-xa", "Hương Thủy"),
    ("TT. Con Cuông", "ward", "thi-tran", "Con Cuông"),
    ("TP.HCM", "city", "thanh-pho", "HCM"),
    ("TP Huế", "city", "thanh-pho", "Huế"),
    ("Thanh pho Ha Noi", "city", "thanh-pho", "Ha Noi"),
    ("Tỉnh Thanh Hóa", "province", "tinh", "Thanh Hóa"),
    ("Xa Dong Hoi", "ward", "xa", "Dong Hoi"),
    ("Đặc khu Phú Quốc", "ward", "dac-khu", "Phú Quốc"),
    ("Xa lộ Hà Nội", None, None, "Xa lộ Hà Nội"),  # a road, not the commune "lộ Hà Nội"
    ("Thôn Đông", None, None, "Thôn Đông"),
])
def test_unit_words(text: str, level: str | None, unit: str | None, name: str) -> None:
    part = classify(text)
    assert (part.level, part.unit_type, part.name) == (level, unit, name)


def test_fold_joins_spellings() -> None:
    assert fold("Bà Rịa-Vũng Tàu") == fold("Bà Rịa - Vũng Tàu") == "ba ria vung tau"
    assert fold("Phường 05") == fold("phuong 5")
    assert fold("Hoà Bình") == fold("Hòa Bình")


def test_split_keeps_street_and_original_text() -> None:
    text = "Lầu 3, Căn hộ Cẩm Tú, Số 189/12 Kiệt Ỷ Lan, Phường Phú Hậu, Quận Phú Xuân, Thành phố Huế, " \
           "Tỉnh Thừa Thiên Huế"
    p = parse_address(text)
    assert p.text == text
    assert p.street == "Lầu 3, Căn hộ Cẩm Tú, Số 189/12 Kiệt Ỷ Lan"
    assert (p.ward, p.district, p.province) == ("Phường Phú Hậu", "Quận Phú Xuân", "Thành phố Huế")
    assert p.status is AddressStatus.MAPPED
    assert p.new_text == "Lầu 3, Căn hộ Cẩm Tú, Số 189/12 Kiệt Ỷ Lan, Phường Phú Xuân, Thành phố Huế"


@pytest.mark.parametrize("text", [
    "Phường Hàng Bạc, Quận Hoàn Kiếm, Thành phố Hà Nội",
    "P. Hàng Bạc, Q. Hoàn Kiếm, TP. Hà Nội",
    "phuong hang bac, quan hoan kiem, ha noi",
    "Hàng Bạc, Hoàn Kiếm, Hà Nội",
    "Số 5, P.Hàng Bạc, Q.Hoàn Kiếm, HN",
])
def test_spellings_of_one_old_address(text: str) -> None:
    p = parse_address(text)
    assert p.status is AddressStatus.MAPPED
    assert _pairs(p) == {("Phường Hoàn Kiếm", "Thành phố Hà Nội")}


def test_numbered_wards_and_short_city_names() -> None:
    for text in ("Phường 5, Quận 3, Thành phố Hồ Chí Minh", "P5, Q3, TP.HCM", "Phường 05, Quận 3, TP HCM"):
        p = parse_address(text)
        assert p.status is AddressStatus.MAPPED, text
        assert _pairs(p) == {("Phường Bàn Cờ", "Thành phố Hồ Chí Minh")}


# --- never guess -----------------------------------------------------------------------------------------


def test_split_ward_gives_every_candidate() -> None:
    p = parse_address("Phường Đội Cấn, Quận Ba Đình, Hà Nội")
    assert p.status is AddressStatus.AMBIGUOUS
    assert _pairs(p) == {("Phường Ba Đình", "Thành phố Hà Nội"), ("Phường Ngọc Hà", "Thành phố Hà Nội")}
    assert p.new_text is None


def test_inconsistent_units_are_not_mapped() -> None:
    # a ward of Hà Nội with a district of Hồ Chí Minh and the province Hải Phòng: no answer, no guess
    p = parse_address("Số 147 Trần Hưng Đạo, Phường Hàng Bài, Thành phố Thủ Đức, Hải Phòng")
    assert p.status is AddressStatus.UNMAPPED
    assert p.candidates == () and p.note


def test_ward_moved_to_another_district_is_flagged_not_taken() -> None:
    # Thủy Vân was in Hương Thủy on cards issued before 2025; the data lists it under Thuận Hóa
    p = parse_address("Xã Thủy Vân, Thị xã Hương Thủy, Tỉnh Thừa Thiên Huế")
    assert p.status is AddressStatus.AMBIGUOUS
    assert p.candidates and "another district" in (p.note or "")


def test_current_address_is_recognised() -> None:
    for text in ("Phường Hoàn Kiếm, Thành phố Hà Nội", "Phuong Hoan Kiem, Thanh pho Ha Noi"):
        p = parse_address(text)
        assert p.status is AddressStatus.CURRENT and p.district is None
        assert _pairs(p) == {("Phường Hoàn Kiếm", "Thành phố Hà Nội")}


@pytest.mark.parametrize("text", ["", "   ", ",,,", "Việt Nam", "1234", "Phường X, Quận Y, Tỉnh Z"])
def test_odd_text_is_unmapped_not_an_error(text: str) -> None:
    p = parse_address(text)
    assert p.status is AddressStatus.UNMAPPED and p.candidates == ()


def test_not_text_is_an_input_error() -> None:
    with pytest.raises(InputError):
        parse_address(b"Ha Noi")  # type: ignore[arg-type]


def test_repr_has_no_address() -> None:
    p = parse_address("Số 12 Ngõ 34, Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội")
    assert "Hàng" not in repr(p) and "Ngõ" not in repr(p)


# --- the table of spellings from the package's data -----------------------------------------------------


def test_table_of_spellings() -> None:
    from vietnam_address_converter import data as vac_data

    table = build_table(vac_data.DEFAULT_DATA)
    assert len(table) >= 200
    assert {r.form for r in table} >= {"old-full", "old-abbrev", "old-ascii", "new-full", "new-ascii"}
    for row in table:
        got = parse_address(row.text)
        if not row.expected:  # an old ward the data has no 2025 unit for
            assert got.status is AddressStatus.UNMAPPED, row.text
            continue
        assert got.status is not AddressStatus.UNMAPPED, row.text
        if row.strict:
            assert _pairs(got) == set(row.expected), row.text
            single = AddressStatus.CURRENT if row.form.startswith("new") else AddressStatus.MAPPED
            assert got.status is (single if len(row.expected) == 1 else AddressStatus.AMBIGUOUS), row.text
        else:  # without unit words or diacritics, a name may fit more: never the wrong single answer
            assert set(row.expected) <= _pairs(got), row.text
    counts = measure(table)
    assert counts["wrong"] == 0
    assert counts["exact"] + counts["ambiguous"] + counts["not mapped"] == len(table)


# --- offline, optional -----------------------------------------------------------------------------------


def test_nothing_goes_online(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the address module tried to open a connection")

    units_mod.load_units.cache_clear()
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    try:
        p = parse_address("Phường Đội Cấn, Quận Ba Đình, Hà Nội")
    finally:
        units_mod.load_units.cache_clear()
    assert p.status is AddressStatus.AMBIGUOUS


def test_without_the_extra_the_parts_are_still_split(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> None:
        raise units_mod.AddressDataUnavailable("not installed")

    monkeypatch.setattr("cccd_reader.address.parts.load_units", missing)
    p = parse_address("Số 7, Phường Lạch Tray, Quận Ngô Quyền, Thành phố Hải Phòng")
    assert p.status is AddressStatus.UNAVAILABLE
    assert (p.street, p.ward, p.district, p.province) == (
        "Số 7", "Phường Lạch Tray", "Quận Ngô Quyền", "Thành phố Hải Phòng")
    assert p.candidates == () and "cccd-reader[address]" in (p.note or "")


# --- the sample cards, the record and the commands ------------------------------------------------------


@pytest.mark.parametrize("name", sample_names())
def test_sample_cards(name: str) -> None:
    persona = sample_persona(name)
    ident = Identity(place_of_origin=persona.text(8), place_of_residence=persona.text(9))
    for parts in (ident.place_of_origin_parts, ident.place_of_residence_parts):
        assert parts is not None and parts.text
        assert parts.province and parts.ward
        assert parts.status in (AddressStatus.MAPPED, AddressStatus.AMBIGUOUS)
        assert parts.candidates
        if parts.status is AddressStatus.MAPPED:
            assert parts.new_text and parts.new_text.endswith(parts.candidates[0].province)
    out = ident.to_dict(addresses=True)
    assert out["place_of_residence_parts"]["text"] == persona.text(9)
    assert "place_of_residence_parts" not in ident.to_dict()
    qr = parse_qr_payload(sample_qr_payload(name))
    assert qr.address_parts is not None and qr.address_parts.text == qr.address
    assert qr.to_dict(addresses=True)["address_parts"]["status"] == qr.address_parts.status.value


def test_sample_an_maps_to_hoan_kiem() -> None:
    an = sample_persona("an")
    ident = Identity(place_of_origin=an.text(8), place_of_residence=an.text(9))
    assert ident.place_of_residence_parts is not None and ident.place_of_origin_parts is not None
    assert _pairs(ident.place_of_residence_parts) == {("Phường Hoàn Kiếm", "Thành phố Hà Nội")}
    assert _pairs(ident.place_of_origin_parts) == {("Xã Đông Anh", "Thành phố Hà Nội")}


def test_cli_qr_address() -> None:
    payload = sample_qr_payload("mai")
    result = CliRunner().invoke(main, ["qr", "--text", payload, "--address", "--json"])
    assert result.exit_code == 0, result.output
    parts = json.loads(result.output)["address_parts"]
    assert parts["status"] == "mapped" and parts["candidates"] == [
        {"ward": "Phường Xuân Hòa", "province": "Thành phố Hồ Chí Minh"}]
    table = CliRunner().invoke(main, ["qr", "--text", payload, "--address"])
    assert "Phường Xuân Hòa" in table.output
    plain = CliRunner().invoke(main, ["qr", "--text", payload, "--json"])
    assert "address_parts" not in json.loads(plain.output)


def test_cli_read_address() -> None:
    result = CliRunner().invoke(main, ["read", "--emulator", "an", "--no-progress", "--json", "--address"])
    assert result.exit_code == 0, result.output
    ident = json.loads(result.output)["identity"]
    assert ident["place_of_residence_parts"]["status"] == "mapped"
    assert ident["place_of_origin_parts"]["candidates"] == [
        {"ward": "Xã Đông Anh", "province": "Thành phố Hà Nội"}]
    table = CliRunner().invoke(main, ["read", "--emulator", "an", "--no-progress", "--address"])
    assert "Phường Hoàn Kiếm" in table.output


def test_cli_address_rows_in_vietnamese_keep_their_lines() -> None:
    payload = sample_qr_payload("hung")  # Phường Cầu Đất was split between two new wards
    result = CliRunner().invoke(main, ["--lang", "vi", "qr", "--text", payload, "--address"])
    assert result.exit_code == 0, result.output
    assert "CHƯA XÁC ĐỊNH" in result.output and result.output.count("khả năng:") == 2
    assert "\\x0a" not in result.output
